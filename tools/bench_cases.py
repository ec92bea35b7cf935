"""The rows of ``tools/benchmark.py methods`` as plain data (read before the heavy imports,
so that ``--help`` and flag errors stay fast)."""

from __future__ import annotations

from typing import NamedTuple

from foundation.methods import METHODS
from foundation.proxies import PROXIES


class Case(NamedTuple):
    """One row of the methods table: the dense method, its proxy, whether SimFeatUp runs."""

    model_type: str
    proxy: str | None = None
    upsampler: bool = False


REFERENCE = "SegEarth"
ATTENTION_CASES = {
    name: Case(name)
    for name, info in METHODS.items()
    if info.kind == "attention" and name != REFERENCE
}
METHOD_CASES = {
    REFERENCE: Case(REFERENCE),
    "SC-CLIP": Case("SC-CLIP"),
    **{f"ProxyCLIP/{name}": Case("ProxyCLIP", proxy=name) for name in PROXIES},
    "ResCLIP": Case("ResCLIP"),
    f"{REFERENCE}+SimFeatUp": Case(REFERENCE, upsampler=True),
}
CASES = {REFERENCE: METHOD_CASES[REFERENCE], **ATTENTION_CASES, **METHOD_CASES}
# Flags that pick one method; the methods mode runs them all (one row each).
PER_ROW_FLAGS = ("model_type", "proxy", "proxy_pretrained")
