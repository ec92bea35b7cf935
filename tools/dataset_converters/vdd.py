"""VDD (Varied Drone Dataset) as released, test split.

SegEarth-OV has no converter for VDD: its config reads the release as it is
(``VDD/test/src`` + ``test/gt``, ``.JPG`` / ``.png``, labels read as mmseg reads them).
Raw: the release folder or zip with ``test/src/<name>.JPG`` and ``test/gt/<name>.png``
(``train/`` and ``val/`` are skipped; when RAW has a ``VDD`` folder, only it is used).
Output: images copied byte for byte to ``VDD/test/src/<name>.JPG``; labels to
``VDD/test/gt/<name>.png`` as single-channel class indices 0 other, 1 wall, 2 road,
3 vegetation, 4 vehicle, 5 roof, 6 water (the VDD readme's class ids), the values mmseg
reads from the released file (``decode.index_label``: palette indices kept). A
colour-coded RGB label is mapped by VDDDataset's registered palette (colour k is class k;
water (28,42,168)), plus water's second colour below; any other colour 255. **40** test
images (VDD's 400 = 280 train + 80 val + 40 test).
"""

from __future__ import annotations

from .converter import Converter
from .decode import IndexLabel
from .palettes import colour_table
from .pool import Job
from .raw_index import Entry
from .udd5 import src_gt_plan
from .writing import Out

DATASET = "VDDDataset"
WATER_ALSO = {(0, 200, 200): 6}  # water in the VDD authors' MMSegmentation palette too


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    label_fn = IndexLabel({**colour_table(DATASET), **WATER_ALSO})
    return src_gt_plan(entries, out, "test", ("train", "val"), "VDD", label_fn, "VDD")


CONVERTER = Converter(
    dataset=DATASET,
    raw="the VDD release folder (or zip) with test/src and test/gt",
    plan=plan,
)
