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

from foundation.methods import canonical_method

from .attentions import ATTENTIONS
from .last_layer import LastLayerAttention
from .proxyclip import ProxyCLIP
from .resclip import ResCLIP
from .scclip import SCCLIP
from .tower import DenseFeatures, Tower


class DenseMethod(Protocol):
    """A window batch's dense features; ``needs_queries``: the features depend on the text
    queries (ResCLIP's feedback pass), which are then passed in."""

    needs_queries: bool

    def __call__(self, images: Tensor, queries: Tensor | None = None) -> DenseFeatures: ...

    def facts(self) -> dict:
        """What the method decided or counted while running (recorded with the results)."""
        ...


# name -> builder(tower, ignore_residual, **method options), the names of
# foundation.methods.METHODS (where their options and published defaults are listed).
METHODS: dict[str, Callable[..., DenseMethod]] = {
    **{name: partial(LastLayerAttention, attention=fn) for name, fn in ATTENTIONS.items()},
    "SC-CLIP": SCCLIP,
    "ProxyCLIP": ProxyCLIP,
    "ResCLIP": ResCLIP,
}


def build_method(
    name: str, tower: Tower, ignore_residual: bool = True, **options: object
) -> DenseMethod:
    """The method ``name`` (any spelling ``foundation.methods`` accepts) on ``tower``, with
    ``options`` over its published defaults."""
    name = canonical_method(name)
    return METHODS[name](tower, ignore_residual=ignore_residual, **options)


__all__ = [
    "ATTENTIONS",
    "METHODS",
    "DenseFeatures",
    "DenseMethod",
    "Tower",
    "build_method",
]
