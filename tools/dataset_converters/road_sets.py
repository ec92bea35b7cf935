"""The three road test sets of GRNet's GlobalRoadSet (``GlobalRoadSet_Val``) that SegEarth-OV
evaluates: DeepGlobe (1530), Massachusetts (49), SpaceNet (567).

Raw: ``GlobalRoadSet_Val`` (zip or folder) or one of its folders ``<Set>_test_<n>/img/`` +
``<Set>_test_<n>/gt/``. Labels: 0/255 -> 0 background / 1 road (>= 128 is 1,
SegEarth-OV's ``deepglobe_road.py``/``roadval.py``); images copied. Only DeepGlobe's names
lose ``_sat``/``_mask`` (``deepglobe_road.py``); ``roadval.py`` keeps the raw names of the
other two, so they are kept here too.

- DeepGlobe: ``img/<id>_sat.jpg`` + ``gt/<id>_mask.png`` ->
  ``GlobalRoadSet_Val/DeepGlobe_test_1530/{image_cvt/<id>.jpg, label_cvt/<id>.png}``.
- Massachusetts: ``img/<n>.jpg`` + ``gt/<n>.png`` ->
  ``GlobalRoadSet_Val/Massachusetts_test_49/{img/<n>.jpg, label_cvt/<n>.png}``.
- SpaceNet: ``img/<n>.jpg`` + ``gt/<n>.png`` ->
  ``GlobalRoadSet_Val/SpaceNet_test_567/{img/<n>.jpg, label_cvt/<n>.png}``.
"""

from __future__ import annotations

from functools import partial

from .converter import Converter, folder_plan
from .decode import grey_threshold
from .pool import Job
from .raw_index import Entry, in_folder, select_split
from .writing import Out

OTHERS = ("DeepGlobe_test_1530", "Massachusetts_test_49", "SpaceNet_test_567")


def road_plan(
    folder: str,
    title: str,
    strip: tuple[str, str],
    entries: list[Entry],
    out: Out,
    options: dict,
) -> list[Job]:
    """``strip``: the (image, label) name endings removed to pair them ("" keeps the name)."""
    entries = select_split(entries, folder, tuple(f for f in OTHERS if f != folder))
    return folder_plan(
        entries,
        out,
        title,
        in_folder("img", strip=strip[0]),
        in_folder("gt", strip=strip[1]),
        grey_threshold(128),
    )


DEEPGLOBE = Converter(
    dataset="DeepGlobeRoadDataset",
    raw="GlobalRoadSet_Val (zip or folder) or its DeepGlobe_test_1530 folder",
    plan=partial(road_plan, "DeepGlobe_test_1530", "DeepGlobe", ("_sat", "_mask")),
)
MASSACHUSETTS = Converter(
    dataset="MassachusettsRoadDataset",
    raw="GlobalRoadSet_Val (zip or folder) or its Massachusetts_test_49 folder",
    plan=partial(road_plan, "Massachusetts_test_49", "Massachusetts", ("", "")),
)
SPACENET = Converter(
    dataset="SpaceNetRoadDataset",
    raw="GlobalRoadSet_Val (zip or folder) or its SpaceNet_test_567 folder",
    plan=partial(road_plan, "SpaceNet_test_567", "SpaceNet", ("", "")),
)
