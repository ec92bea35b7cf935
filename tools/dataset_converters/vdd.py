"""VDD (Varied Drone Dataset) as released, test split.

SegEarth-OV has no converter for VDD: its config reads the release as it is
(``VDD/test/src`` + ``test/gt``, ``.JPG`` / ``.png``, labels read as mmseg reads them).
Raw: the release folder or zip with ``test/src/<name>.JPG`` and ``test/gt/<name>.png``
(``train/`` and ``val/`` are skipped; when RAW has a ``VDD`` folder, only it is used).
Output: images copied byte for byte to ``VDD/test/src/<name>.JPG``; labels to
``VDD/test/gt/<name>.png`` as single-channel class indices 0 other, 1 wall, 2 road,
3 vegetation, 4 vehicle, 5 roof, 6 water (the VDD readme's class ids), the values mmseg
reads from the released file (``common.index_label``: palette indices kept). A
colour-coded RGB label is mapped from (0,0,0) other, (102,102,156) wall, (128,64,128) road,
(107,142,35) vegetation, (0,0,142) vehicle, (70,70,70) roof, and water as (28,42,168) or
(0,200,200) (the VDD MMSegmentation palette); any other colour 255. **40** test images
(VDD's 400 = 280 train + 80 val + 40 test).
"""

from __future__ import annotations

import numpy as np

from .common import Converter, Entry, Job, Out, index_label
from .udd5 import src_gt_plan

VDD_RGB = {
    (0, 0, 0): 0,
    (102, 102, 156): 1,
    (128, 64, 128): 2,
    (107, 142, 35): 3,
    (0, 0, 142): 4,
    (70, 70, 70): 5,
    (28, 42, 168): 6,
    (0, 200, 200): 6,  # water in the VDD authors' MMSegmentation palette
}


def vdd_label(entry: Entry) -> np.ndarray:
    return index_label(entry, VDD_RGB)


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    return src_gt_plan(entries, out, "test", ("train", "val"), "VDD", vdd_label, "VDD")


CONVERTER = Converter(
    name="vdd",
    dataset="VDDDataset",
    title="VDD",
    raw="the VDD release folder (or zip) with test/src and test/gt",
    plan=plan,
    expected=40,
)
