"""Building a ProxyCLIP proxy (DINO, DINOv2) with timm and loading its published weights.

The architecture is timm's (``foundation.proxies.PROXIES``), built on the meta device (no
initialisation, no network: every weight comes from the file). The file is read in its
published torch-hub layout or timm's own, converted by timm's own ``checkpoint_filter_fn``
and loaded strictly; a file of another proxy or of a CLIP model is one error line. The
features are the last block's tokens after the final norm, prefix tokens dropped, with the
position table resized as the proxy's own code resizes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import timm
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn
from torch import Tensor, nn

from foundation.checkpoints import key_mismatch, read_state_dict
from foundation.errors import CheckpointError
from foundation.proxies import PROXIES, ProxySpec, proxy_spec

# Keys only a CLIP checkpoint has (OpenAI / open_clip / timm-trunk layouts).
_CLIP_KEYS = ("visual.class_embedding", "visual.conv1.weight", "visual.trunk.pos_embed")


class Proxy(nn.Module):
    """A proxy ViT: ImageNet-normalised images -> (B, gh * gw, C) patch tokens of its last
    block after the final norm (what ``get_intermediate_layers(x)[0]`` gives in DINO and
    DINOv2), row-major over ``grid(images)``."""

    def __init__(self, spec: ProxySpec, vit: VisionTransformer) -> None:
        super().__init__()
        self.spec = spec
        self.vit = vit

    def grid(self, images: Tensor) -> tuple[int, int]:
        return images.shape[-2] // self.spec.patch, images.shape[-1] // self.spec.patch

    def positions(self, grid: tuple[int, int], dtype: torch.dtype) -> Tensor:
        """The position table for ``grid`` (the CLS entry first where the model has one)."""
        vit = self.vit
        native = self.spec.image_size // self.spec.patch
        if grid == (native, native):
            return vit.pos_embed.to(dtype)
        lead = 0 if vit.no_embed_class else vit.num_prefix_tokens
        return resize_positions(vit.pos_embed, lead, native, grid, self.spec.positions).to(dtype)

    def forward(self, images: Tensor) -> Tensor:
        vit = self.vit
        x = vit.patch_embed(images)  # (B, gh, gw, C): built with dynamic_img_size
        bsz, gh, gw, width = x.shape
        x = x.reshape(bsz, gh * gw, width)
        prefix = [vit.cls_token.expand(bsz, -1, -1)]
        if vit.reg_token is not None:
            prefix.append(vit.reg_token.expand(bsz, -1, -1))
        pos = self.positions((gh, gw), x.dtype)
        if vit.no_embed_class:  # DINOv2: registers carry no position
            x = torch.cat(prefix + [x + pos], dim=1)
        else:
            x = torch.cat(prefix + [x], dim=1) + pos
        x = vit.norm_pre(vit.patch_drop(vit.pos_drop(x)))
        x = vit.norm(vit.blocks(x))
        return x[:, vit.num_prefix_tokens :]


def resize_positions(
    table: Tensor, lead: int, native: int, grid: tuple[int, int], style: str
) -> Tensor:
    """``table`` (1, lead + native^2, C) for another patch grid, the ``lead`` entries kept.

    ``"dino"``: DINO's ``interpolate_pos_encoding``, bicubic with ``scale_factor
    (g + 0.1) / native`` per side (a scale, not a size). ``"dinov2"``: DINOv2's hub models
    (interpolate offset 0), bicubic to the size, antialiased. Computed in at least fp32."""
    kept, patches = table[:, :lead], table[:, lead:]
    width = table.shape[-1]
    work = torch.promote_types(table.dtype, torch.float32)
    square = patches.reshape(1, native, native, width).permute(0, 3, 1, 2).to(work)
    if style == "dino":
        scale = ((grid[0] + 0.1) / native, (grid[1] + 0.1) / native)
        square = F.interpolate(square, scale_factor=scale, mode="bicubic", align_corners=False)
        square = square[:, :, : grid[0], : grid[1]]
    elif style == "dinov2":
        square = F.interpolate(square, size=grid, mode="bicubic", antialias=True)
    else:
        raise ValueError(f"unknown position style {style!r}")
    resized = square.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], width).to(table.dtype)
    return torch.cat([kept, resized], dim=1)


def create_proxy(spec: ProxySpec) -> VisionTransformer:
    """timm's model for ``spec`` on the meta device: nothing allocated or initialised (timm's
    own init takes ~5 s for a ViT-B/8 and every weight is overwritten by the strict load)."""
    with torch.device("meta"):
        return timm.create_model(
            spec.timm_model,
            pretrained=False,
            num_classes=0,
            img_size=spec.image_size,
            dynamic_img_size=True,
        )


def load_proxy(name: str | ProxySpec, path: str) -> Proxy:
    """The proxy ``name`` with the weights of ``path`` (published torch-hub layout, or timm's
    own .pth / .bin / .safetensors), loaded strictly; fp32, eval mode, no gradients."""
    spec = proxy_spec(name) if isinstance(name, str) else name
    return build_proxy(spec, read_proxy_file(path), path)


def build_proxy(spec: ProxySpec, state_dict: Mapping[str, Tensor], source: str) -> Proxy:
    """``spec``'s model with ``state_dict`` (a published layout) loaded strictly; ``source``
    names the weights in messages."""
    check_signature(spec, state_dict, source)
    vit = create_proxy(spec)
    converted = checkpoint_filter_fn(dict(state_dict), vit)
    missing, unexpected, wrong, parts = key_mismatch(converted, vit.state_dict())
    if parts:
        raise CheckpointError(f"{source}: does not match {spec.display} ({'; '.join(parts)})")
    vit.load_state_dict(converted, strict=True, assign=True)
    proxy = Proxy(spec, vit).float().eval()
    return proxy.requires_grad_(False)


def read_proxy_file(path: str) -> dict[str, Tensor]:
    """A proxy's weights file as a state dict (safetensors by its suffix, else torch)."""
    if path.endswith(".safetensors"):
        try:
            return load_file(path)
        except Exception as err:  # noqa: BLE001 - any failure means "not loadable"
            raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from None
    return read_state_dict(path, wrappers=("state_dict", "model"))


def signature(state_dict: Mapping[str, Tensor]) -> dict[str, int] | None:
    """(patch, width, depth, registers) of a ViT state dict in the hub or timm layout;
    None where it is not one."""
    weight = state_dict.get("patch_embed.proj.weight")
    if weight is None or weight.ndim != 4:
        return None
    blocks = {int(m.group(1)) for k in state_dict if (m := re.match(r"blocks\.(\d+)\.", k))}
    registers = state_dict.get("register_tokens", state_dict.get("reg_token"))
    return {
        "patch": int(weight.shape[-1]),
        "width": int(weight.shape[0]),
        "depth": len(blocks),
        "registers": 0 if registers is None else int(registers.shape[1]),
    }


def check_signature(spec: ProxySpec, state_dict: Mapping[str, Tensor], source: str) -> None:
    """A file of another model is one line naming what it looks like (timm's filter would
    otherwise resample a wrong patch size silently)."""
    expected = {
        "patch": spec.patch,
        "width": spec.width,
        "depth": spec.depth,
        "registers": spec.registers,
    }
    found = signature(state_dict)
    if found == expected:
        return
    want = f"--proxy {spec.name} needs {spec.display} ({spec.file})"
    if any(key in state_dict for key in _CLIP_KEYS):
        raise CheckpointError(
            f"{source}: looks like a CLIP checkpoint, not a proxy's weights; {want}"
        )
    if found is None:
        raise CheckpointError(
            f"{source}: not a ViT checkpoint (no patch_embed.proj.weight); {want}"
        )
    shape = (found["patch"], found["registers"])
    other = [s.name for s in PROXIES.values() if (s.patch, s.registers) == shape]
    hint = f" (like --proxy {other[0]})" if other and other[0] != spec.name else ""
    raise CheckpointError(
        f"{source}: a ViT with patch {found['patch']}, width {found['width']}, "
        f"{found['depth']} blocks, {found['registers']} registers{hint}; {want}"
    )
