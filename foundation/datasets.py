"""The datasets as plain data: one name per dataset, the names users may type for it, the name
every table shows, the protocol's image count and where the data is published.

Keyed by the registered mmseg dataset type (the ``type`` of ``configs/cfg_*.py``). The run,
the converters (``tools/prepare_dataset.py``), the result files and ``compare_runs.py`` all
read these facts from here.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class DatasetInfo:
    """One benchmark dataset.

    ``name`` is the canonical name (what ``--datasets`` and ``prepare_dataset.py`` print),
    ``short`` the column name of every table, ``title`` the long name. ``images`` is the
    number of images of the protocol's split (None where the protocol fixes none), so that a
    run over fewer is marked partial. ``aliases`` are further accepted spellings; matching
    ignores case, '-', '_', '.', spaces and a 'Dataset' ending.
    """

    name: str
    short: str
    title: str
    config: str  # configs/<config>.py
    images: int | None
    published: str
    aliases: tuple[str, ...] = ()


_ISPRS = (
    "ISPRS 2D semantic labelling benchmark "
    "https://www.isprs.org/resources/datasets/benchmarks/UrbanSemLab/"
)
_GLOBALROADSET = (
    "GlobalRoadSet (SegEarth-OV's road benchmarks): see "
    "https://github.com/likyoo/SegEarth-OV (dataset_prepare.md)"
)
_WHU = "WHU Building Dataset http://gpcv.whu.edu.cn/data/building_dataset.html"

DATASETS: dict[str, DatasetInfo] = {
    "OpenEarthMapDataset": DatasetInfo(
        "openearthmap", "OEM", "OpenEarthMap (without xBD)", "cfg_openearthmap", None,
        "https://open-earth-map.org (OpenEarthMap_wo_xBD)", ("oem",),
    ),
    "LoveDADataset": DatasetInfo(
        "loveda", "LoveDA", "LoveDA", "cfg_loveda", 1669, "https://zenodo.org/records/5706578"
    ),
    "PotsdamDataset": DatasetInfo(
        "potsdam", "Potsdam", "ISPRS Potsdam", "cfg_potsdam", 2016, _ISPRS
    ),
    "ISPRSDataset": DatasetInfo(
        "vaihingen", "Vaihingen", "ISPRS Vaihingen", "cfg_vaihingen", 398, _ISPRS, ("isprs",)
    ),
    "UDD5Dataset": DatasetInfo(
        "udd5", "UDD5", "UDD5 (Urban Drone Dataset)", "cfg_udd5", None,
        "https://github.com/MarcWong/UDD",
    ),
    "VDDDataset": DatasetInfo(
        "vdd", "VDD", "VDD (Varied Drone Dataset)", "cfg_vdd", 40,
        "https://huggingface.co/datasets/RussRobin/VDD",
    ),
    "UAVidDataset": DatasetInfo(
        "uavid", "UAVid", "UAVid", "cfg_uavid", None, "https://uavid.nl (test set with labels)"
    ),
    "iSAIDDataset": DatasetInfo(
        "isaid", "iSAID", "iSAID", "cfg_iSAID", 11644,
        "https://captain-whu.github.io/iSAID (images from DOTA-v1.0)",
    ),
    "WHUAerialDataset": DatasetInfo(
        "whu-aerial", "WHU-Aerial", "WHU Building (aerial)", "cfg_whu_aerial", 1036, _WHU
    ),
    "WHUSatIIDataset": DatasetInfo(
        "whu-sat-ii", "WHU-Sat.II", "WHU Building (satellite II)", "cfg_whu_sat_II", 3726, _WHU,
        ("whu-sat2", "whu-satii", "whu-sat.ii"),
    ),
    "InriaDataset": DatasetInfo(
        "inria", "Inria", "Inria Aerial Image Labeling", "cfg_inria", 675,
        "https://project.inria.fr/aerialimagelabeling/",
    ),
    "xBDDataset": DatasetInfo(
        "xbd", "xBD", "xBD (pre-disaster)", "cfg_xBD", 933, "https://xview2.org", ("xbd-pre",)
    ),
    "CHN6CUGDataset": DatasetInfo(
        "chn6-cug", "CHN6-CUG", "CHN6-CUG roads", "cfg_chn6-cug", 903,
        "https://grzy.cug.edu.cn/zhuqiqi/en/yjgk/32368/list/index.htm (CHN6-CUG Roads)",
    ),
    "DeepGlobeRoadDataset": DatasetInfo(
        "deepglobe", "DeepGlobe", "DeepGlobe roads (GlobalRoadSet test 1530)",
        "cfg_deepglobe_road", 1530, _GLOBALROADSET, ("deepglobe-road",),
    ),
    "MassachusettsRoadDataset": DatasetInfo(
        "massachusetts", "Massachusetts", "Massachusetts roads (GlobalRoadSet test 49)",
        "cfg_massachusetts_road", 49, _GLOBALROADSET, ("massachusetts-road",),
    ),
    "SpaceNetRoadDataset": DatasetInfo(
        "spacenet", "SpaceNet", "SpaceNet roads (GlobalRoadSet test 567)", "cfg_spacenet_road",
        567, _GLOBALROADSET, ("spacenet-road",),
    ),
    "WBSSIDataset": DatasetInfo(
        "wbs-si", "WBS-SI", "Water Body Segmentation in Satellite Images", "cfg_wbs-si", 499,
        "https://www.kaggle.com/datasets/franciscoescobar/satellite-images-of-water-bodies",
        ("water",),
    ),
}  # fmt: skip

# The eight datasets of the FarSLIP table (its column order) and SegEarth-OV's nine
# single-class benchmarks (building, road, water), run on request.
DEFAULT_DATASETS = tuple(DATASETS)[:8]
SEGEARTH_EXTRA_DATASETS = tuple(DATASETS)[8:]
DATASET_GROUPS: dict[str, tuple[str, ...]] = {  # names that stand for several datasets
    "farslip": DEFAULT_DATASETS,
    "segearth-all": DEFAULT_DATASETS + SEGEARTH_EXTRA_DATASETS,
    "segearth-extra": SEGEARTH_EXTRA_DATASETS,
    "segearth-building": SEGEARTH_EXTRA_DATASETS[:4],
    "segearth-road": SEGEARTH_EXTRA_DATASETS[4:8],
    "segearth-water": SEGEARTH_EXTRA_DATASETS[8:],
}


def normalise(name: str) -> str:
    """Lower case without '-', '_', '.', spaces and a 'Dataset' ending."""
    name = re.sub(r"[^a-z0-9]", "", name.lower())
    return name[: -len("dataset")] if name.endswith("dataset") and name != "dataset" else name


def _spellings(dataset_type: str, info: DatasetInfo) -> tuple[str, ...]:
    return (dataset_type, info.name, info.short, info.title, info.config[4:], *info.aliases)


def lookup(name: str, known: dict[str, object] | None = None) -> str | None:
    """The dataset type a name stands for (any spelling in ``DATASETS``; or a type of
    ``known``, e.g. datasets registered by the user's own configs), else None."""
    wanted = normalise(name)
    for dataset_type, info in DATASETS.items():
        if any(normalise(s) == wanted for s in _spellings(dataset_type, info)):
            return dataset_type
    for dataset_type in known or {}:
        if normalise(dataset_type) == wanted:
            return dataset_type
    return None


def suggestion(name: str, known: dict[str, object] | None = None) -> str:
    """' (did you mean X?)' for a near miss, else ''."""
    names = {normalise(s): info.name for t, info in DATASETS.items() for s in _spellings(t, info)}
    names.update({normalise(t): t for t in known or {} if t not in DATASETS})
    close = difflib.get_close_matches(normalise(name), list(names), n=1, cutoff=0.6)
    return f" (did you mean {names[close[0]]}?)" if close else ""


def select(arg: str | None, known: dict[str, object]) -> list[str]:
    """A ``--datasets`` comma list of names and groups -> dataset types, each once, in the
    order given (default: the eight of the FarSLIP table). ``known`` holds the dataset types
    that have a config; an unknown or config-less name is one error line."""
    given = [n.strip() for n in arg.split(",") if n.strip()] if arg else ["farslip"]
    types: list[str] = []
    for name in given:
        group = DATASET_GROUPS.get(name.lower())
        if group is not None:
            types += group
            continue
        found = lookup(name, known)
        if found is None or found not in known:
            listed = ", ".join(display_name(t) for t in known)
            raise ConfigError(
                f"--datasets: unknown dataset '{name}'{suggestion(name, known)}; known: "
                f"{listed}; groups: {', '.join(DATASET_GROUPS)} (eval_customized.py --list "
                "datasets)"
            )
        types.append(found)
    return list(dict.fromkeys(types))


def display_name(dataset_type: str) -> str:
    """The one name tables, files, charts and messages show for a dataset."""
    info = DATASETS.get(dataset_type)
    return info.short if info else dataset_type.removesuffix("Dataset")


def protocol_images(dataset_type: str) -> int | None:
    """Images in the protocol's split (None: the protocol fixes none, or unknown)."""
    info = DATASETS.get(dataset_type)
    return info.images if info else None
