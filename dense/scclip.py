"""SC-CLIP (Bai et al., arXiv 2411.15869): anomaly-token repair, self-adjustment from
mid-layer similarities and multi-level fusion, batched over windows.

Per window: the blocks 0 .. L-2 run unchanged and their residual streams h_i are kept where
needed; the patch tokens of h_{L-2} whose local outlier factor is above the window's 95 %
quantile are replaced by the mean of their non-outlier grid neighbours; the last block's
weights then give an attention mixing a mid-layer similarity prior with its own k-k scores;
the result is smoothed by similarities of earlier layers and fused with a sum of mid-layer
streams. Every statistic (LOF, quantile, similarity mean) is per window, so a batch gives
exactly what each window gives alone. The method has no CLS output.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from foundation.errors import ConfigError

from .tower import DenseFeatures, Tower

# Published constants (not configurable in the published code either).
LOF_K = 30  # neighbours of the local outlier factor
LOF_QUANTILE = 0.95  # tokens above this quantile of the window's LOF are anomalies
BETA = 0.4  # similarities below it are zeroed before aggregation
PRIOR_FACTOR = 3.0  # G = 3 (M - mean(M))
AGG_EPS = 1e-6  # agg(C, X) = C / (rowsum(C) + eps) X

# Published settings per depth: pre_adjust_idx, post_adjust_idx, multi_start, multi_end
# (fusion over h_i, i in [start, end)), res_cls. ViT-B/16 (12 layers), ViT-L/14 (24 layers).
PUBLISHED: dict[int, tuple[int, int, int, int, float]] = {
    12: (8, 3, 3, 10, 0.3),
    24: (16, 6, 8, 19, 0.1),
}
OPTIONS = ("pre_adjust_idx", "post_adjust_idx", "multi_start", "multi_end", "res_cls")


@dataclass(frozen=True)
class SCCLIPSettings:
    """The effective hyper-parameters and where they come from (recorded with a run)."""

    pre_adjust_idx: int
    post_adjust_idx: int
    multi_start: int
    multi_end: int
    res_cls: float
    source: str


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def depth_settings(depth: int) -> tuple[tuple[int, int, int, int, float], str]:
    """The published settings of ``depth``, or those of the nearest published depth (ties to
    the deeper) with every layer index scaled by depth / published depth, rounded half up;
    ``res_cls`` is the reference's. The rule reproduces both published rows exactly."""
    if depth in PUBLISHED:
        return PUBLISHED[depth], f"published settings for {depth} layers"
    ref = min(PUBLISHED, key=lambda d: (abs(d - depth), -d))
    *indices, res_cls = PUBLISHED[ref]
    scaled = tuple(_round_half_up(i * depth / ref) for i in indices)
    return (*scaled, res_cls), f"the {ref}-layer settings scaled to {depth} layers"


def resolve_settings(depth: int, **given: float | int | None) -> SCCLIPSettings:
    """Options given explicitly (not None) override the depth rule; all are checked against
    the hidden states that exist (h_0 .. h_{depth-2})."""
    defaults, source = depth_settings(depth)
    values = dict(zip(OPTIONS, defaults, strict=True))
    explicit = [name for name in OPTIONS if given.get(name) is not None]
    values.update({name: given[name] for name in explicit})
    if explicit:
        source += f"; set explicitly: {', '.join(explicit)}"
    last = depth - 2  # the last hidden state the method reads
    where = f"{depth}-layer tower, {source}"
    for name in ("pre_adjust_idx", "post_adjust_idx"):
        if not 0 <= int(values[name]) <= last:
            raise ConfigError(
                f"SC-CLIP {name}={values[name]} is not in [0, {last}] ({where}): set "
                f"--cfg-options model.method_options.{name}=N"
            )
    start, end = int(values["multi_start"]), int(values["multi_end"])
    if not 0 <= start < end <= last + 1:
        raise ConfigError(
            f"SC-CLIP multi_start={start}, multi_end={end} need 0 <= start < end <= {last + 1} "
            f"({where}): set --cfg-options model.method_options.multi_start=N "
            "model.method_options.multi_end=M"
        )
    ints = {name: int(values[name]) for name in OPTIONS[:4]}
    return SCCLIPSettings(**ints, res_cls=float(values["res_cls"]), source=source)


# --------------------------------------------------------------------------- building blocks
def lof_outliers(tokens: Tensor, k: int = LOF_K, quantile: float = LOF_QUANTILE) -> Tensor:
    """(B, N) bool: per window, tokens whose LOF exceeds the window's ``quantile`` of LOF.

    LOF as published: squared Euclidean distances, the k nearest other tokens, kd_i the
    distance to the k-th of them, LOF_i = mean over those neighbours j of kd_i / kd_j.
    """
    x = tokens.float() if tokens.dtype in (torch.float16, torch.bfloat16) else tokens
    sq = (x * x).sum(-1)
    dist = (sq[:, :, None] + sq[:, None, :] - 2 * x @ x.transpose(1, 2)).clamp_min(0)
    dist.diagonal(dim1=1, dim2=2).fill_(float("inf"))  # a token is not its own neighbour
    near, idx = dist.topk(k, dim=-1, largest=False)  # ascending
    kd = near[..., -1]  # (B, N)
    kd_neighbours = kd.gather(1, idx.flatten(1)).view_as(idx)
    lof = (kd[:, :, None] / kd_neighbours).mean(-1)
    return lof > torch.quantile(lof, quantile, dim=1, keepdim=True)


@lru_cache(maxsize=16)
def _grid_neighbours(grid_h: int, grid_w: int) -> Tensor:
    """(N, N) float: 1 where token j is one of the 8 grid neighbours of token i (row-major,
    true rows and columns for any grid shape)."""
    rows = torch.arange(grid_h).repeat_interleave(grid_w)
    cols = torch.arange(grid_w).repeat(grid_h)
    dr = (rows[:, None] - rows[None, :]).abs()
    dc = (cols[:, None] - cols[None, :]).abs()
    return ((dr <= 1) & (dc <= 1) & ((dr + dc) > 0)).double()


def repair(tokens: Tensor, outliers: Tensor, grid: tuple[int, int]) -> Tensor:
    """Each outlier patch token (B, N, C) becomes the mean of its in-grid, non-outlier 8
    neighbours; an outlier with no such neighbour is kept."""
    near = _grid_neighbours(*grid).to(device=tokens.device, dtype=tokens.dtype)
    weights = near * (~outliers).to(tokens.dtype)[:, None, :]  # (B, N, N)
    count = weights.sum(-1, keepdim=True)
    mean = (weights @ tokens) / count.clamp_min(1)
    return torch.where(outliers[..., None] & (count > 0), mean, tokens)


def cosine(tokens: Tensor) -> Tensor:
    """(B, N, N) cosine similarities of the tokens."""
    unit = F.normalize(tokens, dim=-1)
    return unit @ unit.transpose(1, 2)


def threshold(sim: Tensor, beta: float = BETA) -> Tensor:
    """Similarities below ``beta`` set to 0."""
    return sim.masked_fill(sim < beta, 0)


def aggregate(weights: Tensor, x: Tensor) -> Tensor:
    """(C / (rowsum(C) + eps)) X."""
    return (weights / (weights.sum(-1, keepdim=True) + AGG_EPS)) @ x


def similarity_prior(sim: Tensor) -> Tensor:
    """G = 3 (M - mean(M)) with the mean over all N^2 entries of each window, negative
    entries -inf; (B, 1, N, N), shared by every head."""
    g = PRIOR_FACTOR * (sim - sim.mean(dim=(1, 2), keepdim=True))
    return g.masked_fill(g < 0, float("-inf"))[:, None]


def last_block_attention(tower: Tower, z: Tensor, prior: Tensor) -> Tensor:
    """The last block's attention on patch tokens only (no CLS, no residual, no MLP):
    A = (softmax(G) + softmax(s k k^T)) / 2 per head, out = out_proj(A v)."""
    last = tower.depth - 1
    _, _, k, v = tower.qkv(last, z, 0)
    bsz, heads, n, head_dim = v.shape
    scores = (k @ k.transpose(-2, -1)) * head_dim**-0.5
    attn = 0.5 * (prior.softmax(dim=-1) + scores.softmax(dim=-1))
    return tower.attn_out(last, (attn @ v).transpose(1, 2).reshape(bsz, n, heads * head_dim))


# --------------------------------------------------------------------------- the method
class SCCLIP:
    """SC-CLIP's dense features on any ``Tower``.

    Options (None: the published setting for the tower's depth, see ``depth_settings``):
    ``pre_adjust_idx`` (hidden state whose repaired similarities smooth and form the prior),
    ``post_adjust_idx`` (hidden state whose similarities smooth the output), ``multi_start`` /
    ``multi_end`` (hidden states summed for the fusion, end excluded), ``res_cls`` (weight of
    the CLS vector added to every patch). ``settings`` holds the effective values.
    """

    needs_queries = False

    def __init__(
        self,
        tower: Tower,
        ignore_residual: bool = True,
        pre_adjust_idx: int | None = None,
        post_adjust_idx: int | None = None,
        multi_start: int | None = None,
        multi_end: int | None = None,
        res_cls: float | None = None,
    ) -> None:
        if not ignore_residual:
            raise ConfigError(
                "model_type SC-CLIP: its last block has no residual branch by definition; "
                "set ignore_residual=True"
            )
        rows, cols = (side // tower.patch_size for side in tower.image_size)
        tokens = rows * cols
        if tokens <= LOF_K:
            raise ConfigError(
                f"model_type SC-CLIP: its anomaly detection needs more than {LOF_K} patches "
                f"per window; this tower gives {tokens}: choose another model_type"
            )
        self.tower = tower
        self.settings = resolve_settings(
            tower.depth,
            pre_adjust_idx=pre_adjust_idx,
            post_adjust_idx=post_adjust_idx,
            multi_start=multi_start,
            multi_end=multi_end,
            res_cls=res_cls,
        )

    def hidden_states(self, images: Tensor) -> tuple[dict[int, Tensor], Tensor]:
        """The kept residual streams {i: h_i} (pre, post, L-2) and the fusion sum r."""
        tower, cfg = self.tower, self.settings
        keep = {cfg.pre_adjust_idx, cfg.post_adjust_idx, tower.depth - 2}
        x = tower.embed(images)
        kept, fused = {}, None
        for index in range(tower.depth - 1):
            x = tower.block(index, x)
            if index in keep:
                kept[index] = x
            if cfg.multi_start <= index < cfg.multi_end:
                fused = x if fused is None else fused + x
        return kept, fused

    def facts(self) -> dict:
        """The effective layer indices and where they come from (recorded with a run)."""
        return asdict(self.settings)

    def __call__(self, images: Tensor, queries: Tensor | None = None) -> DenseFeatures:
        tower, cfg = self.tower, self.settings
        grid = tower.grid(images)
        if grid[0] * grid[1] <= LOF_K:
            raise ConfigError(
                f"model_type SC-CLIP: a {grid[0]}x{grid[1]} patch grid has too few patches for "
                f"its anomaly detection (more than {LOF_K} needed)"
            )
        p = tower.prefix
        kept, fused = self.hidden_states(images)
        penultimate = kept[tower.depth - 2]
        outliers = lof_outliers(penultimate[:, p:])
        x = repair(penultimate[:, p:], outliers, grid)  # (1)-(2)
        cls_pen = penultimate[:, :1]
        sim = cosine(repair(kept[cfg.pre_adjust_idx][:, p:], outliers, grid))  # (3)
        x = aggregate(threshold(sim), x)
        prior = similarity_prior(sim)
        x = last_block_attention(tower, x, prior) + cfg.res_cls * cls_pen  # (4)-(5)
        post = threshold(cosine(kept[cfg.post_adjust_idx][:, p:]))  # (6)
        x = aggregate(post, x)
        multi = last_block_attention(tower, fused[:, p:], prior) + cfg.res_cls * fused[:, :1]
        x = x + aggregate(post, multi)  # (7)
        return DenseFeatures(tower.head(x), None, grid)  # (8)
