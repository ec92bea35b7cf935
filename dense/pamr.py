"""Pixel-adaptive mask refinement (PAMR; Araslanov & Roth, "Single-Stage Semantic
Segmentation from Image Labels", CVPR 2020), as ResCLIP's feedback pass uses it.

Masks are smoothed with affinities taken from the image itself, so label boundaries snap to
colour edges. Per pixel i and each dilation d, the neighbours j are the 8 pixels of the 3x3
grid spaced d apart (borders replicated). Per colour channel c:

    sd_i,c   = sample standard deviation (n - 1) of the 9 * len(dilations) values: the centre
               and its 8 neighbours at each dilation (the centre counted once per dilation);
    k_ij     = mean over c of  -|x_i,c - x_j,c| / (1e-8 + 0.1 * sd_i,c);
    a_ij     = softmax of k_ij over the 8 * len(dilations) neighbours of i (centre excluded);
    m_i     <- sum_j a_ij m_j       (every mask channel, ``steps`` times, borders replicated).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# The 8 neighbours of the 3x3 grid (row, column offsets in units of the dilation).
NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def shifted(x: Tensor, dilation: int) -> list[Tensor]:
    """The 8 neighbours of every pixel of ``x`` (B, C, H, W) at ``dilation``, borders
    replicated: entry n holds x at (row + dy * d, col + dx * d) for NEIGHBOURS[n]."""
    d = dilation
    height, width = x.shape[-2:]
    padded = F.pad(x, [d, d, d, d], mode="replicate")
    return [
        padded[..., d + dy * d : d + dy * d + height, d + dx * d : d + dx * d + width]
        for dy, dx in NEIGHBOURS
    ]


def affinities(image: Tensor, dilations: tuple[int, ...]) -> Tensor:
    """(B, 8 * len(dilations), H, W): each pixel's softmax weights over its neighbours."""
    neighbours = [n for d in dilations for n in shifted(image, d)]
    count = len(neighbours) + len(dilations)  # the centre once per dilation
    mean = (sum(neighbours) + len(dilations) * image) / count
    var = sum((n - mean) ** 2 for n in neighbours) + len(dilations) * (image - mean) ** 2
    scale = 1e-8 + 0.1 * (var / (count - 1)).sqrt()
    logits = torch.stack([(-(n - image).abs() / scale).mean(1) for n in neighbours], 1)
    return logits.softmax(1)


def pamr(
    image: Tensor, masks: Tensor, steps: int = 10, dilations: tuple[int, ...] = (8, 16)
) -> Tensor:
    """``masks`` (B, Q, H, W) refined ``steps`` times on ``image`` (B, C, H, W), same size.

    Computed in at least float32: in float16 the 1e-8 underflows and a flat patch (padding)
    would divide 0 by 0.
    """
    if steps <= 0:
        return masks
    work = torch.promote_types(masks.dtype, torch.float32)
    weights = affinities(image.to(work), tuple(dilations))
    masks = masks.to(work)
    for _ in range(steps):
        moved = [n for d in dilations for n in shifted(masks, d)]  # views of the padded masks
        out = torch.zeros_like(masks)
        for p, m in enumerate(moved):
            out.addcmul_(weights[:, p : p + 1], m)
        masks = out
    return masks
