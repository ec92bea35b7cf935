"""Independent references written straight from the published description, shared by the tests (one place).

Per-head attention formulas (docs/protocol.md), the last block, and the one-window-at-a-time
sliding-window loop (docs/protocol.md) with the label rule (docs/protocol.md). Deliberately plain loops.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

# docs/protocol.md: class files (lines joined by " / ") and SegEarth-OV post-processing.
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

# SegEarth-OV's nine single-class benchmarks: class files and its configs' post-processing
# (prob_thd, bg_idx, and xBD's cls_token_lambda 0).
EXTRA_CLASSES = {
    "WHUAerialDataset": "background / building",
    "WHUSatIIDataset": "background / building",
    "InriaDataset": "background / building",
    "xBDDataset": "background / building",
    "CHN6CUGDataset": "background / road",
    "DeepGlobeRoadDataset": "background / road",
    "MassachusettsRoadDataset": "background / road",
    "SpaceNetRoadDataset": "background / road",
    "WBSSIDataset": "background / water",
}
EXTRA_SEGEARTH = {
    "WHUAerialDataset": (0.6, 0),
    "WHUSatIIDataset": (0.7, 0),
    "InriaDataset": (0.6, 0),
    "xBDDataset": (0.0, 0),
    "CHN6CUGDataset": (0.8, 0),
    "DeepGlobeRoadDataset": (0.7, 0),
    "MassachusettsRoadDataset": (0.7, 0),
    "SpaceNetRoadDataset": (0.7, 0),
    "WBSSIDataset": (0.6, 0),
}

VARIANTS = [
    "vanilla",
    "MaskCLIP",
    "SCLIP",
    "ClearCLIP",
    "SegEarth",
    "NACLIP",
    "GAV",
    "NOnly",
    "GEM",
]


@functools.lru_cache(maxsize=8)
def _prior(g: int) -> torch.Tensor:
    return reference_prior(g)


def reference_prior(g: int) -> torch.Tensor:
    n = g * g + 1
    w = torch.zeros(n, n)
    for a in range(g):
        for b in range(g):
            for c in range(g):
                for d in range(g):
                    w[1 + a * g + b, 1 + c * g + d] = math.exp(-((a - c) ** 2 + (b - d) ** 2) / 2.0)
    return w


def reference_gem(q, k, v, s, y):
    """GEM (Bousselham et al., CVPR 2024), one head, one image: tau = s * mean_i |y_i|;
    per t in (q, k, v): t1 = norm(softmax(tau * norm(t) norm(t)^T) norm(t)),
    A_t = softmax(tau * norm(t1) norm(t1)^T); A = mean of the three."""
    tau = s * float(sum(y[i].norm() for i in range(y.shape[0])) / y.shape[0])

    def unit(t):
        return t / t.norm(dim=-1, keepdim=True).clamp(min=1e-12)

    out = torch.zeros(q.shape[0], q.shape[0])
    for t in (q, k, v):
        t0 = unit(t)
        t1 = unit(torch.softmax(tau * (t0 @ t0.T), dim=-1) @ t0)
        out += torch.softmax(tau * (t1 @ t1.T), dim=-1) / 3
    return out


def reference_attention(name, q, k, v, s, w, y=None):
    """A for one head, written straight from the the published description table (GEM: its paper; needs the
    block's normalised input tokens ``y`` of this image)."""
    if name == "GEM":
        return reference_gem(q, k, v, s, y)
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
            per_head.append(reference_attention(name, q, k, v, s, w, y[b]) @ v)
        out[b] = torch.cat(per_head, dim=-1) @ mha.out_proj.weight.T + mha.out_proj.bias
    if ignore_residual:
        return out
    x = x + out
    return x + block.mlp(block.ln_2(x))


def reference_logits(seg, img, ori_shape, crop=224, stride=112, lam=0.0):
    """(Q, H0, W0) by docs/protocol.md: windows one at a time, pad, resize, encode, upsample, cut."""
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


# ---------------------------------------------------------------------------- model families
# Plain per-formula forwards read straight from state_dict keys (docs/models.md), shared by the
# family tests: the weights' names are the published (or open_clip) names.
def layer_norm(x, w, b, eps):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def heads_attention(q, k, v, heads, mask=None):
    """softmax(q k^T / sqrt(d) + mask) v per head; q, k, v: (B, N, C)."""
    bsz, n, c = q.shape
    d = c // heads
    out = []
    for h in range(heads):
        sl = slice(h * d, (h + 1) * d)
        scores = q[..., sl] @ k[..., sl].transpose(-2, -1) * d**-0.5
        if mask is not None:
            scores = scores + mask
        out.append(torch.softmax(scores, dim=-1) @ v[..., sl])
    return torch.cat(out, dim=-1)


def clip_block(sd, p, x, heads, mask=None, eps=1e-5):
    """An open_clip residual block (pre-LN, MHA with in_proj, GELU MLP) named ``p``."""
    y = layer_norm(x, sd[p + "ln_1.weight"], sd[p + "ln_1.bias"], eps)
    q, k, v = (y @ sd[p + "attn.in_proj_weight"].T + sd[p + "attn.in_proj_bias"]).chunk(3, -1)
    attn = heads_attention(q, k, v, heads, mask)
    x = x + attn @ sd[p + "attn.out_proj.weight"].T + sd[p + "attn.out_proj.bias"]
    y = layer_norm(x, sd[p + "ln_2.weight"], sd[p + "ln_2.bias"], eps)
    hidden = gelu(y @ sd[p + "mlp.c_fc.weight"].T + sd[p + "mlp.c_fc.bias"])
    return x + hidden @ sd[p + "mlp.c_proj.weight"].T + sd[p + "mlp.c_proj.bias"]


def clip_text(sd, p, tokens, heads, projection):
    """CLIP text tower: embeddings + positions, causal blocks, ln_final, EOT (argmax)
    token, @ ``projection`` (a matrix)."""
    n = tokens.shape[1]
    x = sd[p + "token_embedding.weight"][tokens] + sd[p + "positional_embedding"][:n]
    mask = torch.full((n, n), float("-inf")).triu(1)
    layers = len(
        {k for k in sd if k.startswith(p + "transformer.resblocks.") and k.endswith("ln_1.weight")}
    )
    for i in range(layers):
        x = clip_block(sd, f"{p}transformer.resblocks.{i}.", x, heads, mask)
    x = layer_norm(x, sd[p + "ln_final.weight"], sd[p + "ln_final.bias"], 1e-5)
    return x[torch.arange(len(tokens)), tokens.argmax(dim=-1)] @ projection


def clip_vit_upto_last(sd, images, heads):
    """open_clip ViT (keys ``visual.*``): conv1 patches, CLS, positions, ln_pre, every block
    but the last. Returns (tokens, number of blocks)."""
    w = sd["visual.conv1.weight"]
    patch = w.shape[-1]
    x = torch.nn.functional.conv2d(images, w, stride=patch).flatten(2).transpose(1, 2)
    cls = sd["visual.class_embedding"].expand(len(images), 1, -1)
    x = torch.cat([cls, x], dim=1) + sd["visual.positional_embedding"]
    x = layer_norm(x, sd["visual.ln_pre.weight"], sd["visual.ln_pre.bias"], 1e-5)
    layers = len(
        {
            k
            for k in sd
            if k.startswith("visual.transformer.resblocks.") and k.endswith("ln_1.weight")
        }
    )
    for i in range(layers - 1):
        x = clip_block(sd, f"visual.transformer.resblocks.{i}.", x, heads)
    return x, layers


def attention_output(name, q, k, v, heads, grid, y, prefix=1):
    """Per head, per image: A (from ``reference_attention``) times v; q/k/v/y: (B, N, C)."""
    bsz, n, c = q.shape
    d = c // heads
    w = torch.zeros(n, n)
    w[prefix:, prefix:] = _prior(grid)[1:, 1:]
    out = torch.zeros(bsz, n, c)
    for b in range(bsz):
        for h in range(heads):
            sl = slice(h * d, (h + 1) * d)
            a = reference_attention(name, q[b, :, sl], k[b, :, sl], v[b, :, sl], d**-0.5, w, y[b])
            out[b, :, sl] = a @ v[b, :, sl]
    return out
