"""One converter per dataset, from its official download to the layout of ``configs/``.

Each module's docstring states its facts (raw files, split, tiling, names, label values,
expected count), read from the published converters (mmsegmentation's and SegEarth-OV's
``tools/dataset_converters``). What they share, one job a module: ``raw_index`` (the RAW
files as entries), ``decode`` (images and labels), ``palettes`` (label colours from the
registered palettes), ``tiling`` (crop positions and crop jobs), ``writing`` (where and how
files are written), ``pool`` (running the jobs), ``converter`` (the ``Converter`` record and
the untiled plan); ``convert`` runs a conversion and the label check for
``tools/prepare_dataset.py``.

The names, titles and protocol counts are ``foundation.datasets``'s; ``find`` resolves the
name a user types (``potsdam``, ``Potsdam``, ``PotsdamDataset``, ``WHU-Sat.II``, ...).
"""

from __future__ import annotations

from foundation.datasets import DATASETS, lookup, suggestion
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
from .converter import Converter

BY_DATASET: dict[str, Converter] = {
    c.dataset: c
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
# Canonical name -> converter, in the order of foundation.datasets.
CONVERTERS: dict[str, Converter] = {
    DATASETS[t].name: BY_DATASET[t] for t in DATASETS if t in BY_DATASET
}


def find(name: str) -> Converter:
    """The converter for a dataset name: any spelling ``foundation.datasets.lookup`` accepts
    (case, '-', '_', '.', spaces and a 'Dataset' ending ignored; aliases)."""
    dataset = lookup(name)
    if dataset not in BY_DATASET:
        raise ConfigError(
            f"unknown dataset '{name}'{suggestion(name)}; choose one of "
            f"{', '.join(CONVERTERS)} (prepare_dataset.py list)"
        )
    return BY_DATASET[dataset]
