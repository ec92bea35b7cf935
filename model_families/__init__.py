"""Model families behind one interface (``DenseCLIP``), registered in one table.

A family is one module with a ``load(source, device, precision) -> DenseCLIP`` function;
a zoo row (``ovss/zoo.py``) names its family. The segmentor and the CLI know only this
table and the interface. OpenCLIP/LongCLIP (``openclip``), EVA02-CLIP for CLIPSelf and
FineCLIP (``eva02``), COSMOS and FLAIR (open_clip architectures with their own file formats)
and TIPS (timm image tower, its own text tower).
"""

from __future__ import annotations

from collections.abc import Callable

from foundation.errors import ZooError
from foundation.zoo import ModelSource

from . import cosmos, eva02, flair, openclip, tips
from .base import CLIP_PREPROCESS, DenseCLIP
from .text import clear_memory_cache, encode_queries, query_features, text_cache_key

FAMILIES: dict[str, Callable[[ModelSource, str, str], DenseCLIP]] = {
    "openclip": openclip.load,
    "eva02": eva02.load,
    "cosmos": cosmos.load,
    "flair": flair.load,
    "tips": tips.load,
}

_LOADED: dict[tuple, DenseCLIP] = {}  # one model per process, shared across datasets


def load_model(source: ModelSource, device: str = "cpu", precision: str = "fp32") -> DenseCLIP:
    """Build and strictly load ``source`` once per (weights, settings, device, precision)."""
    if source.family not in FAMILIES:
        raise ZooError(f"unknown model family '{source.family}'; known: {', '.join(FAMILIES)}")
    key = (source, device, precision)
    if key not in _LOADED:
        _LOADED.clear()  # keep one model in memory
        _LOADED[key] = FAMILIES[source.family](source, device, precision).eval()
    return _LOADED[key]


__all__ = [
    "CLIP_PREPROCESS",
    "FAMILIES",
    "DenseCLIP",
    "clear_memory_cache",
    "encode_queries",
    "load_model",
    "query_features",
    "text_cache_key",
]
