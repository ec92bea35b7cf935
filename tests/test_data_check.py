"""ovss.data_check: each usual data mistake is one line naming the path, before any image."""

from __future__ import annotations

import os
import shutil

import pytest
from mmengine.config import Config

from custom_datasets import UDD5Dataset  # noqa: F401  (registers it)
from foundation.errors import ClassFileError, DataError
from ovss.config import dataset_configs
from ovss.data_check import check_data, dataset_layout
from synthetic import make_dataset


def udd5(tmp_path, count=2):
    root = str(tmp_path / "d")
    make_dataset(root, "UDD5Dataset", count=count, seed=3)
    cfg = Config.fromfile(dataset_configs()["UDD5Dataset"], import_custom_modules=False)
    cfg.test_dataloader.dataset.data_root = root
    cfg.model.name_path = os.path.join(os.path.dirname(cfg.filename), "cls_udd5.txt")
    return cfg, root, os.path.join(root, "UDD5/val/src"), os.path.join(root, "UDD5/val/gt")


def remove_first(folder):
    os.remove(os.path.join(folder, sorted(os.listdir(folder))[0]))


def garbage_image(src, gt):
    with open(os.path.join(src, sorted(os.listdir(src))[0]), "wb") as f:
        f.write(b"not an image at all")


def empty(src, gt):
    for folder in (src, gt):
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))


ERRORS = {
    "split_missing": (lambda s, g: shutil.rmtree(g), "UDD5/val/gt does not exist (expected"),
    "image_without_label": (
        lambda s, g: remove_first(g),
        "1 image(s) in {root}/UDD5/val/src without a label",
    ),
    "label_without_image": (
        lambda s, g: remove_first(s),
        "1 label(s) in {root}/UDD5/val/gt without an image",
    ),
    "unreadable_image": (garbage_image, "unreadable image file {root}/UDD5/val/src/udd5_3_000.JPG"),
    "zero_images": (empty, "no *.JPG images in {root}/UDD5/val/src"),
}


def test_good_data_counts_images(tmp_path):
    cfg, *_ = udd5(tmp_path, count=3)
    assert check_data(cfg) == 3
    layout = dataset_layout(cfg.test_dataloader.dataset)
    assert (layout.img_suffix, layout.seg_suffix, layout.reduce_zero_label) == (
        ".JPG",
        ".png",
        False,
    )


@pytest.mark.parametrize("case", list(ERRORS))
def test_data_errors_are_one_line(case, tmp_path):
    cfg, root, src, gt = udd5(tmp_path)
    mutate, expected = ERRORS[case]
    mutate(src, gt)
    with pytest.raises(DataError) as info:
        check_data(cfg)
    assert expected.format(root=root) in str(info.value) and "\n" not in str(info.value)


def test_class_file_with_the_wrong_class_count(tmp_path):
    cfg, *_ = udd5(tmp_path)
    bad = tmp_path / "cls.txt"
    bad.write_text("road\ntree\n")
    cfg.model.name_path = str(bad)
    with pytest.raises(ClassFileError, match="2 classes but UDD5Dataset has 5"):
        check_data(cfg)
