"""The model zoo of SPEC §2: which weights and text-tower settings each ``--method`` means."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ZooEntry:
    """One published method.

    ``filename`` is a pattern under the checkpoint directory (``{vit}`` is the vit-type);
    ``tag`` names hub weights instead. ``quick_gelu``/``long_clip`` of None mean "from the
    flags" (``--fqg`` / ``--long-clip``, else detected from the weights).
    """

    vit_types: tuple[str, ...] | None  # None: any OpenCLIP config
    filename: str | None
    quick_gelu: bool | None
    long_clip: bool | None
    tag: str | None = None


MODEL_ZOO: dict[str, ZooEntry] = {
    "FarSLIP1": ZooEntry(("ViT-B-32", "ViT-B-16"), "FarSLIP1_{vit}.pt", True, False),
    "FarSLIP2": ZooEntry(("ViT-B-32", "ViT-B-16"), "FarSLIP2_{vit}.pt", True, True),
    "FarSLIP2-VC": ZooEntry(("ViT-B-32", "ViT-B-16"), "FarSLIP2_VC_{vit}.pt", True, False),
    "RemoteCLIP": ZooEntry(("ViT-B-32", "ViT-L-14"), "RemoteCLIP-{vit}.pt", False, False),
    # GeoRSCLIP: quick_gelu off, as the published table ran it.
    "GeoRSCLIP": ZooEntry(("ViT-B-32", "ViT-L-14", "ViT-H-14"), "RS5M_{vit}.pt", False, False),
    "SkyCLIP": ZooEntry(("ViT-B-32", "ViT-L-14"), "SkyCLIP_{vit}.pt", False, False),
    "LRSCLIP": ZooEntry(("ViT-B-16",), "LRSCLIP_{vit}.pt", True, True),
    "CLIP": ZooEntry(None, None, None, None, tag="openai"),
    "MetaCLIP": ZooEntry(("ViT-B-16", "ViT-B-32"), None, True, False, tag="metaclip_fullcc"),
}


class ZooError(ValueError):
    """A method/vit-type/flag combination the zoo cannot serve."""


@dataclass(frozen=True)
class ModelSource:
    """Where the weights come from and which text settings apply (flags already folded in)."""

    method: str
    vit_type: str
    checkpoint: str | None  # a file, or None for hub weights by ``tag``
    tag: str | None
    quick_gelu: bool
    long_clip: bool | None  # None: detect from the weights

    @property
    def label(self) -> str:
        return self.checkpoint or f"{self.tag} (hub tag)"


def resolve_source(
    method: str,
    vit_type: str,
    pretrained: str | None = None,
    checkpoint_dir: str = "checkpoints",
    fqg: bool = False,
    long_clip: str | None = None,
) -> ModelSource:
    """Fold the zoo row and the flags into one ModelSource.

    ``long_clip`` is the ``--long-clip`` flag: None, 'disable' or 'load_from_scratch'.
    A zoo row that fixes LongCLIP is itself a request; the weights must agree with it.
    """
    if method not in MODEL_ZOO:
        raise ZooError(f"unknown --method '{method}'; choose one of {', '.join(MODEL_ZOO)}")
    entry = MODEL_ZOO[method]
    if long_clip not in (None, "disable", "load_from_scratch"):
        raise ZooError(f"--long-clip '{long_clip}': choose 'disable' or 'load_from_scratch'")
    if entry.vit_types is not None and vit_type not in entry.vit_types and pretrained is None:
        raise ZooError(
            f"--method {method} is published for {' / '.join(entry.vit_types)}, not '{vit_type}' "
            "(pass --pretrained PATH to evaluate your own checkpoint of another size)"
        )
    quick_gelu = bool(entry.quick_gelu) or fqg  # --fqg forces QuickGELU for any method
    if long_clip is not None:
        long_request: bool | None = long_clip == "load_from_scratch"
    else:
        long_request = entry.long_clip
    if pretrained is not None:
        checkpoint: str | None = pretrained
    elif entry.filename is not None:
        checkpoint = os.path.join(checkpoint_dir, entry.filename.format(vit=vit_type))
    else:
        checkpoint = None
    return ModelSource(
        method=method,
        vit_type=vit_type,
        checkpoint=checkpoint,
        tag=None if checkpoint else entry.tag,
        quick_gelu=quick_gelu,
        long_clip=long_request,
    )
