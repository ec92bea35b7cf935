"""OpenEarthMap, as SegEarth-OV's ``tools/dataset_converters/openearthmap.py``: the release
without xBD (``OpenEarthMap_wo_xBD``), its val split.

Raw: the release zip or folder: ``<region>/images/<region>_<n>.tif``,
``<region>/labels/<region>_<n>.tif`` and ``val.txt`` (the val file names).
Output: the val images found, copied unchanged, to ``OpenEarthMap/img_dir/val/<name>.tif``;
their labels to ``OpenEarthMap/ann_dir/val/<name>.tif`` as single-channel 8-bit TIFFs with
the released values 0 background/unknown, 1 bareland, 2 rangeland, 3 developed space, 4 road,
5 tree, 6 water, 7 agriculture land, 8 building (a palette-mode label keeps its indices).
Count: the names of val.txt that are in the download (the wo_xBD release lacks the xBD
ones); the protocol fixes no number.
"""

from __future__ import annotations

from foundation.errors import DataError

from .converter import Converter, copy_jobs
from .decode import index_label
from .pool import Job
from .raw_index import Entry, by_key, pair_up
from .writing import Out


def val_names(entries: list[Entry]) -> set[str]:
    lists = sorted((e for e in entries if e.name.lower() == "val.txt"), key=lambda e: len(e.parts))
    if not lists:
        raise DataError("OpenEarthMap: no val.txt in RAW; pass the OpenEarthMap_wo_xBD release")
    lines = lists[0].read().decode("utf-8", "replace").split()
    return {line.strip()[:-4] if line.lower().endswith(".tif") else line.strip() for line in lines}


def _key(folder: str, names: set[str]):
    def key(entry: Entry) -> str | None:
        if entry.parent.lower() != folder or entry.suffix.lower() != ".tif":
            return None
        return entry.stem if entry.stem in names else None

    return key


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    names = val_names(entries)
    images = by_key(entries, _key("images", names))
    labels = by_key(entries, _key("labels", names))
    pairs = pair_up("OpenEarthMap", images, labels, "val images (<region>/images/*.tif)")
    return copy_jobs(pairs, out, index_label)


CONVERTER = Converter(
    dataset="OpenEarthMapDataset",
    raw="OpenEarthMap_wo_xBD (the zip or its folder, with val.txt)",
    plan=plan,
)
