"""Build OpenCLIP / LongCLIP models through open_clip's factory and load checkpoints strictly.

LongCLIP (docs/models.md) differs from OpenCLIP only in its text positions: 248 of them, with
position i taken from ``positional_embedding`` if i < 20 and from
``positional_embedding_res`` otherwise. We build an OpenCLIP model with context length 248
and fold the two tables into its one table when loading, so open_clip's own
``encode_text`` runs unchanged (the fold selects rows; it is exact).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import open_clip
import torch
from torch import nn

from foundation.builders import DTYPES, create_unloaded
from foundation.checkpoints import key_mismatch, read_state_dict
from foundation.errors import CheckpointError
from foundation.peek import FAMILY_NAMES, guess_family
from foundation.profile import stage
from foundation.zoo import MODEL_ZOO, ModelSource, source_fingerprint

LONG_CONTEXT = 248
LONG_KEEP = 20  # LongCLIP positions below this use table 1, the rest table 2

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


@dataclass(frozen=True)
class LoadedModel:
    """A ready CLIP model and what was actually loaded into it."""

    model: nn.Module
    source: ModelSource
    long_clip: bool  # effective (requested or detected)
    fingerprint: str  # sha256 of the checkpoint file, or the hub tag
    context_length: int


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


def load_into(model: nn.Module, state_dict: dict[str, torch.Tensor], where: str) -> None:
    """Strict load: every key present, none unexpected, every shape equal, or one error line."""
    state_dict = {k: v for k, v in state_dict.items() if k not in HARMLESS_EXTRAS}
    expected = model.state_dict()
    missing, unexpected, wrong, parts = key_mismatch(state_dict, expected)
    if parts:
        cause = _cause(state_dict, expected, missing + unexpected + wrong)
        raise CheckpointError(f"{where}: {'; '.join([cause, *parts])}")
    model.load_state_dict(state_dict, strict=True)


def _cause(given: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], keys: list) -> str:
    """Why an OpenCLIP load failed, judged from the differing ``keys``."""
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
