"""ProxyCLIP (Lan et al., ECCV 2024): CLIP's last-block values averaged with an attention
taken from a second vision model (the proxy: DINO ViT-B/8 by default).

Per window: the proxy's normalised last-block features give S = f f^T; Z = gamma (S - beta
mean(S)), entries below zero dropped, one softmax row-wise: the attention A, shared by every
head. CLIP's last-block values (CLS dropped) are resized per head to the proxy grid, averaged
with A, projected by the block's output projection (no residual, no MLP) and by the tower's
final norm and projection. The dense grid is the proxy's (28x28 for DINO-B/8 at 224).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from foundation.errors import ConfigError
from foundation.methods import METHODS
from foundation.proxies import proxy_spec, resolve_proxy_file

from .proxies import Proxy, load_proxy
from .tower import DenseFeatures, Tower

_D = METHODS["ProxyCLIP"].options  # the published defaults (one table, foundation/methods.py)

# The window arrives normalised with its family's mean/std on the 0-255 scale (OpenAI
# CLIP's unless the family says otherwise); the proxy expects ImageNet's on [0, 1].
CLIP_MEAN = (122.771, 116.746, 104.094)
CLIP_STD = (68.501, 66.632, 70.323)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ProxyCLIP:
    """ProxyCLIP's dense features, batched over windows (each window as if alone).

    Args:
        tower: the CLIP image tower.
        ignore_residual: must be True (the published last block has no residual: its output
            lives on the proxy grid, where CLIP's residual stream does not exist).
        proxy: a ``foundation.proxies.PROXIES`` name, or a built ``Proxy``.
        proxy_pretrained: the proxy's weights file (when ``proxy`` is a name).
        gamma, beta: the published temperature and mean offset of Z.
        preprocess: the family's mmseg mean/std (0-255 scale) and ``bgr_to_rgb``, to undo.

    ``guarded_rows`` / ``guarded_windows`` count, over all calls, the attention rows (and the
    windows holding them) where the published formula masks every entry (a softmax of all
    -inf: NaN); such a row keeps only its own token (its diagonal entry).
    """

    needs_queries = False

    def __init__(
        self,
        tower: Tower,
        ignore_residual: bool = True,
        proxy: str | Proxy = _D["proxy"],
        proxy_pretrained: str | None = _D["proxy_pretrained"],
        gamma: float = _D["gamma"],
        beta: float = _D["beta"],
        preprocess: Mapping | None = None,
    ) -> None:
        if not ignore_residual:
            raise ConfigError(
                "ProxyCLIP has no residual branch (its output is on the proxy grid): "
                "set model.ignore_residual=True"
            )
        spec = proxy.spec if isinstance(proxy, Proxy) else proxy_spec(proxy)
        size = tuple(tower.image_size)
        if any(side % spec.patch for side in size):
            raise ConfigError(
                f"ProxyCLIP: the model's input {size[0]}x{size[1]} is not a multiple of "
                f"--proxy {spec.name}'s patch {spec.patch}; use a proxy whose patch divides it"
            )
        if isinstance(proxy, str):  # a missing file: one line naming where it is published
            proxy = load_proxy(spec, resolve_proxy_file(spec.name, proxy_pretrained))
        self.tower = tower
        self.proxy = proxy
        self.gamma = float(gamma)
        self.beta = float(beta)
        self.scale, self.shift, self.flip = proxy_affine(preprocess)
        self.guarded_rows = 0
        self.guarded_windows = 0

    @property
    def options(self) -> dict:
        """The settings this method ran with (for the run's settings)."""
        spec = self.proxy.spec
        return {
            "proxy": spec.name,
            "proxy_model": spec.timm_model,
            "gamma": self.gamma,
            "beta": self.beta,
        }

    def facts(self) -> dict:
        """How often the NaN guard acted (recorded with a run; 0 where the published formula
        gave numbers everywhere)."""
        return {"guarded_rows": self.guarded_rows, "guarded_windows": self.guarded_windows}

    def __call__(self, images: Tensor, queries: Tensor | None = None) -> DenseFeatures:
        tower = self.tower
        weight = next(self.proxy.parameters())
        if (weight.device, weight.dtype) != (images.device, images.dtype):
            self.proxy.to(images.device, images.dtype)
        features = self.proxy(self.proxy_input(images))
        grid = self.proxy.grid(images)
        values = clip_values(tower, images, grid)
        attention, dead = proxy_attention(features, self.gamma, self.beta)
        rows, windows = torch.stack([dead.sum(), dead.any(-1).sum()]).tolist()
        self.guarded_rows += int(rows)
        self.guarded_windows += int(windows)
        out = tower.attn_out(tower.depth - 1, attention @ values)
        return DenseFeatures(tower.head(out), None, grid)

    def proxy_input(self, images: Tensor) -> Tensor:
        """CLIP-normalised windows -> the proxy's ImageNet-normalised RGB on [0, 1]."""
        scale = torch.tensor(self.scale, dtype=images.dtype, device=images.device)
        shift = torch.tensor(self.shift, dtype=images.dtype, device=images.device)
        x = images * scale[:, None, None] + shift[:, None, None]
        return x.flip(-3) if self.flip else x


def proxy_affine(
    preprocess: Mapping | None,
) -> tuple[tuple[float, ...], tuple[float, ...], bool]:
    """Per channel (scale, shift) taking the family's normalisation to ImageNet's:
    ((x std + mean) / 255 - m) / s; and whether the model's channels are BGR (flip them)."""
    preprocess = preprocess or {}
    mean = preprocess.get("mean", CLIP_MEAN)
    std = preprocess.get("std", CLIP_STD)
    if len(mean) != 3 or len(std) != 3:
        raise ConfigError(f"ProxyCLIP needs a 3-channel mean/std, got mean {mean} std {std}")
    scale = tuple(sd / 255 / s for sd, s in zip(std, IMAGENET_STD, strict=True))
    shift = tuple(
        (mu / 255 - m) / s for mu, m, s in zip(mean, IMAGENET_MEAN, IMAGENET_STD, strict=True)
    )
    return scale, shift, not preprocess.get("bgr_to_rgb", True)


def clip_values(tower: Tower, images: Tensor, grid: tuple[int, int]) -> Tensor:
    """(B, H * W, C): the last block's values (with bias; prefix tokens dropped), heads
    merged, each channel bilinearly resized from the CLIP grid to ``grid``."""
    last = tower.depth - 1
    gh, gw = tower.grid(images)
    x = tower.run_blocks(tower.embed(images), last)
    _, _, _, v = tower.qkv(last, x, tower.prefix)  # (B, h, N, d)
    bsz, heads, _, dim = v.shape
    v = v[:, :, tower.prefix :].permute(0, 1, 3, 2).reshape(bsz, heads * dim, gh, gw)
    if (gh, gw) != grid:
        v = F.interpolate(v, size=grid, mode="bilinear", align_corners=False)
    return v.flatten(2).transpose(1, 2)  # channel order = heads merged


def proxy_attention(features: Tensor, gamma: float, beta: float) -> tuple[Tensor, Tensor]:
    """(A (B, HW, HW), dead (B, HW)) from the proxy's tokens (B, HW, C), per window.

    S = f f^T of the channel-normalised tokens; Z = gamma (S - beta mean(S)), the mean over
    the window's whole S; entries Z < 0 dropped; A = softmax(Z) per row. A ``dead`` row has
    every entry dropped (the published softmax gives NaN there): it keeps its diagonal, so
    that token keeps its own value. Rows that are not dead are exactly the published ones.
    """
    f = F.normalize(features, dim=-1)
    z = f @ f.transpose(-2, -1)
    mean = z.mean(dim=(-2, -1), keepdim=True)
    z = z.sub_(beta * mean).mul_(gamma)
    dead = z.amax(dim=-1) < 0
    z.diagonal(dim1=-2, dim2=-1).masked_fill_(dead, 0.0)
    return z.masked_fill_(z < 0, float("-inf")).softmax(dim=-1), dead


__all__ = ["ProxyCLIP", "clip_values", "proxy_affine", "proxy_attention"]
