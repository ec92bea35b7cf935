"""WHU Building, aerial imagery (SegEarth-OV's WHU-Aerial): the val tiles.

Raw: the aerial dataset's cropped tiles (zip or folder) with ``val/image/<n>.tif`` and
``val/label/<n>.tif`` (512x512; ``train/`` and ``test/`` are skipped); PNG copies (Kaggle)
work too.
Output: ``WHU-BD/val/image/<n>.png`` (TIFFs re-encoded losslessly) and
``WHU-BD/val/label_cvt/<n>.png``: labels 0/255 -> 0 background / 1 building (>= 128 is 1,
SegEarth-OV's ``whu.py``). **1036** val tiles.
"""

from __future__ import annotations

from .converter import Converter, folder_plan
from .decode import grey_threshold
from .pool import Job
from .raw_index import Entry, in_folder, select_split
from .writing import Out


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    entries = select_split(entries, "val", ("train", "test"))
    return folder_plan(
        entries, out, "WHU-Aerial", in_folder("image"), in_folder("label"), grey_threshold(128)
    )


CONVERTER = Converter(
    dataset="WHUAerialDataset",
    raw="the aerial dataset's tiles (zip or folder) with val/image and val/label",
    plan=plan,
)
