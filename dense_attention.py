"""Dense patch features from a CLIP ViT with a swappable last-layer attention (SPEC §6).

The ViT runs unchanged up to its last block; in the last block, the attention matrix A is
replaced by one of the variants in ``ATTENTIONS``. A variant is one small function
``(q, k, v, scale, prior) -> A`` over per-head tensors of shape (B, heads, N, head_dim);
``prior`` is the Gaussian neighbourhood prior W (N x N, zero in the CLS row/column).
Adding a variant is adding one function to the table.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Attention = Callable[[Tensor, Tensor, Tensor, float, Tensor], Tensor]


def _sm(scores: Tensor) -> Tensor:
    return scores.softmax(dim=-1)


def _norm_outer(a: Tensor, b: Tensor) -> Tensor:
    """|a_i| |b_j| per head: (B, h, N, 1) x (B, h, 1, N)."""
    return a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True).transpose(-2, -1)


def vanilla(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor) -> Tensor:
    return _sm(q @ k.transpose(-2, -1) * s)


def maskclip(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor) -> Tensor:
    """Each token attends only to itself: out = out_proj(v)."""
    return torch.eye(q.shape[-2], dtype=q.dtype, device=q.device).expand(*q.shape[:-1], -1)


def sclip(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor) -> Tensor:
    return _sm(q @ q.transpose(-2, -1) * s) + _sm(k @ k.transpose(-2, -1) * s)


def clearclip(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor) -> Tensor:
    return _sm(q @ q.transpose(-2, -1) * s)


def segearth(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor) -> Tensor:
    return sclip(q, k, v, s, w) + _sm(v @ v.transpose(-2, -1) * s)


def naclip(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor) -> Tensor:
    return _sm(k @ k.transpose(-2, -1) * s + w)


def gav(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor) -> Tensor:
    return _sm(q @ k.transpose(-2, -1) * s + w * s * _norm_outer(q, k))


def nonly(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor) -> Tensor:
    return _sm(w * s * _norm_outer(q, k))


ATTENTIONS: dict[str, Attention] = {
    "vanilla": vanilla,
    "MaskCLIP": maskclip,
    "SCLIP": sclip,
    "ClearCLIP": clearclip,
    "SegEarth": segearth,
    "NACLIP": naclip,
    "GAV": gav,
    "NOnly": nonly,
}


_PRIORS: dict[tuple, Tensor] = {}


def gaussian_prior(
    grid_h: int, grid_w: int, device: torch.device, dtype: torch.dtype, sigma: float = 1.0
) -> Tensor:
    """W over the patch grid (row-major, CLS first): built once per grid/device/dtype."""
    key = (grid_h, grid_w, str(device), dtype, sigma)
    if key not in _PRIORS:
        rows = torch.arange(grid_h, dtype=torch.float64).repeat_interleave(grid_w)
        cols = torch.arange(grid_w, dtype=torch.float64).repeat(grid_h)
        d2 = (rows[:, None] - rows[None, :]) ** 2 + (cols[:, None] - cols[None, :]) ** 2
        n = grid_h * grid_w + 1
        prior = torch.zeros(n, n, dtype=torch.float64)
        prior[1:, 1:] = torch.exp(-d2 / (2 * sigma**2))
        _PRIORS[key] = prior.to(device=device, dtype=dtype)
    return _PRIORS[key]


def last_block(
    block: nn.Module, x: Tensor, attention: Attention, ignore_residual: bool, grid: tuple[int, int]
) -> Tensor:
    """The modified last residual block on batch-first tokens (B, N, C)."""
    mha: nn.MultiheadAttention = block.attn
    heads = mha.num_heads
    bsz, n, c = x.shape
    head_dim = c // heads
    qkv = F.linear(block.ln_1(x), mha.in_proj_weight, mha.in_proj_bias)
    q, k, v = qkv.reshape(bsz, n, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
    prior = gaussian_prior(*grid, device=x.device, dtype=x.dtype)
    attn = attention(q, k, v, head_dim**-0.5, prior)
    out = (attn @ v).transpose(1, 2).reshape(bsz, n, c)
    out = mha.out_proj(out)
    if ignore_residual:
        return out
    x = x + out
    return x + block.mlp(block.ln_2(x))


def dense_features(
    visual: nn.Module, images: Tensor, model_type: str, ignore_residual: bool = True
) -> Tensor:
    """(B, 1 + g*g, D) projected tokens (CLS first), last block replaced; not normalised."""
    if model_type not in ATTENTIONS:
        raise ValueError(f"model_type '{model_type}': choose one of {', '.join(ATTENTIONS)}")
    x = visual._embeds(images)  # conv1 + CLS + positions + ln_pre (open_clip)
    transformer = visual.transformer
    blocks = transformer.resblocks
    batch_first = getattr(transformer, "batch_first", True)
    if not batch_first:
        x = x.transpose(0, 1)
    for block in blocks[:-1]:
        x = block(x)
    if not batch_first:
        x = x.transpose(0, 1)
    patch = patch_size(visual)
    grid = (images.shape[-2] // patch, images.shape[-1] // patch)
    x = last_block(blocks[-1], x, ATTENTIONS[model_type], ignore_residual, grid)
    x = visual.ln_post(x)
    return x @ visual.proj if visual.proj is not None else x


def patch_size(visual: nn.Module) -> int:
    """The ViT's (square) patch side."""
    patch = visual.patch_size
    return patch if isinstance(patch, int) else patch[0]
