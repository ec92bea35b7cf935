"""WHU Building, satellite dataset II (East Asia) (SegEarth-OV's WHU-Sat.II): the test tiles.

Raw: ``Satellite_dataset_II_East_Asia`` (zip or folder) with ``1.cropped/test/image/<n>.tif``
and ``1.cropped/test/label/<n>.tif`` (512x512; ``train/`` and the uncropped ``0.original``
are skipped).
Output: ``WHU-Sat-II/test/image/<n>.tif`` (copied) and ``WHU-Sat-II/test/label_cvt/<n>.tif``:
labels 0/255 -> 0 background / 1 building (>= 128 is 1). As SegEarth-OV's ``whu.py``, which
writes each converted label under its raw name, and its config (``.tif`` / ``.tif``).
**3726** test tiles.
"""

from __future__ import annotations

from .converter import Converter, folder_plan
from .decode import grey_threshold
from .pool import Job
from .raw_index import Entry, in_folder, select_split
from .writing import Out


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    # The uncropped scenes are dropped first: a ``test`` folder there must not add images.
    entries = [e for e in entries if not e.has_part("0.original")]
    entries = select_split(entries, "test", ("train",))
    return folder_plan(
        entries, out, "WHU-Sat.II", in_folder("image"), in_folder("label"), grey_threshold(128)
    )


CONVERTER = Converter(
    dataset="WHUSatIIDataset",
    raw="Satellite_dataset_II_East_Asia (zip or folder) with 1.cropped/test/image and label",
    plan=plan,
)
