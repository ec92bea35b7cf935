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
Labels: exact RGB colours of the registered palette (mmseg's iSAIDDataset METAINFO), colour k
is label k: 0 background, 1 ship, 2 storage tank, 3 baseball diamond, 4 tennis court,
5 basketball court, 6 ground track field, 7 bridge, 8 large vehicle, 9 small vehicle,
10 helicopter, 11 swimming pool, 12 roundabout, 13 soccer ball field, 14 plane, 15 harbor;
any other colour 0; padding 255. (The published tool saves its patches as BMP data under a
.png name and its labels in palette mode; here they are real PNGs, labels single-channel.)
"""

from __future__ import annotations

from .converter import Converter
from .decode import ColourLabel
from .palettes import colour_table
from .pool import Job
from .raw_index import Entry, by_key, match, pair_up, select_split
from .tiling import slide_jobs
from .writing import Out

DATASET = "iSAIDDataset"


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    entries = select_split(entries, "val", ("train", "test"))
    images = by_key(entries, match(r"([^_.]+)\.png"))
    labels = by_key(entries, match(r"([^_.]+)_instance_color_RGB\.png"))
    pairs = pair_up("iSAID", images, labels, "DOTA val images (P<n>.png)")
    return slide_jobs(pairs, out, options, ColourLabel(colour_table(DATASET), 0))


CONVERTER = Converter(
    dataset=DATASET,
    raw="the iSAID folder with val/images/part1.zip and val/Semantic_masks/images.zip "
    "(or those zips)",
    plan=plan,
    options={"patch_width": 896, "patch_height": 896, "overlap_area": 384},
)
