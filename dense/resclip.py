"""ResCLIP (Yang et al., CVPR 2025): NACLIP's last block plus two training-free terms.

- RCS (residual cross-correlation self-attention): the per-head attention maps
  softmax(s q k^T) of intermediate blocks (published: 0-based 5, 6, 7, 8, whatever the depth)
  are averaged into R and mixed into the last block's attention after its softmax.
- SFR (semantic feedback refinement): a first pass of the last block (RCS, no SFR) gives a
  patch label map from the text queries (PAMR-refined, thresholded, per-patch mode); same-label
  pairs that are connected inside their segment form an affinity matrix that is mixed into the
  last block's logits before the softmax in the second pass.

Per window (the published code runs one window at a time); everything here is batched over
windows except the grid geometry, which is shared.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from foundation.errors import ConfigError
from foundation.methods import METHODS

from .attentions import gaussian_prior
from .pamr import pamr
from .tower import DenseFeatures, Tower

_D = METHODS["ResCLIP"].options  # the published defaults (one table, foundation/methods.py)
PUBLISHED_LAYERS = _D["layers"]

# The published per-dataset settings (all natural images; none for remote sensing):
# dataset -> (temp_thd, (rcs tau, rcs lambda), (sfr tau, sfr lambda)). Our defaults: Cityscapes.
PUBLISHED_SETTINGS: dict[str, tuple[float, tuple[float, float], tuple[float, float]]] = {
    "VOC21": (0.50, (2.0, 0.3), (2.2, 0.7)),
    "VOC20": (0.10, (2.0, 0.6), (2.1, 0.6)),
    "Context60": (0.30, (2.0, 0.3), (1.8, 0.7)),
    "Context59": (0.25, (2.0, 0.4), (1.8, 0.7)),
    "COCO-Object": (0.11, (2.0, 0.4), (1.8, 0.7)),
    "COCO-Stuff": (0.11, (2.0, 0.4), (1.8, 0.7)),
    "Cityscapes": (0.10, (2.0, 0.2), (2.1, 0.6)),
    "ADE20k": (0.25, (2.0, 0.3), (2.1, 0.7)),
}


def check_layers(depth: int, layers: tuple[int, ...]) -> None:
    """RCS reads blocks before the last one: one line naming what to change otherwise."""
    bad = [i for i in layers if not 0 <= i < depth - 1]
    if bad or not layers or len(set(layers)) != len(layers):
        raise ConfigError(
            f"ResCLIP: RCS averages the attention of blocks {tuple(layers)} (0-based, "
            f"published for 12/24-block ViTs; needs at least {max(layers, default=0) + 2} "
            f"blocks) but this tower has {depth}: pass --cfg-options "
            f"model.method_options.layers=[...] with distinct indices 0..{depth - 2}, or "
            "model.method_options.use_rcs=False"
        )


def merge_heads(t: Tensor) -> Tensor:
    """(B, h, N, d) -> (B, N, h * d)."""
    bsz, heads, n, dim = t.shape
    return t.transpose(1, 2).reshape(bsz, n, heads * dim)


def attention_map(q: Tensor, k: Tensor) -> Tensor:
    """softmax(s q k^T) per head, s = head_dim^-1/2, prefix tokens included."""
    return (q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5).softmax(-1)


# ---------------------------------------------------------------------------- the label map
def block_mode(labels: Tensor, patch: int, classes: int) -> Tensor:
    """(B, H, W) pixel labels -> (B, H // patch, W // patch): the most frequent label of each
    patch x patch block, ties to the smallest label (as torch.mode on CPU)."""
    bsz, height, width = labels.shape
    gh, gw = height // patch, width // patch
    labels = labels[:, : gh * patch, : gw * patch]
    rows = torch.arange(gh * patch, device=labels.device) // patch
    cols = torch.arange(gw * patch, device=labels.device) // patch
    windows = torch.arange(bsz, device=labels.device)[:, None, None] * (gh * gw)
    cell = rows[:, None] * gw + cols[None, :] + windows  # (B, H, W) -> its patch, all windows
    counts = torch.bincount((cell * classes + labels).flatten(), minlength=bsz * gh * gw * classes)
    return counts.view(bsz, gh, gw, classes).argmax(-1)  # first maximum = smallest label


def label_map(logits: Tensor, patch: int, logit_scale: float, temp_thd: float) -> Tensor:
    """(B, Q, H, W) pixel logits -> (B, gh, gw) patch labels: argmax of softmax(scale *
    logits) over the queries (no synonym merging), query 0 where its maximum < temp_thd,
    then the per-patch mode."""
    top, labels = (logit_scale * logits).softmax(1).max(1)
    labels = torch.where(top < temp_thd, torch.zeros_like(labels), labels)
    return block_mode(labels, patch, logits.shape[1])


# ---------------------------------------------------------------------------- the SFR matrix
_PATHS: dict[tuple, tuple[Tensor, int, Tensor]] = {}


def path_samples(gh: int, gw: int, device: torch.device) -> tuple[Tensor, int, Tensor]:
    """The grid's path geometry, built once: Chebyshev distances d (n, n), their maximum D
    over all pairs, and the flat index of sample k of pair (i, j), round((1 - t) c_i +
    t c_j) with t = k / D (half to even), as (D + 1, n, n)."""
    key = (gh, gw, str(device))
    if key not in _PATHS:
        rows = torch.arange(gh, device=device).repeat_interleave(gw)
        cols = torch.arange(gw, device=device).repeat(gh)
        dist = torch.maximum(
            (rows[:, None] - rows[None, :]).abs(), (cols[:, None] - cols[None, :]).abs()
        )
        top = int(dist.max())
        t = torch.arange(top + 1, device=device, dtype=torch.float32)[:, None, None] / max(top, 1)

        def along(c: Tensor) -> Tensor:
            return ((1 - t) * c[:, None].float() + t * c[None, :].float()).round().long()

        _PATHS[key] = (dist, top, along(rows) * gw + along(cols))
    return _PATHS[key]


def path_valid(labels: Tensor) -> Tensor:
    """(B, gh, gw) labels -> (B, n, n) bool: every counted sample of the path i -> j carries
    label_i. Sample k counts when k <= d_ij: as published, t = k / D (not k / d_ij), so only
    the first d_ij / D of each segment is checked."""
    bsz, gh, gw = labels.shape
    dist, top, index = path_samples(gh, gw, labels.device)
    flat = labels.reshape(bsz, -1)
    n = flat.shape[1]
    own = flat[:, :, None]
    valid = torch.ones(bsz, n, n, dtype=torch.bool, device=labels.device)
    for k in range(1, top + 1):  # sample 0 is c_i itself
        seen = flat[:, index[k].flatten()].view(bsz, n, n)
        valid &= (seen == own) | (dist < k)
    return valid


def smoothing_kernel(n: int, sigma: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """1-D Gaussian of size min(n, int(6 sigma + 1)) made odd, normalised to sum 1."""
    size = min(n, int(6 * sigma + 1))
    size += 1 - size % 2
    x = torch.arange(size, dtype=dtype, device=device) - size // 2
    weights = torch.exp(-(x**2) / (2 * sigma**2))
    return weights / weights.sum()


def sfr_matrix(
    labels: Tensor, prefix: int, sigma: float, path_check: bool, dtype: torch.dtype
) -> Tensor:
    """(B, gh, gw) labels -> S~ (B, prefix + n, prefix + n): same-label pairs 1 (invalid paths
    times exp(-d / D)), smoothed along each row's flattened index, ReLU, rows normalised,
    prefix rows/columns 0, divided by the window's maximum and rounded to float16."""
    bsz, gh, gw = labels.shape
    flat = labels.reshape(bsz, -1)
    n = flat.shape[1]
    sim = (flat[:, :, None] == flat[:, None, :]).to(dtype)
    if path_check and n > 1:
        dist, top, _ = path_samples(gh, gw, labels.device)
        decay = torch.exp(-dist.to(dtype) / top)
        sim = sim * torch.where(path_valid(labels), torch.ones_like(decay), decay)
    kernel = smoothing_kernel(n, sigma, dtype, labels.device)
    sim = F.conv1d(sim.reshape(bsz * n, 1, n), kernel.view(1, 1, -1), padding=kernel.numel() // 2)
    sim = sim.view(bsz, n, n).relu()
    sim = sim / (sim.sum(-1, keepdim=True) + 1e-8)
    full = sim.new_zeros(bsz, prefix + n, prefix + n)
    full[:, prefix:, prefix:] = sim
    full = full / full.amax(dim=(1, 2), keepdim=True)
    return full.half().to(dtype)  # the published cast (part of its numbers)


# ---------------------------------------------------------------------------- the method
class ResCLIP:
    """Dense features of ResCLIP on a NACLIP base (Gaussian sigma 5), ``wo_resi`` by default.

    The published per-dataset settings are in ``PUBLISHED_SETTINGS``; the defaults are its
    Cityscapes row. ``logit_scale`` only shapes the feedback label map (the lead passes the
    protocol's). Without SFR the features do not depend on the queries.
    """

    needs_queries = True

    def __init__(
        self,
        tower: Tower,
        ignore_residual: bool = True,
        use_rcs: bool = _D["use_rcs"],
        use_sfr: bool = _D["use_sfr"],
        layers: tuple[int, ...] = _D["layers"],
        rcs_tau: float = _D["rcs_tau"],
        rcs_lambda: float = _D["rcs_lambda"],
        sfr_tau: float = _D["sfr_tau"],
        sfr_lambda: float = _D["sfr_lambda"],
        temp_thd: float = _D["temp_thd"],
        sigma: float = _D["sigma"],
        logit_scale: float = 50.0,
        pamr_steps: int = _D["pamr_steps"],
        pamr_dilations: tuple[int, ...] = _D["pamr_dilations"],
        delete_same_entity: bool = _D["delete_same_entity"],
    ) -> None:
        self.layers = tuple(int(i) for i in layers)
        if use_rcs:
            check_layers(tower.depth, self.layers)
        self.tower = tower
        self.ignore_residual = ignore_residual
        self.use_rcs, self.use_sfr = bool(use_rcs), bool(use_sfr)
        self.needs_queries = self.use_sfr
        self.rcs_tau, self.rcs_lambda = float(rcs_tau), float(rcs_lambda)
        self.sfr_tau, self.sfr_lambda = float(sfr_tau), float(sfr_lambda)
        self.temp_thd, self.sigma = float(temp_thd), float(sigma)
        self.logit_scale = float(logit_scale)
        self.pamr_steps, self.pamr_dilations = int(pamr_steps), tuple(pamr_dilations)
        self.delete_same_entity = bool(delete_same_entity)

    def facts(self) -> dict:
        """Nothing to report beyond the configured options (recorded by the config)."""
        return {}

    def __call__(self, images: Tensor, queries: Tensor | None = None) -> DenseFeatures:
        tower = self.tower
        if self.use_sfr and queries is None:
            raise ValueError("ResCLIP with SFR needs the queries (normalised text features)")
        grid = tower.grid(images)
        x, rcs = self.trunk(tower.embed(images))
        last = tower.depth - 1
        _, _, k, v = tower.qkv(last, x, tower.prefix)
        keys = k @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        prior = gaussian_prior(*grid, v.device, v.dtype, sigma=self.sigma, prefix=tower.prefix)
        sfr = None
        if self.use_sfr:
            first = self.last_block(x, v, keys + prior, rcs)
            labels = self.feedback_labels(images, first, queries, grid)
            work = torch.promote_types(v.dtype, torch.float32)  # S in float32 at least
            sfr = sfr_matrix(labels, tower.prefix, self.sigma, self.delete_same_entity, work)
            mixed = (1 - self.sfr_lambda) * keys + self.sfr_lambda * sfr[:, None].to(v.dtype)
            keys = self.sfr_tau * mixed
        tokens = self.last_block(x, v, keys + prior, rcs)
        return DenseFeatures(tokens[:, tower.prefix :], tokens[:, 0], grid)

    def trunk(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Blocks 0..L-2 unchanged, and R: the mean attention map of ``layers`` (RCS on)."""
        tower = self.tower
        total = None
        for index in range(tower.depth - 1):
            if self.use_rcs and index in self.layers:
                _, q, k, _ = tower.qkv(index, x, tower.prefix)
                amap = attention_map(q, k)
                total = amap if total is None else total + amap
            x = tower.block(index, x)
        return x, None if total is None else total / len(self.layers)

    def last_block(self, x: Tensor, v: Tensor, logits: Tensor, rcs: Tensor | None) -> Tensor:
        """The last block with attention softmax(logits), RCS mixed in, then the head."""
        tower = self.tower
        attn = logits.softmax(-1)
        if rcs is not None:
            attn = self.rcs_tau * ((1 - self.rcs_lambda) * attn + self.rcs_lambda * rcs)
        out = tower.attn_out(tower.depth - 1, merge_heads(attn @ v))
        if not self.ignore_residual:
            out = tower.tail(tower.depth - 1, x, out)
        return tower.head(out)

    def feedback_labels(
        self, images: Tensor, tokens: Tensor, queries: Tensor, grid: tuple[int, int]
    ) -> Tensor:
        """SFR's label map (B, gh, gw) from the first pass's projected tokens."""
        feats = F.normalize(tokens[:, self.tower.prefix :], dim=-1)
        logits = feats @ queries.to(feats.dtype).T  # (B, n, Q)
        logits = logits.transpose(1, 2).reshape(logits.shape[0], -1, *grid)
        logits = F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)
        logits = pamr(images, logits, self.pamr_steps, self.pamr_dilations)
        return label_map(logits, self.tower.patch_size, self.logit_scale, self.temp_thd)


def settings(method: ResCLIP) -> dict[str, object]:
    """The effective options (for the run's settings): only those that shape the output."""
    out: dict[str, object] = {"use_rcs": method.use_rcs, "use_sfr": method.use_sfr}
    if method.use_rcs:
        out |= {"layers": list(method.layers), "rcs_tau": method.rcs_tau}
        out |= {"rcs_lambda": method.rcs_lambda}
    if method.use_sfr:
        out |= {"sfr_tau": method.sfr_tau, "sfr_lambda": method.sfr_lambda}
        out |= {"temp_thd": method.temp_thd, "logit_scale": method.logit_scale}
        out |= {"pamr_steps": method.pamr_steps, "pamr_dilations": list(method.pamr_dilations)}
        out |= {"delete_same_entity": method.delete_same_entity}
    return out | {"sigma": method.sigma, "ignore_residual": method.ignore_residual}


__all__ = [
    "PUBLISHED_LAYERS",
    "PUBLISHED_SETTINGS",
    "ResCLIP",
    "label_map",
    "path_valid",
    "settings",
]
