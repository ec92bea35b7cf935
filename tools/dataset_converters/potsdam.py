"""ISPRS Potsdam, as mmseg's ``tools/dataset_converters/potsdam.py`` (used by SegEarth-OV).

Raw: ``2_Ortho_RGB.zip`` (``top_potsdam_<i>_<j>_RGB.tif``, 6000x6000) and
``5_Labels_all_noBoundary.zip`` (``top_potsdam_<i>_<j>_label_noBoundary.tif``, colour-coded),
or their folder. (A tile with only ``top_potsdam_<i>_<j>_label.tif``, from 5_Labels_all, uses
that label, with a note, as the published tool would.)
Split: as mmseg, every tile not in its 24 train tiles (2_10-12, 3_10-12, 4_10-12, 5_10-12,
6_7-12, 7_7-12; skipped) is val: on the release the 14 tiles 2_13 2_14 3_13 3_14 4_13 4_14
4_15 5_13 5_14 5_15 6_13 6_14 6_15 7_13.
Tiling: ``grid_boxes`` with clip 512, stride 256: 12x12 crops of 512x512 per 6000x6000 tile
(the last row/column ends at the border), 14 x 144 = **2016** val crops, named
``<i>_<j>_<x0>_<y0>_<x1>_<y1>.png`` in ``potsdam/img_dir/val`` and ``potsdam/ann_dir/val``.
Labels: the colours of the registered palette (PotsdamDataset's METAINFO), colour k is
label k + 1: (RGB) white 1 impervious surface, blue 2 building, cyan 3 low vegetation,
green 4 tree, yellow 5 car, red 6 clutter; any other colour 0, ignored through
reduce_zero_label (mmseg's 2B+3G+4R colour key, bit for bit).
"""

from __future__ import annotations

import cv2
import numpy as np

from foundation.errors import DataError

from .converter import Converter
from .decode import decode_cv2, isprs_colours_to_index
from .pool import Job
from .raw_index import Entry, by_key, match, pair_up
from .tiling import grid_jobs
from .writing import Out

TRAIN_TILES = (
    "2_10", "2_11", "2_12", "3_10", "3_11", "3_12", "4_10", "4_11", "4_12", "5_10", "5_11",
    "5_12", "6_7", "6_8", "6_9", "6_10", "6_11", "6_12", "7_7", "7_8", "7_9", "7_10", "7_11",
    "7_12",
)  # fmt: skip


def isprs_label(entry: Entry) -> np.ndarray:
    """An ISPRS colour label (decoded BGR, as cv2/mmcv) -> indices 0..6."""
    return isprs_colours_to_index(decode_cv2(entry, cv2.IMREAD_COLOR))


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    images = by_key(entries, match(r"top_potsdam_(\d+_\d+)_RGB\.tif"))
    labels = by_key(entries, match(r"top_potsdam_(\d+_\d+)_label_noBoundary\.tif"))
    plain = by_key(entries, match(r"top_potsdam_(\d+_\d+)_label\.tif"))
    fallback = sorted(k for k in set(plain) - set(labels) if k not in TRAIN_TILES)
    if fallback:  # the published tool takes any '*label*' file; noBoundary is preferred
        print(
            f"note: Potsdam tile(s) {', '.join(fallback)} use 5_Labels_all (top_potsdam_*_label"
            ".tif); the protocol uses 5_Labels_all_noBoundary.zip"
        )
        labels.update({k: plain[k] for k in fallback})
    val = {k: e for k, e in images.items() if k not in TRAIN_TILES}
    if images and not val:
        raise DataError(
            "Potsdam: only train tiles in RAW (the val tiles are 2_13, 2_14, 3_13, ...); pass "
            "2_Ortho_RGB.zip and 5_Labels_all_noBoundary.zip"
        )
    pairs = pair_up("Potsdam", val, labels, "top_potsdam_<i>_<j>_RGB.tif images")
    return grid_jobs(pairs, out, options, isprs_label)


CONVERTER = Converter(
    dataset="PotsdamDataset",
    raw="2_Ortho_RGB.zip 5_Labels_all_noBoundary.zip (or their folder)",
    plan=plan,
    options={"clip_size": 512, "stride_size": 256},
)
