"""A converter as the entry point sees it, and the plan the untiled converters share.

The dataset's names, title and protocol image count are not restated here: they are read
from ``foundation.datasets`` (the one table of dataset facts) through the dataset type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from foundation.datasets import DATASETS, DatasetInfo
from foundation.errors import DataError

from .decode import entry_size
from .pool import Job, all_exist
from .raw_index import Entry, by_key, pair_up
from .writing import Out, put_image, write_label


@dataclass(frozen=True)
class Converter:
    """One dataset's converter.

    ``plan(entries, out, options)`` returns the jobs. ``options`` holds the size options
    with their published defaults (``expected`` holds only with them). ``other_splits``:
    split name -> the one-line note that it is not the protocol's split, for the releases
    whose other labelled split a user may convert on request (``--split``).
    """

    dataset: str  # the registered dataset type, the key of foundation.datasets.DATASETS
    raw: str  # what RAW is, in a few words
    plan: Callable[[list[Entry], Out, dict], list[Job]]
    options: dict[str, int] = field(default_factory=dict)
    other_splits: dict[str, str] = field(default_factory=dict)

    @property
    def info(self) -> DatasetInfo:
        return DATASETS[self.dataset]

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def title(self) -> str:
        return self.info.title

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.info.aliases

    @property
    def expected(self) -> int | None:
        """The protocol's image count (None where the protocol fixes none)."""
        return self.info.images


def copy_pair(
    image: Entry, label: Entry, img_path: str, seg_path: str, label_fn: Callable, *, overwrite: bool
) -> tuple[list[str], bool]:
    """One image copied (or re-encoded) and its label converted by ``label_fn(entry)``."""
    outputs = [img_path, seg_path]
    if not overwrite and all_exist(outputs):
        return outputs, False
    array = label_fn(label)
    height, width = entry_size(image)
    if array.shape[:2] != (height, width):
        raise DataError(
            f"{image.path} is {width}x{height} but its label {label.path} is "
            f"{array.shape[1]}x{array.shape[0]}; the download is damaged"
        )
    put_image(image, img_path)
    write_label(seg_path, array)
    return outputs, True


def copy_jobs(
    pairs: list[tuple[str, Entry, Entry]], out: Out, label_fn: Callable[[Entry], np.ndarray]
) -> list[Job]:
    """One ``copy_pair`` job per (key, image, label), written under the key's name."""
    return [
        Job(copy_pair, (image, label, *out.pair(key), label_fn), out.pair(key))
        for key, image, label in pairs
    ]


def folder_plan(
    entries: list[Entry],
    out: Out,
    title: str,
    image_key: Callable[[Entry], str | None],
    label_key: Callable[[Entry], str | None],
    label_fn: Callable[[Entry], np.ndarray],
    keep: Callable[[str], bool] = lambda key: True,
) -> list[Job]:
    """One ``copy_pair`` job per image whose key ``keep`` accepts (the binary benchmarks)."""
    images = {k: e for k, e in by_key(entries, image_key).items() if keep(k)}
    labels = by_key(entries, label_key)
    return copy_jobs(pair_up(title, images, labels, "images"), out, label_fn)
