"""One converter per dataset, from its official download to the layout of ``configs/``.

Each module's docstring states its facts (raw files, split, tiling, names, label values,
expected count), read from the published converters (mmsegmentation's and SegEarth-OV's
``tools/dataset_converters``); ``common.py`` holds what they share. ``find`` resolves the
name a user types (``potsdam``, ``Potsdam``, ``PotsdamDataset``, ``WHU-Sat.II``, ...).
"""

from __future__ import annotations

import re

from foundation.errors import ConfigError

from . import (
    chn6_cug,
    inria,
    isaid,
    loveda,
    openearthmap,
    potsdam,
    road_sets,
    uavid,
    udd5,
    vaihingen,
    vdd,
    wbs_si,
    whu_aerial,
    whu_sat2,
    xbd,
)
from .common import Converter

CONVERTERS: dict[str, Converter] = {
    c.name: c
    for c in (
        openearthmap.CONVERTER,
        loveda.CONVERTER,
        potsdam.CONVERTER,
        vaihingen.CONVERTER,
        udd5.CONVERTER,
        vdd.CONVERTER,
        uavid.CONVERTER,
        isaid.CONVERTER,
        whu_aerial.CONVERTER,
        whu_sat2.CONVERTER,
        inria.CONVERTER,
        xbd.CONVERTER,
        chn6_cug.CONVERTER,
        road_sets.DEEPGLOBE,
        road_sets.MASSACHUSETTS,
        road_sets.SPACENET,
        wbs_si.CONVERTER,
    )
}
BY_DATASET: dict[str, Converter] = {c.dataset: c for c in CONVERTERS.values()}


def _norm(name: str) -> str:
    name = re.sub(r"[^a-z0-9]", "", name.lower())
    return name[: -len("dataset")] if name.endswith("dataset") and name != "dataset" else name


_ALIASES: dict[str, Converter] = {}
for _c in CONVERTERS.values():
    for _alias in (_c.name, _c.dataset, *_c.aliases):
        _ALIASES[_norm(_alias)] = _c
_ALIASES[_norm("ISPRS")] = vaihingen.CONVERTER  # mmseg's dataset type for Vaihingen


def find(name: str) -> Converter:
    """The converter for a dataset name (case, '-', '_' and a 'Dataset' ending ignored)."""
    found = _ALIASES.get(_norm(name))
    if found is None:
        raise ConfigError(f"unknown dataset '{name}'; choose one of {', '.join(CONVERTERS)}")
    return found
