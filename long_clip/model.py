"""Build OpenCLIP / LongCLIP models through open_clip's factory and load checkpoints strictly.

LongCLIP (SPEC §3) differs from OpenCLIP only in its text positions: 248 of them, with
position i taken from ``positional_embedding`` if i < 20 and from
``positional_embedding_res`` otherwise. We build an OpenCLIP model with context length 248
and fold the two tables into its one table when loading, so open_clip's own
``encode_text`` runs unchanged (the fold selects rows; it is exact).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import open_clip
import torch
from torch import nn

from ovss.errors import CheckpointError
from ovss.profile import stage
from ovss.zoo import MODEL_ZOO, ModelSource, source_fingerprint

LONG_CONTEXT = 248
LONG_KEEP = 20  # LongCLIP positions below this use table 1, the rest table 2
PREFIXES = ("module.", "_orig_mod.")  # DDP and torch.compile wrappers
# Keys that real checkpoints carry and that do not belong to the model, accepted on purpose:
HARMLESS_EXTRAS = frozenset(
    {
        "mask1",  # LongCLIP's 0/1 position masks (they encode LONG_KEEP)
        "mask2",
        "input_resolution",  # OpenAI-format metadata
        "context_length",
        "vocab_size",
    }
)
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class LoadedModel:
    """A ready CLIP model and what was actually loaded into it."""

    model: nn.Module
    source: ModelSource
    long_clip: bool  # effective (requested or detected)
    fingerprint: str  # sha256 of the checkpoint file, or the hub tag
    context_length: int


def read_state_dict(path: str, wrappers: tuple[str, ...] = ("state_dict",)) -> dict:
    """A checkpoint file as a plain state_dict: the first of ``wrappers`` present (training
    runs save ``{'state_dict': ...}``), else the file itself; ``module.`` / ``_orig_mod.``
    prefixes stripped. Read with ``weights_only=True`` (no code runs) and memory-mapped
    where the format allows (a ViT-B file in ~0.1 s instead of ~0.5 s: the strict load copies
    what it needs). OpenAI's original files are TorchScript archives: those are read with
    torch.jit.load (no pickle involved) and give the same keys plus OpenAI's metadata.
    """
    try:
        obj = _torch_load(path)
    except Exception as err:  # noqa: BLE001 - any failure here means "not loadable"
        obj = _read_torchscript(path)
        if obj is None:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(
                f"{path}: not a loadable PyTorch checkpoint with weights_only=True ({first[:160]})"
            ) from None
    if isinstance(obj, dict):
        for key in wrappers:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(
            f"{path}: not a state_dict (expected a dict of tensors, or one under "
            f"{' / '.join(repr(w) for w in wrappers)})"
        )
    return {strip_prefixes(k): v for k, v in obj.items()}


def _torch_load(path: str):
    with warnings.catch_warnings():  # a TorchScript archive is handled by our fallback
        warnings.filterwarnings("ignore", message=".*looks like a TorchScript archive")
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # a legacy (non-zip) file cannot be memory-mapped
            return torch.load(path, map_location="cpu", weights_only=True)


def _read_torchscript(path: str) -> dict[str, torch.Tensor] | None:
    try:
        with warnings.catch_warnings():  # torch 2.14 deprecates jit.load; OpenAI files need it
            warnings.simplefilter("ignore", FutureWarning)
            return dict(torch.jit.load(path, map_location="cpu").state_dict())
    except Exception:  # noqa: BLE001 - not a TorchScript archive either
        return None


def strip_prefixes(key: str) -> str:
    """``module.`` / ``_orig_mod.`` removed (repeatedly: DDP around a compiled model)."""
    stripped = True
    while stripped:
        stripped = False
        for prefix in PREFIXES:
            if key.startswith(prefix):
                key, stripped = key[len(prefix) :], True
    return key


def is_long_clip(state_dict: dict[str, torch.Tensor]) -> bool:
    """LongCLIP text tower: 248 position rows and a second (``_res``) table."""
    pos = state_dict.get("positional_embedding")
    return (
        pos is not None
        and pos.shape[0] == LONG_CONTEXT
        and "positional_embedding_res" in state_dict
    )


def describe_vision(state_dict: dict[str, torch.Tensor]) -> str:
    """Width, patch, grid and depth as read from the weights (for error messages)."""
    conv = state_dict.get("visual.conv1.weight")
    pos = state_dict.get("visual.positional_embedding")
    if conv is None or pos is None:
        return "no ViT image tower"
    blocks = {
        int(m.group(1))
        for k in state_dict
        if (m := re.match(r"visual\.transformer\.resblocks\.(\d+)\.", k))
    }
    grid = round((pos.shape[0] - 1) ** 0.5)
    return (
        f"width {conv.shape[0]}, patch {conv.shape[-1]}, grid {grid}x{grid}, {len(blocks)} blocks"
    )


def fold_long_positions(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One 248-row table: rows < 20 from ``positional_embedding``, the rest from ``_res``."""
    folded = dict(state_dict)
    table, res = folded["positional_embedding"], folded.pop("positional_embedding_res")
    folded["positional_embedding"] = torch.cat([table[:LONG_KEEP], res[LONG_KEEP:]])
    return folded


_INIT_FUNCTIONS = (
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
)


@contextmanager
def skip_init() -> Iterator[None]:
    """torch.nn.init does nothing inside: random initialisation is wasted work when a strict
    load overwrites every parameter right after (measured: README, Performance)."""
    saved = {name: getattr(nn.init, name) for name in _INIT_FUNCTIONS}
    try:
        for name in saved:
            setattr(nn.init, name, _keep)
        yield
    finally:
        for name, function in saved.items():
            setattr(nn.init, name, function)


def _keep(tensor: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    return tensor


def build_model(vit_type: str, quick_gelu: bool, long_clip: bool) -> nn.Module:
    """An OpenCLIP model through open_clip's factory (fp32, CPU), its weights NOT
    initialised: the caller loads every one of them strictly."""
    if vit_type not in open_clip.list_models():
        raise CheckpointError(
            f"--vit-type '{vit_type}' is not an OpenCLIP model config "
            "(see open_clip.list_models(), or register yours with --model-config)"
        )
    return create_unloaded(
        vit_type,
        force_quick_gelu=quick_gelu,
        force_context_length=LONG_CONTEXT if long_clip else None,
    )


def create_unloaded(name: str, **kwargs) -> nn.Module:
    """``open_clip.create_model(name, **kwargs)`` with no weights loaded and none initialised
    (``skip_init``), for a caller that loads every one of them strictly right after."""
    # open_clip warns "initialized randomly": true, but the weights are loaded right after.
    quiet = _DropMessage("No pretrained weights loaded")
    logging.getLogger().addFilter(quiet)
    try:
        with skip_init():
            return open_clip.create_model(name, pretrained=None, **kwargs)
    finally:
        logging.getLogger().removeFilter(quiet)


class _DropMessage(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefix)


def load_into(model: nn.Module, state_dict: dict[str, torch.Tensor], where: str) -> None:
    """Strict load: every key present, none unexpected, every shape equal, or one error line."""
    state_dict = {k: v for k, v in state_dict.items() if k not in HARMLESS_EXTRAS}
    expected = model.state_dict()
    from model_families.checkpoints import key_mismatch  # (import cycle)

    missing, unexpected, wrong, parts = key_mismatch(state_dict, expected)
    if parts:
        cause = _cause(state_dict, expected, missing + unexpected + wrong)
        raise CheckpointError(f"{where}: {'; '.join([cause, *parts])}")
    model.load_state_dict(state_dict, strict=True)


def _cause(given: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], keys: list) -> str:
    """Why an OpenCLIP load failed, judged from the differing ``keys``."""
    from model_families.checkpoints import FAMILY_NAMES, guess_family  # (import cycle)

    other = guess_family(given)
    if other not in (None, "openclip"):
        return f"looks like {FAMILY_NAMES[other]} checkpoint ({_methods_of(other)})"
    if "visual.conv1.weight" not in given and "token_embedding.weight" not in given:
        return "not a CLIP checkpoint"
    if any(k.startswith("visual.") for k in keys):
        return (
            f"image tower does not match --vit-type (weights: {describe_vision(given)}; "
            f"model: {describe_vision(expected)}): wrong --vit-type?"
        )
    return "text tower does not match the --vit-type config (wrong --vit-type?)"


def _methods_of(family: str) -> str:
    return "use --method " + " or ".join(m for m, e in MODEL_ZOO.items() if e.family == family)


def load_clip(source: ModelSource, device: str = "cpu", precision: str = "fp32") -> LoadedModel:
    """Build the model for ``source`` and load its weights (file or hub tag), strictly."""
    with stage("checkpoint hash"):
        fingerprint = source_fingerprint(source)
    if source.checkpoint is None:
        model, long_clip = _load_by_tag(source), False
    else:
        path = source.checkpoint
        with stage("checkpoint read"):
            state_dict = read_state_dict(path)
        detected = is_long_clip(state_dict)
        if source.long_clip is True and not detected:
            rows = state_dict.get("positional_embedding", torch.empty(0)).shape[0]
            raise CheckpointError(
                f"{path}: LongCLIP requested (--long-clip load_from_scratch or --method "
                f"{source.method}) but the weights are not LongCLIP (positional_embedding has "
                f"{rows} rows, no positional_embedding_res)"
            )
        if source.long_clip is False and detected:
            raise CheckpointError(
                f"{path}: LongCLIP weights (248-row positional tables) loaded without LongCLIP "
                f"(--method {source.method} / --long-clip disable); use a LongCLIP method or "
                "drop --long-clip disable"
            )
        long_clip = detected
        with stage("model build"):
            model = build_model(source.vit_type, source.quick_gelu, long_clip)
        with stage("weights load"):
            load_into(model, fold_long_positions(state_dict) if long_clip else state_dict, path)
    with stage("model to device"):
        model = model.to(device=device, dtype=DTYPES[precision]).eval()
    return LoadedModel(
        model=model,
        source=source,
        long_clip=long_clip,
        fingerprint=fingerprint,
        context_length=int(model.context_length),
    )


def _load_by_tag(source: ModelSource) -> nn.Module:
    """Hub weights (OpenAI, MetaCLIP); offline, say which file to place instead."""
    if source.long_clip:
        raise CheckpointError(
            "--long-clip load_from_scratch needs a LongCLIP checkpoint file: pass --pretrained "
            f"PATH (hub tag '{source.tag}' holds 77-position CLIP weights)"
        )
    cfg = open_clip.get_pretrained_cfg(source.vit_type, source.tag or "")
    if not cfg:
        raise CheckpointError(
            f"open_clip has no '{source.tag}' weights for --vit-type {source.vit_type}; "
            "pass --pretrained PATH"
        )
    try:
        return open_clip.create_model(
            source.vit_type, pretrained=source.tag, force_quick_gelu=source.quick_gelu
        )
    except Exception as err:  # noqa: BLE001 - download/network failures come in many types
        files = []
        if cfg.get("hf_hub"):
            files.append(f"hf-hub {cfg['hf_hub'].rstrip('/')} file open_clip_pytorch_model.bin")
        if cfg.get("url"):
            files.append(cfg["url"])
        raise CheckpointError(
            f"could not fetch '{source.tag}' weights for {source.vit_type} "
            f"({type(err).__name__}; no network?): download {' or '.join(files) or 'them'} "
            f"elsewhere, place the file e.g. in checkpoints/, and pass --pretrained PATH"
        ) from None
