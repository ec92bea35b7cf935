"""ISPRS Vaihingen, as mmseg's ``tools/dataset_converters/vaihingen.py`` (used by SegEarth-OV).

Raw: ``ISPRS_semantic_labeling_Vaihingen.zip`` (``top/top_mosaic_09cm_area<n>.tif``, IRRG)
and ``ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip``
(``top_mosaic_09cm_area<n>_noBoundary.tif``, colour-coded, eroded boundaries), or their
folder.
Split: as mmseg, every area not in its 16 train areas (1 3 5 7 11 13 15 17 21 23 26 28 30
32 34 37; skipped) is val: on the release the 17 areas 2 4 6 8 10 12 14 16 20 22 24 27 29
31 33 35 38. area9, which has a label and no image, is skipped.
Tiling: ``grid_boxes`` with clip 512, stride 256 (crops do not overlap except the last
row/column, which ends at the border): **398** val crops, named
``area<n>_<x0>_<y0>_<x1>_<y1>.png`` in ``vaihingen/img_dir/val`` and ``vaihingen/ann_dir/val``.
Labels: the ISPRS colours of Potsdam (1..6; anything else, the eroded boundaries' black
included, 0 = ignored through reduce_zero_label); ISPRSDataset's registered palette is
PotsdamDataset's.
"""

from __future__ import annotations

from foundation.errors import DataError

from .converter import Converter
from .pool import Job
from .potsdam import isprs_label
from .raw_index import Entry, by_key, pair_up
from .tiling import grid_jobs
from .writing import Out

TRAIN_AREAS = tuple(
    f"area{n}" for n in (1, 3, 5, 7, 11, 13, 15, 17, 21, 23, 26, 28, 30, 32, 34, 37)
)


def _area(pattern_suffix: str, entry: Entry) -> str | None:
    name = entry.name.lower()
    prefix = "top_mosaic_09cm_"
    if not (name.startswith(prefix) and name.endswith(pattern_suffix)):
        return None
    area = name[len(prefix) : -len(pattern_suffix)]
    return area if area.startswith("area") and area[4:].isdigit() else None


def _is_gt(folder: str) -> bool:
    folder = folder.lower()
    return "ground_truth" in folder or folder.startswith("gts")


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    # Images from the 'top' folder: the full (non-eroded) ground truth has the same names.
    in_top = [e for e in entries if e.parent.lower() == "top"]
    if not in_top:  # unpacked differently: anything outside a ground-truth folder or zip
        in_top = [e for e in entries if not any(_is_gt(p) for p in e.parts[:-1])]
    images = by_key(in_top, lambda e: _area(".tif", e))
    labels = by_key(entries, lambda e: _area("_noboundary.tif", e))
    val = {k: e for k, e in images.items() if k not in TRAIN_AREAS and k != "area9"}
    if images and not val:
        raise DataError(
            "Vaihingen: only train areas in RAW (the val areas are area2, area4, ...); pass "
            "ISPRS_semantic_labeling_Vaihingen.zip and the eroded ground truth zip"
        )
    pairs = pair_up("Vaihingen", val, labels, "top/top_mosaic_09cm_area<n>.tif images")
    return grid_jobs(pairs, out, options, isprs_label)


CONVERTER = Converter(
    dataset="ISPRSDataset",
    raw="ISPRS_semantic_labeling_Vaihingen.zip "
    "ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip (or their folder)",
    plan=plan,
    options={"clip_size": 512, "stride_size": 256},
)
