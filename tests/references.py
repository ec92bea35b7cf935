"""Independent references written straight from SPEC, shared by the tests (one place).

Per-head attention formulas (SPEC §6), the last block, and the one-window-at-a-time
sliding-window loop (SPEC §5) with the label rule (SPEC §7). Deliberately plain loops.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# SPEC §8: class files (lines joined by " / ") and SegEarth-OV post-processing.
CLASSES = {
    "OpenEarthMapDataset": "background / bareland,barren / grass / pavement / road / tree,forest / water,river / cropland / building,roof,house",
    "LoveDADataset": "background / building,roof,house / road / water / barren / forest / agricultural",
    "PotsdamDataset": "road,parking lot / building / low vegetation / tree / car / clutter,background",
    "ISPRSDataset": "impervious surface / building / low vegetation / tree / car / clutter",
    "UDD5Dataset": "vegetation / building / road / vehicle / background",
    "VDDDataset": "background / facade / road / vegetation / vehicle / roof / water",
    "UAVidDataset": "background / building / road / car / tree / vegetation / human",
    "iSAIDDataset": "background / ship / store tank / baseball diamond / tennis court / basketball court / ground track field / bridge / large vehicle / small vehicle / helicopter / swimming pool / roundabout / soccer ball field / plane / harbor",
}
SEGEARTH = {
    "OpenEarthMapDataset": (0.1, 0),
    "LoveDADataset": (0.3, 0),
    "PotsdamDataset": (0.1, 5),
    "ISPRSDataset": (0.1, 5),
    "UDD5Dataset": (0.4, 4),
    "VDDDataset": (0.3, 0),
    "UAVidDataset": (0.3, 0),
    "iSAIDDataset": (0.4, 0),
}

VARIANTS = ["vanilla", "MaskCLIP", "SCLIP", "ClearCLIP", "SegEarth", "NACLIP", "GAV", "NOnly"]


def reference_prior(g: int) -> torch.Tensor:
    n = g * g + 1
    w = torch.zeros(n, n)
    for a in range(g):
        for b in range(g):
            for c in range(g):
                for d in range(g):
                    w[1 + a * g + b, 1 + c * g + d] = math.exp(-((a - c) ** 2 + (b - d) ** 2) / 2.0)
    return w


def reference_attention(name, q, k, v, s, w):
    """A for one head, written straight from the SPEC table."""
    sm = lambda t: torch.softmax(t, dim=-1)  # noqa: E731
    nq = q.norm(dim=-1)[:, None]
    nk = k.norm(dim=-1)[None, :]
    return {
        "vanilla": lambda: sm(q @ k.T * s),
        "MaskCLIP": lambda: torch.eye(q.shape[0]),
        "SCLIP": lambda: sm(q @ q.T * s) + sm(k @ k.T * s),
        "ClearCLIP": lambda: sm(q @ q.T * s),
        "SegEarth": lambda: sm(q @ q.T * s) + sm(k @ k.T * s) + sm(v @ v.T * s),
        "NACLIP": lambda: sm(k @ k.T * s + w),
        "GAV": lambda: sm(q @ k.T * s + w * s * nq * nk),
        "NOnly": lambda: sm(w * s * nq * nk),
    }[name]()


def reference_last_block(block, x, name, ignore_residual, g):
    mha = block.attn
    heads, (bsz, _n, c) = mha.num_heads, x.shape
    d = c // heads
    s = d**-0.5
    w = reference_prior(g)
    y = block.ln_1(x)
    wq, wk, wv = mha.in_proj_weight.split(c)
    bq, bk, bv = mha.in_proj_bias.split(c)
    out = torch.zeros_like(x)
    for b in range(bsz):
        per_head = []
        for h in range(heads):
            sl = slice(h * d, (h + 1) * d)
            q = y[b] @ wq[sl].T + bq[sl]
            k = y[b] @ wk[sl].T + bk[sl]
            v = y[b] @ wv[sl].T + bv[sl]
            per_head.append(reference_attention(name, q, k, v, s, w) @ v)
        out[b] = torch.cat(per_head, dim=-1) @ mha.out_proj.weight.T + mha.out_proj.bias
    if ignore_residual:
        return out
    x = x + out
    return x + block.mlp(block.ln_2(x))


def reference_logits(seg, img, ori_shape, crop=224, stride=112, lam=0.0):
    """(Q, H0, W0) by SPEC §5: windows one at a time, pad, resize, encode, upsample, cut."""
    _, _, h, w = img.shape
    patch = seg.model.patch_size
    size = seg.model.image_size[0]  # square model input
    q = seg.query_features
    canvas = torch.zeros(1, q.shape[0], h, w)
    count = torch.zeros(1, 1, h, w)
    ny = max(h - crop + stride - 1, 0) // stride + 1
    nx = max(w - crop + stride - 1, 0) // stride + 1
    for iy in range(ny):
        for ix in range(nx):
            y2, x2 = min(iy * stride + crop, h), min(ix * stride + crop, w)
            y1, x1 = max(y2 - crop, 0), max(x2 - crop, 0)
            win = img[:, :, y1:y2, x1:x2]
            wh, ww = win.shape[-2:]
            ph, pw = (patch - wh % patch) % patch, (patch - ww % patch) % patch
            top, left = ph // 2, pw // 2
            win = F.pad(win, (left, pw - left, top, ph - top))
            padded = win.shape[-2:]
            if tuple(padded) != (size, size):
                win = F.interpolate(win, size=(size, size), mode="bilinear", align_corners=False)
            tokens = seg.model.dense_features(win, seg.model_type, seg.ignore_residual)[0]
            tokens = tokens / tokens.norm(dim=-1, keepdim=True)
            logits = tokens[1:] @ q.T + lam * (tokens[0] @ q.T)
            g = size // patch
            logits = logits.T.reshape(1, -1, g, g)
            logits = F.interpolate(logits, size=padded, mode="bilinear", align_corners=False)
            canvas[:, :, y1:y2, x1:x2] += logits[:, :, top : top + wh, left : left + ww]
            count[:, :, y1:y2, x1:x2] += 1
    return F.interpolate(canvas / count, size=ori_shape, mode="bilinear", align_corners=False)[0]


def reference_labels(logits, query_idx, scale, prob_thd, bg_idx):
    probs = torch.softmax(logits * scale, dim=0)
    n_cls = max(query_idx) + 1
    cls = torch.stack(
        [probs[[i for i, c in enumerate(query_idx) if c == k]].max(0).values for k in range(n_cls)]
    )
    best, pred = cls.max(0)
    pred[best < prob_thd] = bg_idx
    return cls, pred
