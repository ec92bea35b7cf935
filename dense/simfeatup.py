"""SimFeatUp (``jbu_one``): SegEarth-OV's learned x16 feature upsampler, in plain torch.

One joint-bilateral upsampling (JBU) step with shared weights is applied four times (x2 each)
to a window's projected CLIP patch features, guided by the window's normalised pixels, then a
1x1 fix-up (https://github.com/likyoo/SegEarth-OV, after FeatUp's JBU). The published code
needs a CUDA extension for its 11x11 per-pixel convolution and runs in training mode in its
demo; here the convolution is a handful of batched matmuls, and the module has no dropout at
all, so its output never depends on ``.train()``.

Speed (why the forward is not written as the plain definition): the last step's 121-tap
weighted sum over 512 x 224 x 224 values is memory-bound when done tap by tap (~7 s per window
on a 2-core CPU). Instead:

- every step is linear in the features and the same for every channel (its kernels depend on
  the guidance only), so the final 1x1 fix-up commutes with the four steps and is applied on
  the 14x14 grid (51 MMAC) instead of 224x224 (13 GMAC);
- the bicubic x2 upsampling and reflect padding of the source are folded into the kernel:
  each output pixel is a 9x9 weighted sum over the source at half resolution (81 taps instead
  of 121, and no full-resolution copy of the source), and the 2x2 output pixels above one
  source pixel share their window;
- the weighted sum runs as one small matmul per source pixel and kernel row ((4, 9) @ (9, C)),
  over a channels-last source viewed with overlapping strides (no unfold copy), a few source
  rows at a time so they stay in cache.

All of this is exact algebra: results differ from the plain definition by rounding only.
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from foundation.checkpoints import key_mismatch, read_state_dict
from foundation.errors import CheckpointError, ConfigError
from foundation.peek import FAMILY_NAMES, guess_family
from foundation.upsamplers import FEAT_DIM, PATCH_SIZE, WEIGHTS_HINT

RADIUS = 5  # JBU kernel radius: 11 x 11 = 121 taps
DIAMETER = 2 * RADIUS + 1
GUIDANCE_DIM = 3
KEY_DIM = 32
MIN_GRID = 3  # reflect padding by 5 at the first step needs 6 x 6 guidance
REACH = 4  # output row y of a step reads source rows y // 2 - 4 .. y // 2 + 4
PREFIX = "upsampler."  # PyTorch-Lightning attribute name in the published file
# Source rows per matmul batch: the padded source tile stays in cache on a CPU; on a GPU the
# tile only bounds memory.
_TILE_BYTES = {"cpu": 8 << 20}
_TILE_BYTES_OTHER = 256 << 20


def check_grid(height: int, width: int, patch_size: int = PATCH_SIZE) -> None:
    """The first step reflect-pads its guidance by 5, so the feature grid must be >= 3 x 3."""
    if min(height, width) < MIN_GRID:
        raise ConfigError(
            f"SimFeatUp needs a feature grid of at least {MIN_GRID}x{MIN_GRID} (windows of at "
            f"least {MIN_GRID * patch_size} px); got {height}x{width}"
        )


class JBUStep(nn.Module):
    """The shared x2 step's parameters (names as in the published state dict, under ``up.``).

    Indices 2 of both ``Sequential`` are the published ``Dropout2d`` layers, kept as
    identities so the keys line up; the forward does not call the ``Sequential`` anyway.
    """

    def __init__(self) -> None:
        super().__init__()
        taps = DIAMETER * DIAMETER
        self.range_temp = nn.Parameter(torch.tensor(0.0))  # log temperature of the range kernel
        self.sigma_spatial = nn.Parameter(torch.tensor(1.0))  # raw sigma of the spatial kernel
        self.range_proj = nn.Sequential(
            nn.Conv2d(GUIDANCE_DIM, KEY_DIM, 1),
            nn.GELU(),
            nn.Identity(),
            nn.Conv2d(KEY_DIM, KEY_DIM, 1),
        )
        self.fixup_proj = nn.Sequential(
            nn.Conv2d(taps + GUIDANCE_DIM, taps, 1),
            nn.GELU(),
            nn.Identity(),
            nn.Conv2d(taps, taps, 1),
        )

    def kernel(self, guidance: Tensor) -> Tensor:
        """Per-pixel 11 x 11 kernels ``(B, H, W, 121)`` (tap 11 i + j: offset (i-5, j-5)) from
        channels-last guidance ``(B, H, W, 3)``: range x spatial, normalised, then fixed up."""
        keys = _mlp(guidance, self.range_proj)
        padded = F.pad(keys.permute(0, 3, 1, 2), (RADIUS,) * 4, mode="reflect")
        logits = _window_dots(padded.permute(0, 2, 3, 1).contiguous())
        temperature = self.range_temp.to(keys.dtype).exp().clamp(1e-4, 1e4)
        kernel = (logits * temperature).softmax(dim=-1).mul_(self.spatial_kernel())
        kernel.div_(kernel.sum(dim=-1, keepdim=True).clamp_min_(1e-7))
        fix = _mlp(torch.cat([kernel, guidance], dim=-1), self.fixup_proj)
        return kernel.add_(fix.mul_(0.1))  # not renormalised, as published

    def spatial_kernel(self) -> Tensor:
        """exp(-(u_i^2 + u_j^2) / (2 sigma^2)) on u = linspace(-1, 1, 11), flattened: float32
        whatever the parameters' dtype, as published (a 0-dim sigma does not promote u)."""
        u = torch.linspace(-1, 1, DIAMETER, device=self.sigma_spatial.device)
        dist = u[:, None] ** 2 + u[None, :] ** 2
        return torch.exp(-dist / (2 * self.sigma_spatial**2)).flatten()


class SimFeatUp(nn.Module):
    """``jbu_one``: ``F4 + 0.1 * conv1x1(F4)`` with ``F_l = JBU(F_{l-1}, pool(I, 2 x size))``.

    ``forward(features (B, C, h, w), guidance (B, 3, H, W)) -> (B, C, 16 h, 16 w)``: the
    features are the projected, un-normalised patch tokens, the guidance the window exactly
    as it went into the image tower. The output is in channels-last memory format (``permute
    (0, 2, 3, 1)`` is a free ``(B, 16h, 16w, C)`` view). Inference only (no autograd); float16
    / bfloat16 inputs are computed in float32 and returned in their own dtype.
    """

    def __init__(self, feat_dim: int = FEAT_DIM, final_fixup: bool = True) -> None:
        super().__init__()
        self.feat_dim = feat_dim
        # Windows upsampled together (None: one at a time on a CPU, where one window's
        # full-resolution kernel maps then stay in cache; all of them elsewhere).
        self.windows_per_pass: int | None = None
        self.up = JBUStep()
        # Index 0 is the published Dropout2d; without final_fixup (forced use with features
        # of another size) the output is F4 itself.
        self.fixup_proj = (
            nn.Sequential(nn.Identity(), nn.Conv2d(feat_dim, feat_dim, 1)) if final_fixup else None
        )

    @torch.no_grad()
    def forward(self, features: Tensor, guidance: Tensor) -> Tensor:
        batch, channels, height, width = features.shape
        if guidance.dim() != 4 or guidance.shape[:2] != (batch, GUIDANCE_DIM):
            raise ValueError(f"guidance must be (B={batch}, 3, H, W), got {tuple(guidance.shape)}")
        if self.fixup_proj is not None and channels != self.feat_dim:
            raise ValueError(f"features have {channels} channels, upsampler is {self.feat_dim}-d")
        check_grid(height, width)
        with torch.autocast(features.device.type, enabled=False):  # the sums are float32 or 64
            out = self._forward(features, guidance)
        return out.permute(0, 3, 1, 2).to(features.dtype)

    def _forward(self, features: Tensor, guidance: Tensor) -> Tensor:
        dtype = _compute_dtype(features.dtype)
        x = features.to(dtype).permute(0, 2, 3, 1)
        guidance = guidance.to(dtype)
        shift = None
        if self.fixup_proj is not None:  # commutes with the steps: see the module docstring
            conv = self.fixup_proj[1]
            x = x + 0.1 * F.linear(x, conv.weight.to(dtype).flatten(1))
            shift = 0.1 * conv.bias.to(dtype)
        batch, height, width, channels = x.shape
        out = x.new_empty(batch, PATCH_SIZE * height, PATCH_SIZE * width, channels)
        step = self.windows_per_pass or (1 if x.device.type == "cpu" else batch)
        for start in range(0, batch, step):
            part = slice(start, start + step)
            self._upsample(x[part], guidance[part], shift, out[part])
        return out

    def _upsample(self, x: Tensor, guidance: Tensor, shift: Tensor | None, out: Tensor) -> None:
        for level in range(4):
            size = (2 * x.shape[1], 2 * x.shape[2])
            pooled = F.adaptive_avg_pool2d(guidance, size).permute(0, 2, 3, 1)
            kernel = self.up.kernel(pooled)
            last = level == 3
            x = upsample_step(x, kernel, shift if last else None, out if last else None)


def upsample_step(
    source: Tensor, kernel: Tensor, shift: Tensor | None = None, out: Tensor | None = None
) -> Tensor:
    """One JBU application: ``adaptive_conv(reflect_pad(bicubic_x2(source), 5), kernel)``.

    ``source`` is channels-last ``(B, h, w, C)``, ``kernel`` ``(B, 2h, 2w, 121)``; returns
    ``(B, 2h, 2w, C)`` (plus ``shift`` per channel), written into ``out`` if given. Upsampling
    and padding act the same on every channel, so they are folded into the kernel: output
    pixel (y, x) is a 9 x 9 weighted sum over the source around (y // 2, x // 2).
    """
    batch, height, width, channels = source.shape
    span = 2 * REACH + 1
    rows = _source_weights(height, source.device, source.dtype)  # (2h, 11, 9)
    cols = _source_weights(width, source.device, source.dtype)
    taps = kernel.unflatten(-1, (DIAMETER, DIAMETER))
    # composite[b, y, x, r, c] = sum_ij rows[y, i, r] * taps[b, y, x, i, j] * cols[x, j, c]
    composite = torch.einsum("byxij,xjc->byxic", taps, cols)
    composite = torch.einsum("yir,byxic->byxrc", rows, composite)
    # The four output pixels (2a + dy, 2b + dx) share the source window at (a, b): one sum
    # with 4 kernels per source position.
    composite = composite.reshape(batch, height, 2, width, 2, span * span).transpose(2, 3)
    padded = source.new_zeros(batch, height + span - 1, width + span - 1, channels)
    padded[:, REACH : REACH + height, REACH : REACH + width] = source
    sums = _window_sum(padded, composite.reshape(batch, height, width, 4, span * span))
    sums = sums.unflatten(3, (2, 2)).transpose(2, 3)  # (B, h, 2, w, 2, C)
    if out is None:
        out = source.new_empty(batch, 2 * height, 2 * width, channels)
    dest = out.view(batch, height, 2, width, 2, channels)
    if shift is None:
        dest.copy_(sums)
    else:
        torch.add(sums, shift, out=dest)
    return out


def adaptive_conv(source_padded: Tensor, kernel: Tensor) -> Tensor:
    """``out[b, c, y, x] = sum_ij kernel[b, d i + j, y, x] * source_padded[b, c, y + i, x + j]``.

    The per-pixel ("adaptive") convolution of FeatUp's CUDA kernel, with no padding of its own:
    ``source_padded`` is ``(B, C, H + d - 1, W + d - 1)``, ``kernel`` ``(B, d * d, H, W)``,
    the result ``(B, C, H, W)``. float16 / bfloat16 are accumulated in float32.
    """
    batch, channels, src_h, src_w = source_padded.shape
    taps, height, width = kernel.shape[1:]
    diameter = math.isqrt(taps)
    if (
        kernel.shape[0] != batch
        or diameter * diameter != taps
        or (height, width) != (src_h - diameter + 1, src_w - diameter + 1)
    ):
        raise ValueError(
            f"kernel {tuple(kernel.shape)} does not fit source {tuple(source_padded.shape)}"
        )
    dtype = _compute_dtype(source_padded.dtype)
    source = source_padded.to(dtype).permute(0, 2, 3, 1).contiguous()
    out = _window_sum(source, kernel.to(dtype).permute(0, 2, 3, 1).unsqueeze(3))[:, :, :, 0]
    return out.permute(0, 3, 1, 2).to(source_padded.dtype, memory_format=torch.channels_last)


def _window_sum(source: Tensor, kernel: Tensor) -> Tensor:
    """``out[b, y, x, m] = sum_ij kernel[b, y, x, m, d i + j] * source[b, y + i, x + j]``:
    ``M`` per-pixel kernels over one channels-last source.

    The windows are stacked into one tall image: with ``source`` contiguous ``(B, Hs, Ws, C)``
    and flat pixel index n = (b Hs + y) Ws + x, pixel n sees the source at n + i Ws + j
    (j = 0..d-1). For fixed i that is a ``(d, C)`` matrix at offset n with row stride C, i.e.
    an overlapping strided view, so each kernel row i is one ``bmm`` of ``(N, M, d) @ (N, d,
    C)`` over the pixels. Positions outside ``(H, W)`` wrap into the next row or window; they
    are computed with zero weights and dropped. Returns a ``(B, H, W, M, C)`` view.
    """
    batch, src_h, src_w, channels = source.shape
    height, width, count, taps = kernel.shape[1:]
    diameter = src_h - height + 1
    pad = (0, 0, 0, 0, 0, src_w - width, 0, src_h - height)
    weights = F.pad(kernel, pad).view(-1, count, taps)
    flat = source.reshape(-1)
    out = source.new_empty(batch * src_h * src_w, count, channels)
    for n0, n1 in _tiles(source, diameter):
        for i in range(diameter):
            rows = flat.as_strided(
                (n1 - n0, diameter, channels), (channels, channels, 1), (n0 + i * src_w) * channels
            )
            taps_i = weights[n0:n1, :, i * diameter : (i + 1) * diameter]
            if i == 0:
                torch.bmm(taps_i, rows, out=out[n0:n1])
            else:
                out[n0:n1].baddbmm_(taps_i, rows)
    return out.view(batch, src_h, src_w, count, channels)[:, :height, :width]


def _window_dots(padded: Tensor, block: int = 8) -> Tensor:
    """``logits[b, y, x, 11 i + j] = <padded[b, y + i, x + j], padded[b, y + 5, x + 5]>`` for a
    contiguous channels-last ``(B, H + 10, W + 10, K)`` input: the range kernel's similarities.

    Flat pixel indices as in ``_window_sum``. For ``block`` consecutive pixels and kernel row
    i, the dot products of their keys with the ``block + 10`` keys starting at row i form one
    small matrix (a ``bmm`` over blocks); its band ``col - row = j`` holds tap (i, j). Returns
    a ``(B, H, W, 121)`` view.
    """
    batch, src_h, src_w, channels = padded.shape
    total = batch * src_h * src_w
    blocks = -(-total // block)
    span = block + DIAMETER - 1
    tail = blocks * block - total + (DIAMETER - 1) * (src_w + 1)  # read by the last blocks
    flat = torch.cat([padded.reshape(-1), padded.new_zeros(tail * channels)])
    centre = flat.as_strided(
        (blocks, block, channels),
        (block * channels, channels, 1),
        (RADIUS * src_w + RADIUS) * channels,
    )
    logits = padded.new_empty(blocks * block, DIAMETER, DIAMETER)
    for i in range(DIAMETER):
        rows = flat.as_strided(
            (blocks, span, channels), (block * channels, channels, 1), i * src_w * channels
        )
        gram = torch.bmm(centre, rows.transpose(1, 2))  # (blocks, block, span)
        band = gram.as_strided((blocks, block, DIAMETER), (block * span, span + 1, 1))
        logits[:, i].view(blocks, block, DIAMETER).copy_(band)
    logits = logits[:total].view(batch, src_h, src_w, DIAMETER * DIAMETER)
    return logits[:, : src_h - DIAMETER + 1, : src_w - DIAMETER + 1]


def _tiles(source: Tensor, diameter: int) -> list[tuple[int, int]]:
    """Flat pixel ranges of ``_window_sum`` / ``_window_dots``: a few source rows at a time
    (on a CPU they stay in cache; elsewhere this only bounds memory), up to the last pixel
    whose window stays inside the source."""
    batch, src_h, src_w, channels = source.shape
    budget = _TILE_BYTES.get(source.device.type, _TILE_BYTES_OTHER)
    rows = max(1, budget // (src_w * channels * source.element_size()) - diameter + 1)
    count = batch * src_h * src_w - (diameter - 1) * (src_w + 1)
    step = rows * src_w
    return [(n0, min(n0 + step, count)) for n0 in range(0, count, step)]


def _source_weights(size: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """``(2 size, 11, 9)``: weight of source row ``y // 2 - 4 + r`` in tap row i of output row
    y, i.e. bicubic x2 (torch's, align_corners=False, clamped borders) then reflect padding
    by 5, restricted to the 9 source rows an output row can reach (all of them: reflection
    only folds rows back towards y)."""
    out_size = 2 * size
    eye = torch.eye(size, device=device, dtype=dtype)[None, :, :, None]
    bicubic = F.interpolate(eye, size=(out_size, 1), mode="bicubic", align_corners=False)
    bicubic = bicubic[0, :, :, 0].t()  # (out_size, size): output row <- source rows
    pos = torch.arange(out_size, device=device)
    upsampled = (pos[:, None] + torch.arange(DIAMETER, device=device) - RADIUS).abs()
    upsampled = torch.where(upsampled > out_size - 1, 2 * (out_size - 1) - upsampled, upsampled)
    per_tap = bicubic[upsampled]  # (out_size, 11, size)
    src = pos[:, None] // 2 - REACH + torch.arange(2 * REACH + 1, device=device)
    inside = (src >= 0) & (src < size)
    picked = per_tap.gather(2, src.clamp(0, size - 1)[:, None, :].expand(-1, DIAMETER, -1))
    return picked * inside[:, None, :]


def _mlp(x: Tensor, layers: nn.Sequential) -> Tensor:
    """conv1x1 -> exact GELU -> conv1x1 on a channels-last tensor (the dropout is skipped)."""
    first, last = layers[0], layers[3]
    x = F.linear(x, first.weight.to(x.dtype).flatten(1), first.bias.to(x.dtype))
    return F.linear(F.gelu(x), last.weight.to(x.dtype).flatten(1), last.bias.to(x.dtype))


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def load_simfeatup(path: str, feat_dim: int = FEAT_DIM, force: bool = False) -> SimFeatUp:
    """SimFeatUp from the published PyTorch-Lightning file (``state_dict`` with keys under
    ``upsampler.``) or a bare state dict of its 12 tensors, loaded strictly, in eval mode.

    With ``force``, weights for features of another size load their shared JBU step only and
    the final 1x1 fix-up (tied to the file's feature size) is left out.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file; the weights are {WEIGHTS_HINT}")
    try:
        state = read_state_dict(path)
    except CheckpointError as err:  # truncated, corrupt, or not a checkpoint at all
        raise CheckpointError(f"{err}; SimFeatUp's weights are {WEIGHTS_HINT}") from None
    state = {k.removeprefix(PREFIX): v for k, v in state.items()}
    _diagnose(path, state)
    weight = state.get("fixup_proj.1.weight")
    other_dim = weight is not None and weight.dim() > 0 and weight.shape[0] != feat_dim
    if other_dim and not force:
        raise CheckpointError(
            f"{path}: SimFeatUp weights for {weight.shape[0]}-d features, but the model's "
            f"patch features are {feat_dim}-d (its final 1x1 fix-up is {weight.shape[0]} x "
            f"{weight.shape[0]})"
        )
    if other_dim:
        state = {k: v for k, v in state.items() if not k.startswith("fixup_proj.")}
    model = SimFeatUp(feat_dim, final_fixup=not other_dim)
    parts = key_mismatch(state, model.state_dict())[3]
    if parts:
        raise CheckpointError(
            f"{path}: not a SimFeatUp jbu_one upsampler file ({'; '.join(parts)})"
        )
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False)


def _diagnose(path: str, keys: dict) -> None:
    """One line naming what a file is when it is clearly not SegEarth-OV's jbu_one."""
    if any(k.startswith(("up1.", "up2.", "up3.", "up4.")) for k in keys):
        raise CheckpointError(
            f"{path}: this is FeatUp's jbu_stack upsampler (four radius-3 modules up1..up4), "
            f"not SegEarth-OV's jbu_one; use {WEIGHTS_HINT}"
        )
    family = guess_family(keys)
    if family is not None:
        raise CheckpointError(
            f"{path}: looks like {FAMILY_NAMES[family]} model checkpoint, not a SimFeatUp "
            f"upsampler; use {WEIGHTS_HINT}"
        )
    if "up.range_temp" not in keys:
        raise CheckpointError(
            f"{path}: not a SimFeatUp jbu_one upsampler file (no up.range_temp); use {WEIGHTS_HINT}"
        )
