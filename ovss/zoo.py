"""The model zoo (SPEC §2): which family, weights and text settings each ``--method`` means.

Plain data and one resolving function, no torch: a bad method, vit-type or a missing file
is reported before anything heavy is imported. Adding a published model is one row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .errors import CheckpointError, ZooError


@dataclass(frozen=True)
class ZooEntry:
    """One published method.

    ``filename`` is a pattern under the checkpoint directory (``{vit}`` is the vit-type);
    ``tag`` names hub weights instead. ``quick_gelu``/``long_clip`` of None mean "from the
    flags" (``--fqg`` / ``--long-clip``, else detected from the weights). ``published`` says
    where the weights can be downloaded (printed when the file is missing);
    ``cuda_precision`` is the precision the published code ran on a GPU (the default there);
    ``domain`` groups methods as the published figure does ('remote sensing' / 'general').
    """

    vit_types: tuple[str, ...] | None  # None: any model config of the family
    filename: str | None
    quick_gelu: bool | None
    long_clip: bool | None
    published: str
    tag: str | None = None
    family: str = "openclip"
    cuda_precision: str = "fp16"
    domain: str = "remote sensing"


_FARSLIP = "the FarSLIP authors' Hugging Face repository https://huggingface.co/ZhenShiL/FarSLIP"
_OPENAI = "OpenAI CLIP via open_clip's hub tags (needs network), or your own file with --pretrained"

MODEL_ZOO: dict[str, ZooEntry] = {
    "FarSLIP1": ZooEntry(("ViT-B-32", "ViT-B-16"), "FarSLIP1_{vit}.pt", True, False, _FARSLIP),
    "FarSLIP2": ZooEntry(("ViT-B-32", "ViT-B-16"), "FarSLIP2_{vit}.pt", True, True, _FARSLIP),
    "FarSLIP2-VC": ZooEntry(
        ("ViT-B-32", "ViT-B-16"), "FarSLIP2_VC_{vit}.pt", True, False, _FARSLIP
    ),
    "RemoteCLIP": ZooEntry(
        ("ViT-B-32", "ViT-L-14"),
        "RemoteCLIP-{vit}.pt",
        False,
        False,
        "https://huggingface.co/chendelong/RemoteCLIP",
    ),
    # GeoRSCLIP: quick_gelu off, as the published table ran it.
    "GeoRSCLIP": ZooEntry(
        ("ViT-B-32", "ViT-L-14", "ViT-H-14"),
        "RS5M_{vit}.pt",
        False,
        False,
        "https://huggingface.co/Zilun/GeoRSCLIP",
    ),
    "SkyCLIP": ZooEntry(
        ("ViT-B-32", "ViT-L-14"),
        "SkyCLIP_{vit}.pt",
        False,
        False,
        "the SkyScript repository https://github.com/wangzhecheng/SkyScript (rename the "
        "downloaded epoch_20.pt)",
    ),
    "LRSCLIP": ZooEntry(
        ("ViT-B-16",),
        "LRSCLIP_{vit}.pt",
        True,
        True,
        "the LRSCLIP repository https://github.com/MitsuiChen14/LRSCLIP",
    ),
    "CLIP": ZooEntry(None, None, None, None, _OPENAI, tag="openai", domain="general"),
    "MetaCLIP": ZooEntry(
        ("ViT-B-16", "ViT-B-32"),
        None,
        True,
        False,
        "https://github.com/facebookresearch/MetaCLIP (b16/b32_fullcc2.5b.pt)",
        tag="metaclip_fullcc",
        domain="general",
    ),
}


@dataclass(frozen=True)
class ModelSource:
    """Where the weights come from and which text settings apply (zoo and flags folded in)."""

    method: str
    vit_type: str
    checkpoint: str | None  # a file, or None for hub weights by ``tag``
    tag: str | None
    quick_gelu: bool
    long_clip: bool | None  # None: detect from the weights
    family: str = "openclip"
    published: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        return self.checkpoint or f"{self.tag} (hub tag)"


LONG_CLIP_FLAG = {None: None, "disable": False, "load_from_scratch": True}


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
    if long_clip not in LONG_CLIP_FLAG:
        raise ZooError(f"--long-clip '{long_clip}': choose 'disable' or 'load_from_scratch'")
    if entry.vit_types is not None and vit_type not in entry.vit_types and pretrained is None:
        raise ZooError(
            f"--method {method} is published for {' / '.join(entry.vit_types)}, not '{vit_type}' "
            "(pass --pretrained PATH to evaluate your own checkpoint of another size)"
        )
    long_request = LONG_CLIP_FLAG[long_clip] if long_clip is not None else entry.long_clip
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
        quick_gelu=bool(entry.quick_gelu) or bool(fqg),  # --fqg forces QuickGELU for any method
        long_clip=long_request,
        family=entry.family,
        published=entry.published,
    )


def check_checkpoint_exists(source: ModelSource) -> None:
    """A missing file is one line: where it was expected and where it is published."""
    if source.checkpoint is None or os.path.isfile(source.checkpoint):
        return
    raise CheckpointError(
        f"checkpoint not found: {source.checkpoint} (--method {source.method} --vit-type "
        f"{source.vit_type}; set --checkpoint-dir or --pretrained PATH); the weights are "
        f"published at {source.published}"
    )
