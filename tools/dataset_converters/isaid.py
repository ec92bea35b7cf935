"""iSAID, as mmseg's ``tools/dataset_converters/isaid.py`` (used by SegEarth-OV), val split.

Raw: the DOTA-v1.0 val images (``val/images/part1.zip``: ``images/P<n>.png``) and the iSAID
val semantic masks (``val/Semantic_masks/images.zip``: ``images/P<n>_instance_color_RGB.png``),
as zips, their folder, or the iSAID folder holding ``val/`` (``train/`` and ``test/`` are
skipped).
Tiling: ``slide_boxes`` with 896x896 patches and 384 overlap (windows every 512 pixels, the
last one ending at the border; images smaller than a patch padded at the bottom/right with 0,
the label with 255, except, as published, an image with one side equal to the patch and the
other smaller: see ``slide_boxes``): **11644** val patches, named
``P<n>_<y0>_<y1>_<x0>_<x1>.png`` in ``iSAID/img_dir/val`` and
``P<n>_<y0>_<y1>_<x0>_<x1>_instance_color_RGB.png`` in ``iSAID/ann_dir/val``. (The published
script takes ``--patch_width`` as the height and ``--patch_height`` as the width; here, as for
UAVid, ``--patch-width`` is the width. The defaults are square.)
Labels: exact RGB colours 0 background (0,0,0), 1 ship (0,0,63), 2 storage tank (0,63,63),
3 baseball diamond (0,63,0), 4 tennis court (0,63,127), 5 basketball court (0,63,191),
6 ground track field (0,63,255), 7 bridge (0,127,63), 8 large vehicle (0,127,127), 9 small
vehicle (0,0,127), 10 helicopter (0,0,191), 11 swimming pool (0,0,255), 12 roundabout
(0,191,127), 13 soccer ball field (0,127,191), 14 plane (0,127,255), 15 harbor (0,100,155);
any other colour 0; padding 255. (The published tool saves its patches as BMP data under a
.png name and its labels in palette mode; here they are real PNGs, labels single-channel.)
"""

from __future__ import annotations

import cv2
import numpy as np

from .common import (
    Converter,
    Entry,
    Job,
    Out,
    by_key,
    colours_to_index,
    decode_cv2,
    match,
    pair_up,
    select_split,
    slide_jobs,
)

ISAID_RGB = {
    (0, 0, 0): 0,
    (0, 0, 63): 1,
    (0, 63, 63): 2,
    (0, 63, 0): 3,
    (0, 63, 127): 4,
    (0, 63, 191): 5,
    (0, 63, 255): 6,
    (0, 127, 63): 7,
    (0, 127, 127): 8,
    (0, 0, 127): 9,
    (0, 0, 191): 10,
    (0, 0, 255): 11,
    (0, 191, 127): 12,
    (0, 127, 191): 13,
    (0, 127, 255): 14,
    (0, 100, 155): 15,
}


def isaid_label(entry: Entry) -> np.ndarray:
    rgb = cv2.cvtColor(decode_cv2(entry, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return colours_to_index(rgb, ISAID_RGB, 0)


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    entries = select_split(entries, "val", ("train", "test"))
    images = by_key(entries, match(r"([^_.]+)\.png"))
    labels = by_key(entries, match(r"([^_.]+)_instance_color_RGB\.png"))
    pairs = pair_up("iSAID", images, labels, "DOTA val images (P<n>.png)")
    return slide_jobs(pairs, out, options, isaid_label)


CONVERTER = Converter(
    name="isaid",
    dataset="iSAIDDataset",
    title="iSAID",
    raw="the iSAID folder with val/images/part1.zip and val/Semantic_masks/images.zip "
    "(or those zips)",
    plan=plan,
    expected=11644,
    options={"patch_width": 896, "patch_height": 896, "overlap_area": 384},
)
