"""The data check run before any image is evaluated: each usual mistake is one clear line.

Layout (root, split folders), image/label pairing, decodable files, zero images, and a class
file whose class count differs from the dataset's. Folders and suffixes are read from the
dataset config and the registered class's defaults, without building the dataset (some mmseg
datasets assert on missing folders when built).
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

import inspect
import os
from dataclasses import dataclass

import cv2
from mmengine.fileio import list_dir_or_file
from mmseg.registry import DATASETS

from prompts import read_class_file

from .errors import ClassFileError, DataError


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
    )


def _few(names: list[str]) -> str:
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def _stems(folder: str, suffix: str) -> dict[str, str]:
    """Relative name without suffix -> relative file name (mmseg's own pairing rule)."""
    return {
        name[: -len(suffix)]: name
        for name in list_dir_or_file(folder, list_dir=False, suffix=suffix, recursive=True)
    }


def check_dataset(layout: DatasetLayout) -> int:
    """Check the folders, the image/label pairing and that files decode; return #images."""
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
    for folder, files in ((img_dir, images), (seg_dir, labels)):
        for rel in sorted(files.values()):
            path = os.path.join(folder, rel)
            if not cv2.haveImageReader(path):  # reads the header only
                raise DataError(f"{name}: unreadable image file {path}; replace or remove it")
    return len(images)


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
