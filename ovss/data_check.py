"""The data check: each usual mistake is one clear line, found before any image is evaluated.

Two depths, one module:

- ``check_dataset`` (run by the CLI before every evaluation, cheap: file names and
  signatures only, ~8 us a file): layout (root, split folders), image/label pairing, files a
  reader accepts, zero images, and, in ``check_data``, a class file whose class count
  differs from the dataset's. (Reading headers for sizes would cost ~0.1 ms a file, 2-3 s
  on iSAID's 11644 pairs, before every run: the metric reports a size mismatch instead.)
- ``check_labels`` (run by ``tools/prepare_dataset.py`` after a conversion and by its
  ``check`` command; reads every label, ~5 ms a 512x512 file): labels read exactly as mmseg's
  ``LoadAnnotations`` reads them (Pillow, unchanged: a palette-mode PNG gives its palette
  *indices*), then colour labels, values outside the class list (other than the ignore
  value), palette-mode labels whose indices are not class indices, and a split whose labels
  hold a single value (the classic all-zero conversion) each fail with one line. It returns
  the per-value pixel histogram.

Folders and suffixes are read from the dataset config and the registered class's defaults,
without building the dataset (some mmseg datasets assert on missing folders when built).
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import Pool

import cv2
import numpy as np
from mmengine.fileio import list_dir_or_file
from mmseg.registry import DATASETS
from PIL import Image

from foundation.errors import ClassFileError, DataError
from foundation.images import header_size
from prompts import read_class_file

IGNORE_INDEX = 255  # mmseg's default ignore_index, used by every dataset here


@dataclass(frozen=True)
class DatasetLayout:
    """Where a dataset config points, read without scanning (or asserting on) the disk."""

    name: str
    root: str
    img_dir: str
    seg_dir: str
    img_suffix: str
    seg_suffix: str
    reduce_zero_label: bool
    classes: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...] = ()


def dataset_layout(ds_cfg: dict) -> DatasetLayout:
    """Folders, suffixes and label settings of a dataset config (class defaults filled in)."""
    cls = DATASETS.get(ds_cfg["type"])
    if cls is None:
        raise DataError(f"dataset type {ds_cfg['type']} is not registered")
    defaults = {
        k: p.default
        for k, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }

    def get(key: str):
        return ds_cfg.get(key, defaults.get(key))

    root = ds_cfg.get("data_root") or ""
    prefix = ds_cfg.get("data_prefix", {})
    return DatasetLayout(
        name=cls.__name__,
        root=root,
        img_dir=os.path.join(root, prefix.get("img_path", "")),
        seg_dir=os.path.join(root, prefix.get("seg_map_path", "")),
        img_suffix=get("img_suffix"),
        seg_suffix=get("seg_map_suffix"),
        reduce_zero_label=bool(get("reduce_zero_label")),
        classes=tuple(cls.METAINFO["classes"]),
        palette=tuple(tuple(int(v) for v in c) for c in cls.METAINFO.get("palette", ())),
    )


def _few(names: list[str]) -> str:
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def _stems(folder: str, suffix: str) -> dict[str, str]:
    """Relative name without suffix -> relative file name (mmseg's own pairing rule)."""
    return {
        name[: -len(suffix)]: name
        for name in list_dir_or_file(folder, list_dir=False, suffix=suffix, recursive=True)
    }


def dataset_pairs(layout: DatasetLayout) -> list[tuple[str, str]]:
    """(image path, label path) of every sample, sorted; each pairing problem is one line."""
    name, img_dir, seg_dir = layout.name, layout.img_dir, layout.seg_dir
    img_suffix, seg_suffix = layout.img_suffix, layout.seg_suffix
    expected = f"expected {img_dir}/<name>{img_suffix} with labels {seg_dir}/<name>{seg_suffix}"
    if layout.root and not os.path.isdir(layout.root):
        raise DataError(
            f"{name}: data root {layout.root} does not exist; set test_data_root in "
            f"configs/base_config.py or pass --data-root ({expected})"
        )
    for folder in (img_dir, seg_dir):
        if not os.path.isdir(folder):
            raise DataError(f"{name}: folder {folder} does not exist ({expected})")
    images = _stems(img_dir, img_suffix)
    labels = _stems(seg_dir, seg_suffix)
    if not images:
        raise DataError(f"{name}: no *{img_suffix} images in {img_dir} ({expected})")
    unlabelled = sorted(set(images) - set(labels))
    if unlabelled:
        raise DataError(
            f"{name}: {len(unlabelled)} image(s) in {img_dir} without a label in {seg_dir} "
            f"(first: {_few([images[s] for s in unlabelled])}); add the labels or remove the images"
        )
    orphans = sorted(set(labels) - set(images))
    if orphans:
        raise DataError(
            f"{name}: {len(orphans)} label(s) in {seg_dir} without an image in {img_dir} "
            f"(first: {_few([labels[s] for s in orphans])}); add the images or remove the labels"
        )
    return [
        (os.path.join(img_dir, images[s]), os.path.join(seg_dir, labels[s])) for s in sorted(images)
    ]


def _size_mismatch(name: str, img_path: str, seg_path: str, img_wh, seg_wh) -> DataError:
    return DataError(
        f"{name}: image {img_path} is {img_wh[0]}x{img_wh[1]} but its label {seg_path} is "
        f"{seg_wh[0]}x{seg_wh[1]} (width x height); crop or convert both the same way"
    )


def check_dataset(layout: DatasetLayout) -> int:
    """Folders, pairing and readable files (signatures only); return #images. Cheap on
    purpose (it runs before every evaluation): label contents and sizes are read by
    ``check_labels``, and a size mismatch met during a run is one line from the metric."""
    pairs = dataset_pairs(layout)
    for img_path, seg_path in pairs:
        for path in (img_path, seg_path):
            if not cv2.haveImageReader(path):  # reads the signature only
                raise DataError(
                    f"{layout.name}: unreadable image file {path}; replace or remove it"
                )
    return len(pairs)


def check_data(cfg) -> int:
    """Layout, pairing and readability, and the class file against the dataset's classes
    (for a resolved dataset config); returns the number of images."""
    layout = dataset_layout(cfg.test_dataloader.dataset)
    n = check_dataset(layout)
    _, query_idx = read_class_file(cfg.model.name_path)
    n_cls = max(query_idx) + 1
    if n_cls != len(layout.classes):
        raise ClassFileError(
            f"{cfg.model.name_path}: {n_cls} classes but {layout.name} has "
            f"{len(layout.classes)}; one line per class"
        )
    return n


# ----------------------------------------------------------------------------------------
# Label content: every label file read in full.


@dataclass
class LabelReport:
    """What ``check_labels`` found: the number of pairs and the raw-value pixel histogram."""

    layout: DatasetLayout
    count: int
    histogram: np.ndarray = field(repr=False)  # pixels per raw label value 0..255

    def class_of(self, value: int) -> int | None:
        """The class a raw label value stands for (None: ignored)."""
        if value == IGNORE_INDEX:
            return None
        if self.layout.reduce_zero_label:
            return None if value == 0 else value - 1
        return value

    def rows(self) -> list[tuple[str, int]]:
        """(label, pixels) per class in class order, then the ignored pixels."""
        per_class = [0] * len(self.layout.classes)
        ignored = 0
        for value in np.flatnonzero(self.histogram):
            k = self.class_of(int(value))
            if k is None:
                ignored += int(self.histogram[value])
            else:
                per_class[k] += int(self.histogram[value])
        ignored_values = "0, 255" if self.layout.reduce_zero_label else "255"
        names = self.layout.classes
        rows = [(f"{k} {c}", n) for k, (c, n) in enumerate(zip(names, per_class, strict=True))]
        return rows + [(f"ignored ({ignored_values})", ignored)]

    def table(self) -> str:
        """The histogram as aligned text lines (pixels and share of all pixels)."""
        rows = self.rows()
        total = max(sum(n for _, n in rows), 1)
        width = max(len(label) for label, _ in rows)
        return "\n".join(
            f"  {label:<{width}}  {n:>14,d}  {100.0 * n / total:6.2f}%" for label, n in rows
        )


def valid_values(layout: DatasetLayout) -> frozenset[int]:
    """Raw label values a dataset accepts: its classes (0 too with reduce_zero_label) + 255."""
    top = len(layout.classes) + (1 if layout.reduce_zero_label else 0)
    return frozenset(range(top)) | {IGNORE_INDEX}


def read_label(path: str) -> tuple[np.ndarray, Image.Image]:
    """A label as mmseg's LoadAnnotations reads it (Pillow, 'unchanged'), and its image."""
    with Image.open(path) as im:
        im.load()
    return np.array(im), im


def _palette_contradiction(
    layout: DatasetLayout, im: Image.Image, values: np.ndarray
) -> tuple[int, int] | None:
    """(index, class) where a colour palette draws an index in another class's colour.

    Only for a palette that uses the dataset's own class colours and is not greyscale: then
    the file is a colour-coded label saved in palette mode, and where index v is drawn in
    the colour of class k != v its indices are not class indices (mmseg reads the indices).
    """
    palette = im.getpalette() or []
    colour_class = {c: k for k, c in enumerate(layout.palette)}
    used = [int(v) for v in values if v != IGNORE_INDEX and 3 * v + 2 < len(palette)]
    colours = {v: tuple(palette[3 * v : 3 * v + 3]) for v in used}
    if not colours or all(r == g == b for r, g, b in colours.values()):
        return None
    if not all(c in colour_class for c in colours.values()):
        return None
    shift = 1 if layout.reduce_zero_label else 0
    for v, colour in sorted(colours.items()):
        k = colour_class[colour]
        if k + shift != v:
            return v, k
    return None


def _scan_label(task: tuple[DatasetLayout, str, str]) -> tuple[np.ndarray, str | None]:
    """One pair: (histogram of its raw values, first problem as one line or None)."""
    layout, img_path, seg_path = task
    hist = np.zeros(256, dtype=np.int64)
    name, k = layout.name, len(layout.classes)
    try:
        label, im = read_label(seg_path)
    except (OSError, ValueError, SyntaxError) as err:
        return hist, f"{name}: unreadable label file {seg_path} ({err}); replace or remove it"
    if label.ndim == 3 and label.shape[2] > 1:
        return hist, (
            f"{name}: label {seg_path} is a {im.mode} colour image, not class indices; convert "
            "it to single-channel class indices (tools/prepare_dataset.py does)"
        )
    label = label.reshape(label.shape[:2])
    img_wh, seg_wh = header_size(img_path), (label.shape[1], label.shape[0])
    if img_wh and img_wh != seg_wh:
        return hist, str(_size_mismatch(name, img_path, seg_path, img_wh, seg_wh))
    values = np.unique(label)
    valid = valid_values(layout)
    bad = [int(v) for v in values if int(v) not in valid]
    top = k if layout.reduce_zero_label else k - 1
    classes = f"0..{top}" + (" with 0 ignored" if layout.reduce_zero_label else "")
    if im.mode == "P":
        contradiction = None if bad else _palette_contradiction(layout, im, values)
        if bad or contradiction:
            detail = (
                f"indices {bad[:5]} outside {classes}"
                if bad
                else f"index {contradiction[0]} drawn in the colour of class {contradiction[1]} "
                f"({layout.classes[contradiction[1]]})"
            )
            return hist, (
                f"{name}: label {seg_path} is a palette-mode {im.format or 'image'} whose "
                "palette indices are not "
                f"class indices ({detail}); mmseg reads the indices: save labels as "
                "single-channel class indices ('L' mode; tools/prepare_dataset.py does)"
            )
    if bad:
        return hist, (
            f"{name}: label {seg_path} holds value(s) {bad[:5]} outside the class list "
            f"({k} classes: values {classes}, 255 ignored); fix the labels or the dataset config"
        )
    hist += np.bincount(label.ravel().astype(np.int64), minlength=256)[:256]
    return hist, None


def check_labels(
    layout: DatasetLayout,
    nproc: int = 1,
    progress: Callable[[int], None] | None = None,
) -> LabelReport:
    """Read every label of a split (after ``dataset_pairs``); the first problem, in file
    order, is raised as one line (with how many more files have one)."""
    pairs = dataset_pairs(layout)
    tasks = [(layout, img, seg) for img, seg in pairs]
    total = np.zeros(256, dtype=np.int64)
    problems: list[str] = []
    if nproc > 1 and len(tasks) > 1:
        with Pool(min(nproc, len(tasks))) as pool:
            results = list(_tracked(pool.imap(_scan_label, tasks, chunksize=8), progress))
    else:
        results = list(_tracked(map(_scan_label, tasks), progress))
    for hist, problem in results:
        total += hist
        if problem:
            problems.append(problem)
    if problems:
        more = f" (and {len(problems) - 1} more file(s))" if len(problems) > 1 else ""
        raise DataError(problems[0] + more)
    report = LabelReport(layout, len(pairs), total)
    present = [int(v) for v in np.flatnonzero(total)]
    if len(present) == 1:
        raise DataError(
            f"{layout.name}: all {len(pairs)} label file(s) in {layout.seg_dir} hold the single "
            f"value {present[0]}: the labels are broken (a palette-mode or colour label read as "
            "indices, or a wrong colour table); convert them with tools/prepare_dataset.py"
        )
    if not any(report.class_of(v) is not None for v in present):
        raise DataError(
            f"{layout.name}: every label pixel in {layout.seg_dir} is ignored (values "
            f"{present}); the labels are broken; convert them with tools/prepare_dataset.py"
        )
    return report


def _tracked(results, progress: Callable[[int], None] | None):
    for result in results:
        if progress is not None:
            progress(1)
        yield result
