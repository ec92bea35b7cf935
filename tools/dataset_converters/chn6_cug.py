"""CHN6-CUG roads, val split, as SegEarth-OV's ``tools/dataset_converters/chn6-cug.py``.

Raw: the release (zip or folder) with ``val/images/<n>_sat.jpg`` and ``val/gt/<n>_mask.png``
(``train/`` is skipped).
Output: ``CHN6-CUG/val/image_cvt/<n>.jpg`` (copied) and ``CHN6-CUG/val/label_cvt/<n>.png``:
0/255 -> 0 background / 1 road (>= 128 is 1). **903** val images (512x512).
"""

from __future__ import annotations

from .converter import Converter, folder_plan
from .decode import grey_threshold
from .pool import Job
from .raw_index import Entry, in_folder, select_split
from .writing import Out


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    entries = select_split(entries, "val", ("train",))
    return folder_plan(
        entries,
        out,
        "CHN6-CUG",
        in_folder("images", strip="_sat"),
        in_folder("gt", strip="_mask"),
        grey_threshold(128),
    )


CONVERTER = Converter(
    dataset="CHN6CUGDataset",
    raw="the CHN6-CUG release (zip or folder) with val/images and val/gt",
    plan=plan,
)
