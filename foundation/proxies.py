"""The proxy backbones ProxyCLIP can take its attention from: plain data, no torch.

A proxy is a self-supervised ViT whose last-block features decide which CLIP values each
patch averages (``dense.proxyclip``). This table says which timm model rebuilds each
published proxy, which file holds its weights and where that file is published, so a bad
``--proxy`` or a missing ``--proxy-pretrained`` is reported before anything heavy is imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import CheckpointError, ConfigError


@dataclass(frozen=True)
class ProxySpec:
    """One proxy backbone.

    Attributes:
        name: the ``--proxy`` value.
        display: how messages and the settings name it.
        timm_model: the timm model (with its pretrained tag) that rebuilds it.
        file: the published weights file (the torch-hub checkpoint).
        url: where that file is published.
        patch: patch side in pixels.
        registers: register tokens after the CLS token (the prefix is 1 + registers).
        image_size: the side its position table was trained for.
        positions: how the position table is resized to another grid, as the proxy's own
            code does it: ``"dino"`` (DINO: bicubic with scale factor (g + 0.1) / g0) or
            ``"dinov2"`` (DINOv2's hub models: bicubic to the target size, antialiased).
        width: channels of a token.
        depth: number of blocks.
        licence: the weights' licence.
    """

    name: str
    display: str
    timm_model: str
    file: str
    url: str
    patch: int
    registers: int
    image_size: int
    positions: str
    width: int = 768
    depth: int = 12
    licence: str = "Apache-2.0"

    @property
    def prefix(self) -> int:
        """Tokens before the patch grid: CLS and the registers."""
        return 1 + self.registers


PROXIES: dict[str, ProxySpec] = {
    "dino-b8": ProxySpec(
        name="dino-b8",
        display="DINO ViT-B/8",
        timm_model="vit_base_patch8_224.dino",
        file="dino_vitbase8_pretrain.pth",
        url="https://dl.fbaipublicfiles.com/dino/dino_vitbase8_pretrain/dino_vitbase8_pretrain.pth",
        patch=8,
        registers=0,
        image_size=224,
        positions="dino",
    ),
    "dinov2-b14-reg": ProxySpec(
        name="dinov2-b14-reg",
        display="DINOv2 ViT-B/14 with registers",
        timm_model="vit_base_patch14_reg4_dinov2.lvd142m",
        file="dinov2_vitb14_reg4_pretrain.pth",
        url="https://dl.fbaipublicfiles.com/dinov2/dinov2_vitb14/dinov2_vitb14_reg4_pretrain.pth",
        patch=14,
        registers=4,
        image_size=518,
        positions="dinov2",
    ),
}
DEFAULT_PROXY = "dino-b8"
# ProxyCLIP's own ``vfm_model`` spellings.
PROXY_ALIASES = {"dino": "dino-b8", "dinov2": "dinov2-b14-reg"}


def proxy_spec(name: str) -> ProxySpec:
    """The table's entry for ``name`` (aliases and case forgiven); else one error line."""
    key = PROXY_ALIASES.get(name.lower(), name.lower())
    if key not in PROXIES:
        raise ConfigError(f"--proxy {name}: choose one of {', '.join(PROXIES)}")
    return PROXIES[key]


def resolve_proxy_file(
    name: str, path: str | None = None, checkpoint_dir: str | None = None
) -> str:
    """The proxy's weights file: ``path`` (``--proxy-pretrained``), else the published file
    name inside ``checkpoint_dir``. A missing file is one line saying where it is published."""
    spec = proxy_spec(name)
    if path is None and checkpoint_dir is not None:
        path = os.path.join(checkpoint_dir, spec.file)
    if path is not None and os.path.isfile(path):
        return path
    where = f"{path} not found" if path is not None else "no file given"
    raise CheckpointError(
        f"proxy weights for --proxy {spec.name}: {where} (set --proxy-pretrained FILE); "
        f"{spec.display} is published at {spec.url} (or timm's {spec.timm_model})"
    )
