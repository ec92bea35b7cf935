"""Building models without initialising them, and the precisions they run in.

Every family builds its architecture and then loads every weight strictly, so random
initialisation is wasted work (measured: README, Performance); these helpers skip it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import open_clip
import torch
from torch import nn

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

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
