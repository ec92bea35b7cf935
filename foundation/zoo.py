"""The model zoo (docs/models.md): which family, weights and text settings each ``--method`` means.

Plain data and one resolving function, no torch: a bad method, vit-type or a missing file
is reported before anything heavy is imported. Adding a published model is one row.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from dataclasses import dataclass, field

from .errors import CheckpointError, ZooError
from .files import file_fingerprint, prefetch_fingerprint
from .open_clip_tags import clean_tag, is_tag_anywhere

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository


@dataclass(frozen=True)
class ZooEntry:
    """One published method.

    ``filename`` is a pattern under the checkpoint directory (``{vit}`` is the vit-type,
    ``{v}`` its short form: ViT-B-16 -> b16), or a tuple of accepted names (the first found
    is used); ``tag`` names hub weights instead. ``companions`` are files read with it, next
    to it (``{prefix}``: its name up to the last ``_``). ``quick_gelu``/``long_clip`` of None
    mean "from the flags" (``--fqg`` / ``--long-clip``, else detected from the weights).
    ``published`` says where the weights can be downloaded (printed when a file is missing);
    ``cuda_precision`` is the precision the published code ran on a GPU (the default there);
    ``domain`` groups methods as the published figure does ('remote sensing' / 'general').
    ``dense_path`` is the published last layer as (model_type, ignore_residual), used when
    no model_type is given (None: SegEarth with the configured ignore_residual), described in
    words by ``published_path``; ``cls_term`` says whether the published code adds the
    ``cls_token_lambda`` CLS term.
    """

    vit_types: tuple[str, ...] | None  # None: any model config of the family
    filename: str | tuple[str, ...] | None
    quick_gelu: bool | None
    long_clip: bool | None
    published: str
    tag: str | None = None
    family: str = "openclip"
    cuda_precision: str = "fp16"
    domain: str = "remote sensing"
    companions: tuple[str, ...] = ()
    dense_path: tuple[str, bool] | None = None
    published_path: str = ""
    cls_term: bool = True
    folder: str | None = None


_FARSLIP = "the FarSLIP authors' Hugging Face repository https://huggingface.co/ZhenShiL/FarSLIP"
_OPENAI = "OpenAI CLIP via open_clip's hub tags (needs network), or your own file with --pretrained"
# The general-domain models of the published figure (docs/models.md): where their files are,
# and their families with the published dense path ((model_type, ignore_residual), in words).
_CLIPSELF = "the CLIPSelf repository https://github.com/wusize/CLIPSelf (checkpoints table)"
_FINECLIP = "the FineCLIP repository https://github.com/Timsty1/FineCLIP (checkpoints)"
_COSMOS = "https://huggingface.co/sankim2/cosmos (cosmos_vitb16_merged30m.pt)"
_FLAIR = "https://huggingface.co/xiaorui638/flair (flair-cc3m-recap.pt)"
_TIPS = "the TIPS repository https://github.com/google-deepmind/tips (its download script)"
_EVA02 = dict(
    family="eva02",
    dense_path=("MaskCLIP", False),
    published_path="value-only last block with residual and FFN, no CLS term",
    cls_term=False,
)
_COSMOS_FAMILY = dict(
    family="cosmos",
    dense_path=("SCLIP", False),
    published_path="SCLIP attention (q-q + k-k) with residual and FFN, no CLS term",
    cls_term=False,
)
_FLAIR_FAMILY = dict(
    family="flair",
    dense_path=("SegEarth", True),
    published_path="SegEarth attention without residual; blocks 0-10 mix tokens here, "
    "not in the published code",
)
_TIPS_FAMILY = dict(
    family="tips",
    companions=("{prefix}_text.npz", "tokenizer.model"),
    dense_path=("SegEarth", True),
    published_path="SegEarth attention without residual",
)


def _general(vit_types: tuple[str, ...], filename, published: str, **family) -> ZooEntry:
    """A general-domain row: no QuickGELU/LongCLIP choice, fp32 as the published code ran."""
    return ZooEntry(
        vit_types,
        filename,
        False,
        False,
        published,
        cuda_precision="fp32",
        domain="general",
        **family,
    )


_B_L = ("ViT-B-16", "ViT-L-14")
_COSMOS_FILES = ("cosmos_vitb16_merged30m.pt", "cosmos_vitb16_merged30m_2.pt")  # release, seed
_TIPS_FILE = "tips_oss_{v}_highres_distilled_vision.npz"

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
    "CLIPSelf": _general(_B_L, "eva_vit{v}_coco_clipself_proposals.pt", _CLIPSELF, **_EVA02),
    "FineCLIP": _general(_B_L, "FineCLIP_coco_vit{v}.pt", _FINECLIP, **_EVA02),
    "COSMOS": _general(("ViT-B-16",), _COSMOS_FILES, _COSMOS, **_COSMOS_FAMILY),
    "FLAIR": _general(("ViT-B-16",), "flair-cc3m-recap.pt", _FLAIR, **_FLAIR_FAMILY),
    "TIPS": _general(("ViT-B-14", "ViT-L-14"), _TIPS_FILE, _TIPS, **_TIPS_FAMILY),
    # A toy: trained by tools/train_demo_clip.py on generated scenes, for --demo only.
    "DemoCLIP": ZooEntry(
        ("DemoCLIP-ViT-T-16",),
        "DemoCLIP.pt",
        False,
        False,
        "this repository (demo/DemoCLIP.pt; tools/train_demo_clip.py trains it again)",
        cuda_precision="fp32",
        domain="demo (toy)",
        folder="demo",
    ),
}
# The published CLI's spellings of the same methods.
ALIASES = {"cosmos": "COSMOS", "flair": "FLAIR", "tips": "TIPS"}
# Families whose image and text towers are open_clip's CLIP (QuickGELU is a choice there).
OPENCLIP_ARCHITECTURES = frozenset({"openclip", "cosmos", "flair"})


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
# ModelSource field -> the segmentor's config key (the published keys keep their names:
# ``model_name`` is the method, ``pretrained`` the checkpoint, ``fqg`` QuickGELU).
CONFIG_KEYS = {
    "method": "model_name",
    "vit_type": "vit_type",
    "checkpoint": "pretrained",
    "tag": "hub_tag",
    "quick_gelu": "fqg",
    "long_clip": "long_clip",
    "family": "family",
}


def source_to_config(source: ModelSource) -> dict:
    """The resolved weights as the segmentor's config keys (``long_clip`` as its flag value)."""
    values = {key: getattr(source, field) for field, key in CONFIG_KEYS.items()}
    values["long_clip"] = next(k for k, v in LONG_CLIP_FLAG.items() if v is source.long_clip)
    return values


def source_from_config(model_cfg) -> ModelSource:
    """The weights named by resolved config keys (``source_to_config`` read back): what the
    segmentor loads and what the run records, so the recorded fingerprint is the loaded one."""
    values = {field: model_cfg.get(key) for field, key in CONFIG_KEYS.items()}
    values["long_clip"] = LONG_CLIP_FLAG[values["long_clip"]]
    values["quick_gelu"] = bool(values["quick_gelu"])
    values["family"] = values["family"] or "openclip"
    return ModelSource(**values)


def short_vit(vit_type: str) -> str:
    """ViT-B-16 -> b16, as published file names spell it."""
    match = re.fullmatch(r"ViT-([A-Za-z]+)-(\d+)", vit_type)
    return f"{match.group(1).lower()}{match.group(2)}" if match else vit_type.lower()


def checkpoint_names(entry: ZooEntry, vit_type: str) -> tuple[str, ...]:
    """The file name(s) a zoo row accepts for a vit-type (first: the published one)."""
    names = entry.filename if isinstance(entry.filename, tuple) else (entry.filename,)
    return tuple(n.format(vit=vit_type, v=short_vit(vit_type)) for n in names if n)


def _first_present(folder: str, names: tuple[str, ...]) -> str:
    paths = [os.path.join(folder, n) for n in names]
    return next((p for p in paths if os.path.isfile(p)), paths[0])


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
    method = zoo_method(method)
    entry = MODEL_ZOO[method]
    if entry.vit_types is not None:  # the published spelling, case forgiven
        vit_type = next((v for v in entry.vit_types if v.lower() == vit_type.lower()), vit_type)
    if long_clip not in LONG_CLIP_FLAG:
        raise ZooError(f"--long-clip '{long_clip}': choose 'disable' or 'load_from_scratch'")
    if long_clip is not None and entry.family != "openclip":
        raise ZooError(f"--long-clip: --method {method} has no LongCLIP text tower (drop it)")
    if fqg and entry.family not in OPENCLIP_ARCHITECTURES:
        raise ZooError(f"--fqg: --method {method} is not an OpenCLIP architecture (drop it)")
    if entry.vit_types is not None and vit_type not in entry.vit_types and pretrained is None:
        raise ZooError(
            f"--method {method} is published for {' / '.join(entry.vit_types)}, not '{vit_type}' "
            "(pass --pretrained PATH to evaluate your own checkpoint of another size)"
        )
    long_request = LONG_CLIP_FLAG[long_clip] if long_clip is not None else entry.long_clip
    names = checkpoint_names(entry, vit_type)
    tag = entry.tag
    if pretrained is not None and entry.tag is not None and hub_tag(pretrained) is not None:
        checkpoint, tag = None, hub_tag(pretrained)  # open_clip weights by tag
    elif pretrained is not None:
        checkpoint: str | None = pretrained
        if names and os.path.isdir(pretrained):  # a folder holding the published file(s)
            checkpoint = _first_present(pretrained, names)
    elif names:
        folder = os.path.join(ROOT, entry.folder) if entry.folder else checkpoint_dir
        checkpoint = _first_present(folder, names)
    else:
        checkpoint = None
    return ModelSource(
        method=method,
        vit_type=vit_type,
        checkpoint=checkpoint,
        tag=None if checkpoint else tag,
        quick_gelu=bool(entry.quick_gelu) or bool(fqg),  # --fqg forces QuickGELU for any method
        long_clip=long_request,
        family=entry.family,
        published=entry.published,
    )


def _spelling(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def zoo_method(name: str) -> str:
    """The zoo's spelling of ``--method`` (case, '-', '_' and the published CLI's aliases
    forgiven), or one error line with a suggestion."""
    spellings = {_spelling(m): m for m in MODEL_ZOO}
    spellings.update({_spelling(a): m for a, m in ALIASES.items()})
    found = spellings.get(_spelling(name))
    if found is not None:
        return found
    close = difflib.get_close_matches(_spelling(name), list(spellings), n=1, cutoff=0.6)
    hint = f" (did you mean {spellings[close[0]]}?)" if close else ""
    raise ZooError(
        f"unknown --method '{name}'{hint}; choose one of {', '.join(MODEL_ZOO)} "
        "(eval_customized.py --list methods)"
    )


def hub_tag(pretrained: str) -> str | None:
    """``--pretrained`` read as an open_clip pretrained tag (e.g. laion2b_s34b_b88k): no
    such file or folder, no path separator, and a tag open_clip has for some model."""
    if os.path.exists(pretrained) or "/" in pretrained or os.sep in pretrained:
        return None
    return clean_tag(pretrained) if is_tag_anywhere(pretrained) else None


def companion_files(source: ModelSource) -> tuple[str, ...]:
    """The files read together with ``source.checkpoint`` (TIPS: text weights, tokenizer)."""
    entry = MODEL_ZOO.get(source.method)
    if entry is None or not entry.companions or source.checkpoint is None:
        return ()
    folder, name = os.path.split(source.checkpoint)
    prefix = name.rsplit("_", 1)[0]
    return tuple(os.path.join(folder, c.format(prefix=prefix)) for c in entry.companions)


def source_files(source: ModelSource) -> tuple[str, ...]:
    """Every file the weights of ``source`` are read from (none for hub weights)."""
    if source.checkpoint is None:
        return ()
    return (source.checkpoint, *companion_files(source))


def source_fingerprint(source: ModelSource, index: str | None = None) -> str:
    """The weights' identity: the file's sha256, or the hub tag. A missing file is an error."""
    if source.checkpoint is None:
        return f"tag:{source.tag}"
    check_checkpoint_exists(source)
    files = source_files(source)
    if len(files) == 1:
        return file_fingerprint(source.checkpoint, index)
    # several files (TIPS: vision, text, tokenizer): one hash of their hashes
    joined = "\n".join(file_fingerprint(path, index) for path in files)
    return "sha256:" + hashlib.sha256(joined.encode()).hexdigest()


def prefetch_source_fingerprint(source: ModelSource, index: str | None = None) -> None:
    """Start hashing the weights' files in the background (before the heavy imports)."""
    for path in source_files(source):
        prefetch_fingerprint(path, index)


def check_checkpoint_exists(source: ModelSource) -> None:
    """A missing file is one line: where it was expected and where it is published."""
    missing = [path for path in source_files(source) if not os.path.isfile(path)]
    if not missing:
        return
    entry = MODEL_ZOO.get(source.method)
    published = source.published or (entry.published if entry else "")
    names = checkpoint_names(entry, source.vit_type) if entry else ()
    also = (
        f" (also accepted: {', '.join(names[1:])})"
        if missing[0] == source.checkpoint and len(names) > 1
        else ""
    )
    what = "checkpoint not found" if len(missing) == 1 else "checkpoint files not found"
    raise CheckpointError(
        f"{what}: {', '.join(missing)}{also} (--method {source.method} --vit-type "
        f"{source.vit_type}; set --checkpoint-dir or --pretrained PATH); the weights are "
        f"published at {published}"
    )


def dense_path_label(
    method: str, model_type: str, ignore_residual: bool, cls_token_lambda: float
) -> str | None:
    """Whether a family's dense path is the published one or an extension of it, in words
    (None for the OpenCLIP methods, whose published path is the configured one)."""
    entry = MODEL_ZOO[ALIASES.get(method, method)]
    if entry.dense_path is None:
        return None
    if (model_type, bool(ignore_residual)) == entry.dense_path:
        label = f"published ({entry.published_path})"
    else:
        label = (
            f"extension: {model_type} attention, ignore_residual={bool(ignore_residual)} on the "
            f"{method} backbone (published: {entry.published_path})"
        )
    if cls_token_lambda and not entry.cls_term:
        label += "; the cls_token_lambda CLS term is an extension (published: none)"
    return label
