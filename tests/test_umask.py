"""Every file the tools write follows the user's umask, like any file a user writes: a data
folder prepared once for a lab, or a comparison shared, is readable by colleagues under umask
022 and private under 077 (the CLI's own files: tests/test_run_folders.py)."""

from __future__ import annotations

import os
import stat
import sys

import cv2
import numpy as np
import pytest

from conftest import ROOT, TINY, cli_args
from raw_downloads import make_all
from synthetic import MODEL_CONFIG_DIR, make_dataset

sys.path.insert(0, os.path.join(ROOT, "tools"))

import compare_runs  # noqa: E402
import eval_customized  # noqa: E402
import prepare_dataset  # noqa: E402
import segment_image  # noqa: E402


def paths_below(*folders) -> list[str]:
    """Every file and folder below ``folders`` (the folders themselves excluded)."""
    found = []
    for top in folders:
        for folder, dirs, files in os.walk(top):
            found += [os.path.join(folder, n) for n in dirs + files]
    return found


def with_umask(mask: int, call) -> int:
    before = os.umask(mask)
    try:
        return call()
    finally:
        os.umask(before)


def assert_modes(paths: list[str], readable: bool) -> None:
    assert paths
    for path in paths:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if readable:
            assert mode & 0o044 == 0o044, (oct(mode), path)
        else:
            assert mode & 0o077 == 0, (oct(mode), path)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return make_all(str(tmp_path_factory.mktemp("downloads")))


@pytest.fixture(scope="module")
def finished_run(tiny_checkpoint, tmp_path_factory):
    """A finished run folder to compare (written under the default umask)."""
    work = tmp_path_factory.mktemp("work")
    root = str(work / "data")
    make_dataset(root, "VDDDataset", count=1, seed=2)
    assert (
        eval_customized.main(cli_args(tiny_checkpoint, root, work / "w", "--datasets", "vdd")) == 0
    )
    return str(work / "w")


@pytest.mark.parametrize("mask,readable", [(0o022, True), (0o077, False)])
def test_prepare_compare_and_segment_image_follow_the_umask(
    mask, readable, downloads, finished_run, tiny_checkpoint, tmp_path
):
    data, comparison, out = tmp_path / "data", tmp_path / "cmp", tmp_path / "seg"
    raw = downloads["vdd"]
    prepare = [
        "vdd", *raw.raw, "--data-root", str(data), "--nproc", "1", *raw.options,
    ]  # fmt: skip
    assert with_umask(mask, lambda: prepare_dataset.main(prepare)) == 0
    compare = [finished_run, "--out", str(comparison)]
    assert with_umask(mask, lambda: compare_runs.main(compare)) == 0

    image = str(tmp_path / "photo.png")
    cv2.imwrite(image, np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    segment = [
        image, "--classes", "building,road,tree", "--out", str(out / "photo_pred.png"),
        "--method", "CLIP", "--vit-type", TINY, "--pretrained", str(tiny_checkpoint),
        "--device", "cpu", "--model-config", MODEL_CONFIG_DIR,
    ]  # fmt: skip
    assert with_umask(mask, lambda: segment_image.main(segment)) == 0

    written = paths_below(data, comparison, out)
    kinds = {os.path.splitext(p)[1] for p in written}
    assert {".png", ".JPG", ".md", ".csv", ".tex", ".txt"} <= kinds, kinds
    assert_modes(written, readable)
