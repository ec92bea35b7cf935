"""LoveDA, as mmseg's ``tools/dataset_converters/loveda.py`` (used by SegEarth-OV), val split.

Raw: ``Val.zip`` (or its folder): ``Val/{Urban,Rural}/images_png/<n>.png`` and
``Val/{Urban,Rural}/masks_png/<n>.png``; ``Train``/``Test`` are skipped.
Output: images copied to ``loveDA/img_dir/val/<n>.png``, masks to ``loveDA/ann_dir/val/<n>.png``
as single-channel class values 0 no-data (ignored through reduce_zero_label), 1 background,
2 building, 3 road, 4 water, 5 barren, 6 forest, 7 agriculture. **1669** val images (677
Urban + 992 Rural).
"""

from __future__ import annotations

from .converter import Converter, copy_jobs
from .decode import index_label
from .pool import Job
from .raw_index import Entry, by_key, pair_up, select_split
from .writing import Out


def _key(folder: str):
    def key(entry: Entry) -> str | None:
        ok = entry.parent.lower() == folder and entry.suffix.lower() == ".png"
        return entry.stem if ok else None

    return key


def plan(entries: list[Entry], out: Out, options: dict) -> list[Job]:
    entries = select_split(entries, "val", ("train", "test"))
    images = by_key(entries, _key("images_png"))
    labels = by_key(entries, _key("masks_png"))
    pairs = pair_up("LoveDA", images, labels, "Val/<Urban|Rural>/images_png/*.png")
    return copy_jobs(pairs, out, index_label)


CONVERTER = Converter(dataset="LoveDADataset", raw="Val.zip (or its folder)", plan=plan)
