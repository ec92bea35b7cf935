"""Inria Aerial Image Labeling, as SegEarth-OV's ``tools/dataset_converters/inria.py``: the
FCtL ``split_test`` tiles.

Raw: ``AerialImageDataset`` (zip or folder) with ``train/images/<city><n>.tif`` and
``train/gt/<city><n>.tif`` (5000x5000, gt 0/255). Only the 27 tiles of FCtL's test split
(below) are used; the Inria test set has no labels.
Tiling: ``grid_boxes`` with clip 1000, stride 1000: 5x5 patches of 1000x1000 per tile,
**675** patches, named ``<city><n>_<x0>_<y0>_<x1>_<y1>.png`` in ``Inria/img_dir/split_test``
and ``Inria/ann_dir/split_test``.
Labels: cv2 greyscale, >= 128 -> 1 building, else 0 background.
"""

from __future__ import annotations

from .converter import Converter
from .decode import grey_threshold
from .pool import Job
from .raw_index import Entry, by_key, in_folder, pair_up, select_split
from .tiling import grid_jobs
from .writing import Out

SPLIT_TEST = (
    "austin1", "austin7", "austin12", "austin22", "austin24", "austin36",
    "chicago10", "chicago14", "chicago23", "chicago26",
    "kitsap9", "kitsap14", "kitsap25", "kitsap34", "kitsap35", "kitsap36",
    "tyrol-w1", "tyrol-w3", "tyrol-w25", "tyrol-w36",
    "vienna3", "vienna6", "vienna9", "vienna11", "vienna15", "vienna18", "vienna20",
)  # fmt: skip


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    entries = select_split(entries, "train", ("test",))
    tif = (".tif", ".tiff")
    images = {k: e for k, e in by_key(entries, in_folder("images", tif)).items() if k in SPLIT_TEST}
    labels = by_key(entries, in_folder("gt", tif))
    pairs = pair_up("Inria", images, labels, "FCtL split_test tiles (train/images/<city><n>.tif)")
    return grid_jobs(pairs, out, options, grey_threshold(128))


CONVERTER = Converter(
    dataset="InriaDataset",
    raw="AerialImageDataset (zip or folder) with train/images and train/gt",
    plan=plan,
    options={"clip_size": 1000, "stride_size": 1000},
)
