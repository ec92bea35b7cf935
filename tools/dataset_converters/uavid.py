"""UAVid, as SegEarth-OV's ``tools/dataset_converters/uavid.py``: the test sequences with labels.

Raw: a folder (or zip) holding ``test_gt/<seq>/Images/<n>.png`` and
``test_gt/<seq>/Labels/<n>.png`` (colour-coded; the ``test_gt`` download of uavid.nl);
without a ``test_gt`` folder, every ``<seq>/Images`` + ``<seq>/Labels`` found outside
``uavid_train``, ``uavid_val`` and ``uavid_test`` (the release's test set has no labels).
Tiling: ``slide_boxes`` with 1280 (wide) x 1080 (high) patches, no overlap (as published, a
frame with one side equal to the patch and the other shorter is not padded): a 3840x2160 frame
gives 6 patches, a 4096x2160 frame 8 (the last column ends at the border); named
``<seq>_<n>_<y0>_<y1>_<x0>_<x1>.png`` (``<n>``: the file name up to its first dot) in
``UAVid/img_dir/test`` and ``UAVid/ann_dir/test``. (The published script's ``patch_width``
1080 is the height and ``patch_height`` 1280 the width; here ``--patch-width`` is the width.)
Images are read as Pillow's RGB and written as PNG (the published script writes BMP data under
the ``.png`` name: same pixels). The protocol fixes no count.
Labels: exact RGB colours 0 clutter (0,0,0), 1 building (128,0,0), 2 road (128,64,128),
3 static car (192,0,192), 4 tree (0,128,0), 5 low vegetation (128,128,0), 6 human
(64,64,0), and moving car (64,0,128) -> 3; any other colour 0; padding 255.
"""

from __future__ import annotations

import cv2
import numpy as np

from .common import (
    Converter,
    DataError,
    Entry,
    Job,
    Out,
    by_key,
    colours_to_index,
    decode_cv2,
    pair_up,
    select_split,
    slide_jobs,
)

UAVID_RGB = {
    (0, 0, 0): 0,
    (128, 0, 0): 1,
    (128, 64, 128): 2,
    (192, 0, 192): 3,  # static car
    (0, 128, 0): 4,
    (128, 128, 0): 5,
    (64, 64, 0): 6,
    (64, 0, 128): 3,  # moving car -> car
}


def uavid_label(entry: Entry) -> np.ndarray:
    rgb = cv2.cvtColor(decode_cv2(entry, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return colours_to_index(rgb, UAVID_RGB, 0)


def _key(folder: str):
    def key(entry: Entry) -> str | None:
        parts = entry.parts
        if len(parts) < 3 or parts[-2].lower() != folder or entry.suffix.lower() != ".png":
            return None
        return f"{parts[-3]}_{entry.name.split('.')[0]}"  # the published name: up to a dot

    return key


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    entries = select_split(entries, "test_gt", ("uavid_train", "uavid_val", "uavid_test"))
    images = by_key(entries, _key("images"))
    labels = by_key(entries, _key("labels"))
    if not images:
        raise DataError(
            "UAVid: no <seq>/Images/*.png in RAW; pass the folder holding test_gt/<seq>/"
            "Images and Labels"
        )
    pairs = pair_up("UAVid", images, labels, "<seq>/Images/*.png")
    return slide_jobs(pairs, out, options, uavid_label)


CONVERTER = Converter(
    name="uavid",
    dataset="UAVidDataset",
    title="UAVid",
    raw="the folder holding test_gt/<seq>/Images and Labels (or its zip)",
    plan=plan,
    options={"patch_width": 1280, "patch_height": 1080, "overlap_area": 0},
)
