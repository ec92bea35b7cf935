"""tools/segment_image.py: its inputs checked before the model is loaded, a comma list of
class names taken as classes, and both written files named."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np
import pytest

from conftest import ROOT, TINY
from synthetic import MODEL_CONFIG_DIR

sys.path.insert(0, os.path.join(ROOT, "tools"))

import segment_image  # noqa: E402
from ovss.visualize import palette_for  # noqa: E402


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    cv2.imwrite(str(path), rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
    return str(path)


def model_flags(checkpoint) -> list[str]:
    return [
        "--method", "CLIP", "--vit-type", TINY, "--pretrained", str(checkpoint),
        "--device", "cpu", "--model-config", MODEL_CONFIG_DIR,
    ]  # fmt: skip


def no_model(*args, **kwargs):
    raise AssertionError("the model was loaded before the inputs were checked")


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing image", "image {tmp}/missing.png: no such file"),
        ("text image", "image {tmp}/notes.txt: a text file, not an image"),
        ("missing class file", "--classes my_classes.txt: no such class file"),
        ("jpeg labels", "--out {tmp}/pred.jpg: use a .png name"),
        ("text checkpoint", "not a PyTorch checkpoint: a text file"),
    ],
)
def test_mistakes_are_one_line_before_the_model_loads(
    case, expected, image, tiny_checkpoint, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(segment_image, "segment", no_model)
    (tmp_path / "notes.txt").write_text("not an image\n")
    args = {"image": image, "classes": "building,road", "out": str(tmp_path / "pred.png")}
    checkpoint = tiny_checkpoint
    if case == "missing image":
        args["image"] = str(tmp_path / "missing.png")
    elif case == "text image":
        args["image"] = str(tmp_path / "notes.txt")
    elif case == "missing class file":
        args["classes"] = "my_classes.txt"
    elif case == "jpeg labels":
        args["out"] = str(tmp_path / "pred.jpg")
    else:
        checkpoint = tmp_path / "notes.txt"
    argv = [args["image"], "--classes", args["classes"], "--out", args["out"]]
    assert segment_image.main([*argv, *model_flags(checkpoint)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected.format(tmp=tmp_path) in err[0], err


def test_a_comma_list_is_classes_and_both_files_are_named(image, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out" / "photo_pred.png"
    argv = [image, "--classes", "building, road,tree", "--out", str(out)]
    assert segment_image.main([*argv, *model_flags(tiny_checkpoint)]) == 0, capsys.readouterr()
    printed = capsys.readouterr().out
    drawing = tmp_path / "out" / "photo_pred_overlay.png"
    classes = tmp_path / "out" / "photo_pred_classes.txt"
    assert f"wrote: {out} (class indices 0-2) and {drawing}" in printed
    assert classes.read_text().splitlines() == ["building", "road", "tree"]
    assert f"classes {classes}" in printed  # the settings line names the class file used
    labels = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert labels.shape == (64, 96) and labels.max() <= 2
    # the prediction is painted in the legend's colours: each class's colour covers at
    # least as many pixels of the drawing as the class has in the label map
    picture = cv2.imread(str(drawing))[..., ::-1].reshape(-1, 3)
    colours, counts = np.unique(picture, axis=0, return_counts=True)
    in_drawing = {tuple(int(v) for v in c): int(n) for c, n in zip(colours, counts, strict=True)}
    for index, colour in enumerate(palette_for(3)):
        assert in_drawing.get(tuple(colour), 0) >= int((labels == index).sum()), colour
