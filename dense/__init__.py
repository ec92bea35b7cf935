"""How a window's dense features are computed from a family's image tower.

A method reads the backbone through one small interface (``dense.tower``); the nine
last-layer attentions are the simplest methods. The SimFeatUp upsampler also lives here: it
takes a method's patch features to pixel resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol

from torch import Tensor

from .attentions import ATTENTIONS
from .last_layer import LastLayerAttention
from .tower import DenseFeatures, Tower


class DenseMethod(Protocol):
    """A window batch's dense features; ``needs_queries``: the features depend on the text
    queries (ResCLIP's feedback pass), which are then passed in."""

    needs_queries: bool

    def __call__(self, images: Tensor, queries: Tensor | None = None) -> DenseFeatures: ...


# name -> builder(tower, ignore_residual, **method options). The nine attentions first.
METHODS: dict[str, Callable[..., DenseMethod]] = {
    name: partial(LastLayerAttention, attention=fn) for name, fn in ATTENTIONS.items()
}
ALIASES: dict[str, str] = {}


def canonical(name: str) -> str:
    """The table's spelling of a method name (aliases and case forgiven), or the name."""
    name = ALIASES.get(name, name)
    if name in METHODS:
        return name
    lower = {m.lower(): m for m in METHODS} | {a.lower(): m for a, m in ALIASES.items()}
    return lower.get(name.lower(), name)


def build_method(
    name: str, tower: Tower, ignore_residual: bool = True, **options: object
) -> DenseMethod:
    """The method ``name`` of ``METHODS`` on ``tower``."""
    name = canonical(name)
    if name not in METHODS:
        raise KeyError(f"model_type '{name}': choose one of {', '.join(METHODS)}")
    return METHODS[name](tower, ignore_residual=ignore_residual, **options)


__all__ = [
    "ALIASES",
    "ATTENTIONS",
    "METHODS",
    "DenseFeatures",
    "DenseMethod",
    "Tower",
    "build_method",
    "canonical",
]
