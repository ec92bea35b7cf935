"""docs/extending.md's own-dataset example, run end to end from a folder outside the
repository: its three files as written there, a small generated dataset in its layout,
evaluated with the tiny test model through eval_customized.main; and an own model
architecture given as a model-config JSON outside the repository."""

from __future__ import annotations

import json
import os
import re
import shutil

import cv2
import numpy as np
import pytest
import torch

import eval_customized
from conftest import ROOT, TINY, cli_args, out_dir

DOC = os.path.join(ROOT, "docs", "extending.md")
CLASSES = ("background", "field", "road")


def doc_files() -> dict[str, str]:
    """The example's files: each block headed by its path in backticks."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"^`(my_fields/[^`]+)`[^`]*?\n\n```[a-z]*\n(.*?)```", text, re.S | re.M)
    return dict(blocks)


def make_fields(root: str, count: int = 4) -> None:
    """Images and masks in the example's layout: fields (1) and a road (2) on a background."""
    rng = np.random.default_rng(7)
    os.makedirs(os.path.join(root, "my_fields", "images"))
    os.makedirs(os.path.join(root, "my_fields", "masks"))
    for i in range(count):
        mask = np.zeros((96, 128), np.uint8)
        mask[10 + i : 60, 20:90] = 1
        mask[70:80, :] = 2
        mask[0:3, 0:3] = 255  # not scored
        colours = np.array([[60, 90, 60], [0, 200, 255], [128, 128, 128]], np.int16)
        image = colours[np.minimum(mask, 2)] + rng.integers(-15, 15, (96, 128, 3))
        name = f"field_{i:03d}"
        cv2.imwrite(
            os.path.join(root, "my_fields", "images", name + ".jpg"), image.astype(np.uint8)
        )
        cv2.imwrite(os.path.join(root, "my_fields", "masks", name + ".png"), mask)


@pytest.fixture
def own_dataset(tmp_path):
    """The example's folder (outside the repository) and a data root."""
    files = doc_files()
    assert set(files) == {
        "my_fields/my_fields_dataset.py",
        "my_fields/my_fields.py",
        "my_fields/my_fields_classes.txt",
    }, files
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    make_fields(str(tmp_path / "data"))
    return tmp_path / "my_fields" / "my_fields.py", tmp_path / "data"


def test_the_documented_dataset_runs_end_to_end(own_dataset, tiny_checkpoint, tmp_path, capsys):
    config, data = own_dataset
    assert not str(config).startswith(ROOT)
    work = tmp_path / "work"
    argv = cli_args(tiny_checkpoint, data, work, "--dataset-config", str(config))
    assert eval_customized.main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    folder = out_dir(work)
    with open(os.path.join(folder, "datasets", "MyFieldsDataset.json"), encoding="utf-8") as f:
        record = json.load(f)
    metrics, settings = record["metrics"], record["settings"]
    assert metrics["classes"] == list(CLASSES)  # the dataset class's, in label order
    assert len(metrics["IoU"]) == 3 and all(0.0 <= v <= 100.0 for v in metrics["IoU"])
    assert metrics["mIoU"] == pytest.approx(float(np.mean(metrics["IoU"])))
    assert settings["num_images"] == 4 and settings["dataset"] == "MyFieldsDataset"
    assert os.path.isfile(os.path.join(folder, "ovss_results_total.txt"))
    assert os.path.isfile(os.path.join(folder, "charts", "MyFieldsDataset.png"))
    assert "MyFields: mIoU" in printed
    # the class file beside the config was used
    assert settings["class_file"].endswith("my_fields/my_fields_classes.txt")


def test_the_documented_dataset_joins_the_repositorys_and_takes_a_class_file(
    own_dataset, tiny_checkpoint, data_root, tmp_path, capsys
):
    config, data = own_dataset
    for name in ("UDD5/val/src", "UDD5/val/gt"):  # one repository dataset beside it
        shutil.copytree(os.path.join(data_root, name), data / name)
    own = tmp_path / "fields_classes.txt"
    own.write_text("soil\ncrop\nstreet,road\n")
    argv = cli_args(
        tiny_checkpoint, data, tmp_path / "work", "--dataset-config", str(config),
        "--datasets", "udd5,my_fields", "--classes", f"my_fields={own}",
    )  # fmt: skip
    assert eval_customized.main(argv) == 0, capsys.readouterr().err
    folder = out_dir(tmp_path / "work")
    names = sorted(os.listdir(os.path.join(folder, "datasets")))
    assert names == ["MyFieldsDataset.json", "UDD5Dataset.json"]
    with open(os.path.join(folder, "datasets", "MyFieldsDataset.json"), encoding="utf-8") as f:
        assert str(own) in f.read()
    with open(os.path.join(folder, "datasets", "UDD5Dataset.json"), encoding="utf-8") as f:
        assert "cls_udd5.txt" in f.read()


def test_an_own_architecture_from_a_model_config_outside_the_repository(
    tiny_state_dict, data_root, tmp_path, capsys
):
    """--model-config my_vit.json --vit-type my_vit: an architecture open_clip does not ship."""
    shutil.copy(
        os.path.join(ROOT, "tests", "model_configs", f"{TINY}.json"), tmp_path / "my_vit.json"
    )
    weights = tmp_path / "my_vit.pt"
    torch.save(tiny_state_dict, weights)
    argv = cli_args(
        weights, data_root, tmp_path / "work", "--datasets", "udd5",
        "--model-config", str(tmp_path / "my_vit.json"), vit_type="my_vit",
    )  # fmt: skip
    assert eval_customized.main(argv) == 0, capsys.readouterr().err
    assert "mIoU" in capsys.readouterr().out
    assert os.path.isdir(os.path.join(tmp_path / "work", "my_vit", "CLIP"))


def test_class_file_and_dataset_config_mistakes_are_one_line(
    tiny_checkpoint, data_root, tmp_path, capsys
):
    own = tmp_path / "c.txt"
    own.write_text("a\nb\n")
    base = cli_args(tiny_checkpoint, data_root, tmp_path / "w", "--datasets", "udd5,vdd")
    cases = [
        (["--classes", f"udd55={own}"], "'udd55' (did you mean udd5?) is not a dataset of this"),
        (["--classes", f"potsdam={own}"], "is not a dataset of this run (UDD5, VDD)"),
        (["--classes", "udd5=missing.txt"], "--classes udd5=missing.txt: no such file"),
        (["--dataset-config", str(tmp_path / "nope.py")], "--dataset-config"),
    ]
    for extra, expected in cases:
        assert eval_customized.main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], err
