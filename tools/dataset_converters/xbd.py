"""xBD (xView2), pre-disaster images of the test split, as SegEarth-OV's ``xBD.py``.

Raw: the xView2 ``test`` folder (zip or folder) with ``images/<event>_<n>_pre_disaster.png``
and ``targets/<event>_<n>_pre_disaster_target.png`` (``train``/``tier3``/``hold`` are
skipped; post-disaster files too).
Output: ``xBD/test/images_pre/<event>_<n>_pre_disaster.png`` (copied) and
``xBD/test/targets_cvt_pre/<event>_<n>_pre_disaster.png``: every non-zero value -> 1
building, 0 background. **933** pre-disaster test images.
"""

from __future__ import annotations

from .converter import Converter, folder_plan
from .decode import grey_threshold
from .pool import Job
from .raw_index import Entry, in_folder, select_split
from .writing import Out


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    entries = select_split(entries, "test", ("train", "tier3", "hold"))
    return folder_plan(
        entries,
        out,
        "xBD",
        in_folder("images", (".png",)),
        in_folder("targets", (".png",), strip="_target"),
        grey_threshold(1),
        keep=lambda key: key.endswith("_pre_disaster"),
    )


CONVERTER = Converter(
    dataset="xBDDataset",
    raw="the xView2 test folder (zip or folder) with images/ and targets/",
    plan=plan,
)
