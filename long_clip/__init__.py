"""The OpenCLIP / LongCLIP model: building through open_clip, strict checkpoint loading,
LongCLIP's two position tables, and the text forward cut at the end-of-text token."""

from .model import (
    HARMLESS_EXTRAS,
    LONG_CONTEXT,
    LONG_KEEP,
    LoadedModel,
    build_model,
    describe_vision,
    fold_long_positions,
    is_long_clip,
    load_clip,
    load_into,
)
from .text import encode_text_upto_eot

__all__ = [
    "HARMLESS_EXTRAS",
    "LONG_CONTEXT",
    "LONG_KEEP",
    "LoadedModel",
    "build_model",
    "describe_vision",
    "encode_text_upto_eot",
    "fold_long_positions",
    "is_long_clip",
    "load_clip",
    "load_into",
]
