"""The nine last-layer attentions: the attention matrix A of the last block, swapped.

The ViT runs unchanged up to its last block; in the last block, the attention matrix A is
replaced by one of the variants in ``ATTENTIONS``. A variant is one small function
``(q, k, v, scale, prior, y) -> A`` over per-head tensors of shape (B, heads, N, head_dim);
``prior`` is the Gaussian neighbourhood prior W (N x N, zero in the CLS/register rows and
columns); ``y`` is the block's normalised input (B, N, C), which only GEM reads (its
temperature). Adding a variant is adding one function to the table. ``attend`` applies a
variant to any family's per-head q, k, v, so every attention runs on every backbone.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

Attention = Callable[[Tensor, Tensor, Tensor, float, Tensor, Tensor], Tensor]


def _sm(scores: Tensor) -> Tensor:
    return scores.softmax(dim=-1)


def _norm_outer(a: Tensor, b: Tensor) -> Tensor:
    """|a_i| |b_j| per head: (B, h, N, 1) x (B, h, 1, N)."""
    return a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True).transpose(-2, -1)


def vanilla(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor, y: Tensor) -> Tensor:
    return _sm(q @ k.transpose(-2, -1) * s)


def maskclip(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor, y: Tensor) -> Tensor:
    """Each token attends only to itself: out = out_proj(v)."""
    return torch.eye(q.shape[-2], dtype=q.dtype, device=q.device).expand(*q.shape[:-1], -1)


def sclip(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor, y: Tensor) -> Tensor:
    return _sm(q @ q.transpose(-2, -1) * s) + _sm(k @ k.transpose(-2, -1) * s)


def clearclip(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor, y: Tensor) -> Tensor:
    return _sm(q @ q.transpose(-2, -1) * s)


def segearth(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor, y: Tensor) -> Tensor:
    return sclip(q, k, v, s, w, y) + _sm(v @ v.transpose(-2, -1) * s)


def naclip(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor, y: Tensor) -> Tensor:
    return _sm(k @ k.transpose(-2, -1) * s + w)


def gav(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor, y: Tensor) -> Tensor:
    return _sm(q @ k.transpose(-2, -1) * s + w * s * _norm_outer(q, k))


def nonly(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor, y: Tensor) -> Tensor:
    return _sm(w * s * _norm_outer(q, k))


def gem(q: Tensor, k: Tensor, v: Tensor, s: float, w: Tensor, y: Tensor) -> Tensor:
    """GEM's self-self attention (Bousselham et al., CVPR 2024), one iteration, on this block.

    For each of q, k, v: normalise, one clustering step t <- softmax(tau t t^T) t, normalise
    again, A_t = softmax(tau t t^T); A = (A_q + A_k + A_v) / 3. The inverse temperature
    tau = s * mean over tokens of |y_i| (GEM's adaptive temperature, per image).
    """
    tau = s * y.norm(dim=-1).mean(dim=-1)[:, None, None, None]

    def self_self(t: Tensor) -> Tensor:
        t = F.normalize(t, dim=-1)
        t = F.normalize(_sm(t @ t.transpose(-2, -1) * tau) @ t, dim=-1)
        return _sm(t @ t.transpose(-2, -1) * tau)

    return (self_self(q) + self_self(k) + self_self(v)) / 3


ATTENTIONS: dict[str, Attention] = {
    "vanilla": vanilla,
    "MaskCLIP": maskclip,
    "SCLIP": sclip,
    "ClearCLIP": clearclip,
    "SegEarth": segearth,
    "NACLIP": naclip,
    "GAV": gav,
    "NOnly": nonly,
    "GEM": gem,
}


_PRIORS: dict[tuple, Tensor] = {}


def gaussian_prior(
    grid_h: int,
    grid_w: int,
    device: torch.device,
    dtype: torch.dtype,
    sigma: float = 1.0,
    prefix: int = 1,
) -> Tensor:
    """W over the patch grid (row-major), after ``prefix`` tokens (CLS, registers) whose rows
    and columns are zero: built once per grid/prefix/device/dtype."""
    key = (grid_h, grid_w, str(device), dtype, sigma, prefix)
    if key not in _PRIORS:
        rows = torch.arange(grid_h, dtype=torch.float64).repeat_interleave(grid_w)
        cols = torch.arange(grid_w, dtype=torch.float64).repeat(grid_h)
        d2 = (rows[:, None] - rows[None, :]) ** 2 + (cols[:, None] - cols[None, :]) ** 2
        n = grid_h * grid_w + prefix
        prior = torch.zeros(n, n, dtype=torch.float64)
        prior[prefix:, prefix:] = torch.exp(-d2 / (2 * sigma**2))
        _PRIORS[key] = prior.to(device=device, dtype=dtype)
    return _PRIORS[key]


def attend(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    attention: Attention,
    tokens: Tensor,
    grid: tuple[int, int],
    prefix: int = 1,
) -> Tensor:
    """A v with the heads merged back, (B, N, heads * head_dim), for per-head q, k, v of
    shape (B, heads, N, head_dim); ``tokens`` is the block's normalised input (B, N, C) and
    ``prefix`` the number of CLS/register tokens before the ``grid`` of patches."""
    bsz, heads, n, head_dim = v.shape
    prior = gaussian_prior(*grid, device=v.device, dtype=v.dtype, prefix=prefix)
    attn = attention(q, k, v, head_dim**-0.5, prior, tokens)
    return (attn @ v).transpose(1, 2).reshape(bsz, n, heads * head_dim)
