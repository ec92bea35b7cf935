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

from .common import Converter, Entry, Job, Out, folder_plan, grey_threshold, in_folder, select_split

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
    name="deepglobe",
    dataset="DeepGlobeRoadDataset",
    title="DeepGlobe roads (GlobalRoadSet test 1530)",
    raw="GlobalRoadSet_Val (zip or folder) or its DeepGlobe_test_1530 folder",
    plan=partial(road_plan, "DeepGlobe_test_1530", "DeepGlobe", ("_sat", "_mask")),
    expected=1530,
    aliases=("deepglobe-road",),
)
MASSACHUSETTS = Converter(
    name="massachusetts",
    dataset="MassachusettsRoadDataset",
    title="Massachusetts roads (GlobalRoadSet test 49)",
    raw="GlobalRoadSet_Val (zip or folder) or its Massachusetts_test_49 folder",
    plan=partial(road_plan, "Massachusetts_test_49", "Massachusetts", ("", "")),
    expected=49,
    aliases=("massachusetts-road",),
)
SPACENET = Converter(
    name="spacenet",
    dataset="SpaceNetRoadDataset",
    title="SpaceNet roads (GlobalRoadSet test 567)",
    raw="GlobalRoadSet_Val (zip or folder) or its SpaceNet_test_567 folder",
    plan=partial(road_plan, "SpaceNet_test_567", "SpaceNet", ("", "")),
    expected=567,
    aliases=("spacenet-road",),
)
