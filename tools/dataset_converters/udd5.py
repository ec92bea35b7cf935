"""UDD5 (Urban Drone Dataset, 5 classes) as released, val split.

Raw: the release folder or zip with ``val/src/<name>.JPG`` and ``val/gt/<name>.png``
(``train/`` is skipped).
Output: images copied to ``UDD5/val/src/<name>.JPG``; labels to ``UDD5/val/gt/<name>.png`` as
single-channel class indices 0 vegetation, 1 building, 2 road, 3 vehicle, 4 other. Index
labels are kept; colour-coded labels are converted from the UDD5 colours (107,142,35)
vegetation, (102,102,156) building, (128,64,128) road, (0,0,142) vehicle, (0,0,0) other
(any other colour 255, ignored). The protocol fixes no count.
"""

from __future__ import annotations

import numpy as np

from .common import (
    Converter,
    Entry,
    Job,
    Out,
    by_key,
    colour_or_index,
    copy_pair,
    pair_up,
    select_split,
)

UDD5_RGB = {
    (107, 142, 35): 0,
    (102, 102, 156): 1,
    (128, 64, 128): 2,
    (0, 0, 142): 3,
    (0, 0, 0): 4,
}


def udd5_label(entry: Entry) -> np.ndarray:
    return colour_or_index(entry, UDD5_RGB)


def src_gt_plan(
    entries: list[Entry], out: Out, split: str, avoid: tuple[str, ...], title: str, label_fn
) -> list:
    """``<split>/src/<name>.<jpg>`` + ``<split>/gt/<name>.png`` pairs (UDD5 and VDD)."""
    entries = select_split(entries, split, avoid)
    images = by_key(
        entries,
        lambda e: (
            e.stem
            if e.parent.lower() == "src" and e.suffix.lower() in (".jpg", ".jpeg", ".png")
            else None
        ),
    )
    labels = by_key(
        entries,
        lambda e: e.stem if e.parent.lower() == "gt" and e.suffix.lower() == ".png" else None,
    )
    pairs = pair_up(title, images, labels, f"{split}/src images")
    return [
        Job(copy_pair, (image, label, *out.pair(key), label_fn), out.pair(key))
        for key, image, label in pairs
    ]


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    return src_gt_plan(entries, out, "val", ("train",), "UDD5", udd5_label)


CONVERTER = Converter(
    name="udd5",
    dataset="UDD5Dataset",
    title="UDD5",
    raw="the UDD5 release folder (or zip) with val/src and val/gt",
    plan=plan,
)
