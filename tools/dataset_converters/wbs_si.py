"""Water Body Segmentation in Satellite Images (Kaggle; SegEarth-OV's WBS-SI): the val list.

Raw: the Kaggle download (zip or folder) with ``Images/water_body_<n>.jpg`` and
``Masks/water_body_<n>.jpg``; where the archive has a ``WaterBodiesDatasetPreprocessed``
folder, only the files under it are used (the copy SegEarth-OV's config reads).
Output: the 499 images named in ``wbs_si_val.txt`` (SegEarth-OV's ``wbs-si_val.txt``),
copied to ``WBS-SI/Images/<name>.jpg``, and their masks to ``WBS-SI/Masks_cvt/<name>.png``:
cv2 greyscale, >= 128 -> 1 water, else 0 background (written as PNG: the published
``Masks_cvt`` were JPEGs, whose compression alters 0/1 labels). **499** images.
"""

from __future__ import annotations

import os

from .converter import Converter, folder_plan
from .decode import grey_threshold
from .pool import Job
from .raw_index import Entry, in_folder, select_split
from .writing import Out

VAL_LIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wbs_si_val.txt")
with open(VAL_LIST, encoding="utf-8") as _f:
    VAL_NAMES = frozenset(_f.read().split())


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    entries = select_split(entries, "WaterBodiesDatasetPreprocessed")
    return folder_plan(
        entries,
        out,
        "WBS-SI",
        in_folder("Images"),
        in_folder("Masks"),
        grey_threshold(128),
        keep=lambda key: key in VAL_NAMES,
    )


CONVERTER = Converter(
    dataset="WBSSIDataset",
    raw="the Kaggle download (zip or folder) with Images/ and Masks/",
    plan=plan,
)
