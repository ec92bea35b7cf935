"""The OpenCLIP / LongCLIP model: building through open_clip, strict checkpoint loading,
LongCLIP's two position tables, and the text forward cut at the end-of-text token."""

from .model import (
    DTYPES,
    HARMLESS_EXTRAS,
    LONG_CONTEXT,
    LONG_KEEP,
    LoadedModel,
    build_model,
    create_unloaded,
    describe_vision,
    fold_long_positions,
    is_long_clip,
    load_clip,
    load_into,
    read_state_dict,
    skip_init,
    strip_prefixes,
)
from .text import encode_text_upto_eot

__all__ = [
    "DTYPES",
    "HARMLESS_EXTRAS",
    "LONG_CONTEXT",
    "LONG_KEEP",
    "LoadedModel",
    "build_model",
    "create_unloaded",
    "describe_vision",
    "encode_text_upto_eot",
    "fold_long_positions",
    "is_long_clip",
    "load_clip",
    "load_into",
    "read_state_dict",
    "skip_init",
    "strip_prefixes",
]
