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
Labels: exact RGB colours of UAVidDataset's registered palette (colour k is label k:
0 clutter, 1 building, 2 road, 3 static car, 4 tree, 5 low vegetation, 6 human), plus the
release's moving car, merged into 3 (below); any other colour 0; padding 255.
Other split: ``--split val`` converts the release's ``uavid_val/<seq>/Images`` + ``Labels``
(not the protocol's split) into ``UAVid/img_dir/val`` and ``UAVid/ann_dir/val``, which
``cfg_uavid.py`` does not read; without it, a RAW holding only ``uavid_val`` is refused with
a line that says so.
"""

from __future__ import annotations

from foundation.errors import DataError

from .converter import Converter
from .decode import ColourLabel
from .palettes import colour_table
from .pool import Job
from .raw_index import Entry, by_key, pair_up, select_split
from .tiling import slide_jobs
from .writing import Out

DATASET = "UAVidDataset"
MOVING_CAR = {(64, 0, 128): 3}  # the release's 8th colour, merged into car as SegEarth-OV does
RELEASE_SPLITS = ("uavid_train", "uavid_val", "uavid_test")
VAL_NOTE = (
    "uavid_val is the release's validation split, not the protocol's (the labelled test set "
    "test_gt)"
)


def _key(folder: str):
    def key(entry: Entry) -> str | None:
        parts = entry.parts
        if len(parts) < 3 or parts[-2].lower() != folder or entry.suffix.lower() != ".png":
            return None
        return f"{parts[-3]}_{entry.name.split('.')[0]}"  # the published name: up to a dot

    return key


def _nothing_found(entries: list[Entry], split: str | None, out: Out) -> str:
    """The error line when RAW holds no image of the wanted split: what it holds instead and
    what to pass."""
    if split == "val":
        return (
            "UAVid --split val: no uavid_val/<seq>/Images/*.png in RAW; pass the release "
            "folder (or zip) holding uavid_val"
        )
    found = {
        folder: len(by_key((e for e in entries if e.has_part(folder)), _key("images")))
        for folder in RELEASE_SPLITS
    }
    if found["uavid_val"]:
        val_dir = out.for_split("val").img_dir
        return (
            f"UAVid: no test_gt/<seq>/Images in RAW, but uavid_val holds {found['uavid_val']} "
            f"image(s) in <seq>/Images + Labels: {VAL_NOTE}; pass the folder holding test_gt "
            f"(uavid.nl), or add --split val to convert uavid_val into {val_dir}"
        )
    held = ", ".join(f"{folder} ({n} images)" for folder, n in found.items() if n)
    return (
        "UAVid: no <seq>/Images/*.png in RAW"
        + (f" outside {held}, which have no labels" if held else "")
        + "; pass the folder holding test_gt/<seq>/Images and Labels"
    )


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    split = options.get("split")
    if split == "val":
        chosen = [e for e in entries if e.has_part("uavid_val")]
    else:
        chosen = select_split(entries, "test_gt", RELEASE_SPLITS)
    images = by_key(chosen, _key("images"))
    labels = by_key(chosen, _key("labels"))
    if not images:
        raise DataError(_nothing_found(entries, split, out))
    pairs = pair_up("UAVid", images, labels, "<seq>/Images/*.png")
    label_fn = ColourLabel({**colour_table(DATASET), **MOVING_CAR}, 0)
    return slide_jobs(pairs, out, options, label_fn)


CONVERTER = Converter(
    dataset=DATASET,
    raw="the folder holding test_gt/<seq>/Images and Labels (or its zip)",
    plan=plan,
    options={"patch_width": 1280, "patch_height": 1080, "overlap_area": 0},
    other_splits={"val": VAL_NOTE},
)
