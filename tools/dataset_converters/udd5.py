"""UDD5 (Urban Drone Dataset, 5 classes) as released, val split.

SegEarth-OV has no converter for UDD5: its config reads the release as it is
(``UDD/UDD5/val/src`` + ``val/gt``, ``.JPG`` / ``.png``, labels read as mmseg reads them).
Raw: the release folder or zip with ``val/src/<name>.JPG`` and ``val/gt/<name>.png``
(``train/`` is skipped; when RAW also holds UDD6 or other sets, only the ``UDD5`` folder is
used).
Output: images copied byte for byte to ``UDD5/val/src/<name>.JPG``; labels to
``UDD5/val/gt/<name>.png`` as single-channel class indices 0 vegetation, 1 building,
2 road, 3 vehicle, 4 other, the values mmseg reads from the released file (a colour-coded
label is mapped by UDD5Dataset's registered palette, the UDD readme's class table). The
protocol fixes no count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .converter import Converter, copy_jobs
from .decode import IndexLabel
from .palettes import colour_table
from .pool import Job
from .raw_index import Entry, by_key, pair_up, select_split
from .writing import Out

DATASET = "UDD5Dataset"


def src_gt_plan(
    entries: list[Entry],
    out: Out,
    split: str,
    avoid: tuple[str, ...],
    title: str,
    label_fn: Callable[[Entry], np.ndarray],
    dataset_folder: str,
) -> list[Job]:
    """``<split>/src/<name>.JPG`` + ``<split>/gt/<name>.png`` pairs (UDD5 and VDD), under the
    ``dataset_folder`` folder when RAW has one (the UDD download also holds UDD6 and M1).
    Only JPEG images: the configs read ``.JPG`` files, so each is copied unchanged."""
    inside = [e for e in entries if e.has_part(dataset_folder)]
    entries = select_split(inside or entries, split, avoid)
    images = by_key(
        entries,
        lambda e: e.stem if e.parent.lower() == "src" and e.suffix.lower() == ".jpg" else None,
    )
    labels = by_key(
        entries,
        lambda e: e.stem if e.parent.lower() == "gt" and e.suffix.lower() == ".png" else None,
    )
    pairs = pair_up(title, images, labels, f"{split}/src/*.JPG images")
    return copy_jobs(pairs, out, label_fn)


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    """The values mmseg reads from the released file (SegEarth-OV evaluates the files as they
    are): palette indices kept whatever the palette; colour-coded RGB mapped by the
    registered palette, which is the UDD readme's class table (Gt Label, RGB)."""
    label_fn = IndexLabel(colour_table(DATASET))
    return src_gt_plan(entries, out, "val", ("train",), "UDD5", label_fn, "UDD5")


CONVERTER = Converter(
    dataset=DATASET,
    raw="the UDD5 release folder (or zip) with val/src and val/gt",
    plan=plan,
)
