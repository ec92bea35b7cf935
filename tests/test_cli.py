"""eval_customized.py end to end: outputs, protocols, resume, and one-line data errors."""

from __future__ import annotations

import csv
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmseg.registry import MODELS

import eval_customized
import ovss.config
from conftest import ROOT, TINY, cli_args, out_dir
from customized_segmentor import CustomizedSegmentation
from foundation.datasets import DEFAULT_DATASETS, display_name
from references import SEGEARTH, reference_labels, reference_logits
from synthetic import LAYOUTS, MODEL_CONFIG_DIR, make_dataset


def recompute_miou(data_root, dataset, pred_dir):
    """mIoU (%) from the saved prediction PNGs and the label files, as docs/protocol.md defines it."""
    layout = LAYOUTS[dataset]
    n = layout.num_classes
    inter, union = np.zeros(n), np.zeros(n)
    ann_dir = os.path.join(data_root, layout.ann_dir)
    labels = sorted(os.listdir(ann_dir))
    assert len(os.listdir(os.path.join(pred_dir, dataset))) == len(labels)
    for name in labels:
        stem = name[: -len(layout.ann_suffix)]
        label = cv2.imread(os.path.join(ann_dir, name), cv2.IMREAD_UNCHANGED).astype(np.int64)
        pred = cv2.imread(os.path.join(pred_dir, dataset, stem + ".png"), cv2.IMREAD_UNCHANGED)
        assert pred.ndim == 2 and pred.dtype == np.uint8 and pred.shape == label.shape
        if layout.reduce_zero_label:
            label = np.where(label == 0, 255, label - 1)
            label[label == 254] = 255
        keep = label != 255
        p, g = pred[keep].astype(np.int64), label[keep]
        for c in range(n):
            inter[c] += np.sum((p == c) & (g == c))
            union[c] += np.sum((p == c) | (g == c))
    iou = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    return float(np.nanmean(iou) * 100)


@pytest.fixture(scope="module")
def full_run(tiny_checkpoint, data_root, tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    pred = tmp_path_factory.mktemp("pred")
    show = tmp_path_factory.mktemp("show")
    args = cli_args(
        tiny_checkpoint, data_root, work, "--pred-dir", str(pred), "--show-dir", str(show)
    )
    assert eval_customized.main(args) == 0
    return work, str(pred), str(show)


def test_end_to_end_outputs_and_miou_from_pngs(full_run, data_root):
    work, pred, show = full_run
    out = out_dir(work)
    lines = open(os.path.join(out, "ovss_results_total.txt")).read().splitlines()
    assert lines[0] == ",".join(DEFAULT_DATASETS) + ",mean"
    values = [float(v) for v in lines[1].split(",")]
    assert all(len(v.split(".")[1]) == 4 for v in lines[1].split(","))
    for dataset, reported in zip(DEFAULT_DATASETS, values[:-1], strict=True):
        assert abs(recompute_miou(data_root, dataset, pred) - reported) <= 5e-5 + 1e-9, dataset
    assert abs(np.mean(values[:-1]) - values[-1]) <= 1e-4
    rows = list(csv.DictReader(open(os.path.join(out, "ovss_results_per_class.csv"))))
    assert len(rows) == sum(lay.num_classes + 1 for lay in LAYOUTS.values())
    assert rows[0]["dataset"] == "OpenEarthMapDataset" and rows[0]["class"] == "background"
    payload = json.load(open(os.path.join(out, "ovss_results.json")))
    assert set(payload["datasets"]) == set(LAYOUTS)
    md = open(os.path.join(out, "ovss_results.md")).read()
    assert "protocol=farslip" in md and "## iSAID (mIoU" in md
    settings = json.load(open(os.path.join(out, "settings.json")))
    assert settings["method"] == "CLIP" and settings["model_type"] == "SegEarth"
    assert settings["fingerprint"].startswith("sha256:") and settings["precision"] == "fp32"
    assert settings["protocol"] == "farslip" and settings["cls_token_lambda"] == 0.0
    for dataset in LAYOUTS:
        drawings = os.listdir(os.path.join(show, display_name(dataset)))
        assert len(drawings) == 3 and all(d.endswith(".png") for d in drawings)
        per = settings["datasets"][dataset]
        assert (per["prob_thd"], per["bg_idx"]) == (0.0, 0)
        assert os.path.isfile(os.path.join(out, "datasets", f"{dataset}.json"))


def reference_png(seg, img_path, ori_hw, prob_thd, bg_idx, lam):
    """A prediction from scratch: cv2 read (BGR), mmcv's rescale rule, RGB, mean/std, docs/protocol.md-7."""
    bgr = cv2.imread(img_path, cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    assert (h, w) == ori_hw
    scale = min(448 / max(h, w), 448 / min(h, w))
    size = (int(w * scale + 0.5), int(h * scale + 0.5))
    rgb = cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR)[..., ::-1].astype(np.float32)
    x = (rgb - np.array([122.771, 116.746, 104.094])) / np.array([68.501, 66.632, 70.323])
    x = torch.from_numpy(x.astype(np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad():
        logits = reference_logits(seg, x, (h, w), lam=lam)
    _, pred = reference_labels(logits, seg.query_idx.tolist(), 50, prob_thd, bg_idx)
    return pred.numpy()


@pytest.mark.parametrize(
    "dataset,cls_file,protocol",
    [
        ("OpenEarthMapDataset", "cls_openearthmap.txt", "farslip"),
        ("LoveDADataset", "cls_loveda.txt", "farslip"),
        ("PotsdamDataset", "cls_potsdam.txt", "segearth"),
    ],
)
def test_cli_predictions_equal_a_from_scratch_pipeline(
    dataset, cls_file, protocol, full_run, segearth_run, tiny_checkpoint, data_root
):
    pred_dir = full_run[1] if protocol == "farslip" else segearth_run[1]
    thd, bg = SEGEARTH[dataset] if protocol == "segearth" else (0.0, 0)
    lam = -0.3 if protocol == "segearth" else 0.0
    seg = CustomizedSegmentation(
        name_path=os.path.join(ROOT, "configs", cls_file),
        model_name="CLIP",
        vit_type=TINY,
        pretrained=tiny_checkpoint,
    )
    layout = LAYOUTS[dataset]
    img_dir = os.path.join(data_root, layout.img_dir)
    for name in sorted(os.listdir(img_dir)):
        stem = name[: -len(layout.img_suffix)]
        got = cv2.imread(os.path.join(pred_dir, dataset, stem + ".png"), cv2.IMREAD_UNCHANGED)
        want = reference_png(seg, os.path.join(img_dir, name), got.shape, thd, bg, lam)
        assert (got == want).mean() >= 0.999, (dataset, name)


@pytest.fixture(scope="module")
def segearth_run(tiny_checkpoint, data_root, tmp_path_factory):
    work = tmp_path_factory.mktemp("segearth")
    pred = tmp_path_factory.mktemp("segearth_pred")
    args = cli_args(
        tiny_checkpoint, data_root, work, "--protocol", "segearth", "--pred-dir", str(pred)
    )
    assert eval_customized.main(args) == 0
    return work, str(pred)


def test_segearth_protocol_applies_per_dataset_postprocessing(
    tiny_checkpoint, data_root, segearth_run, full_run
):
    tmp_path = segearth_run[0]
    settings = json.load(open(os.path.join(out_dir(tmp_path), "settings.json")))
    assert settings["protocol"].startswith("segearth [post-processing only")
    assert "not comparable with SegEarth-OV's Table 1" in settings["protocol"]
    assert settings["cls_token_lambda"] == -0.3
    for dataset, (thd, bg) in SEGEARTH.items():
        assert (
            settings["datasets"][dataset]["prob_thd"],
            settings["datasets"][dataset]["bg_idx"],
        ) == (thd, bg)
    md = open(os.path.join(out_dir(tmp_path), "ovss_results.md")).read()
    assert "protocol=segearth" in md and "prob_thd=0.4, bg_idx=4, cls_token_lambda=-0.3" in md
    farslip = open(os.path.join(out_dir(full_run[0]), "ovss_results_total.txt")).read()
    segearth = open(os.path.join(out_dir(tmp_path), "ovss_results_total.txt")).read()
    assert farslip != segearth


def test_base_config_settings_are_honoured_and_flags_override(
    tiny_checkpoint, data_root, tmp_path, monkeypatch
):
    configs = tmp_path / "configs"
    shutil.copytree(os.path.join(ROOT, "configs"), configs)
    base = configs / "base_config.py"
    text = base.read_text()
    assert "model_type=None," in text
    base.write_text(text.replace("model_type=None,", "model_type='ClearCLIP',"))
    monkeypatch.setattr(ovss.config, "CONFIG_DIR", str(configs))
    args = cli_args(tiny_checkpoint, data_root, tmp_path / "w", "--datasets", "UDD5Dataset")
    assert eval_customized.main(args) == 0
    settings = json.load(open(os.path.join(out_dir(tmp_path / "w"), "settings.json")))
    assert settings["model_type"] == "ClearCLIP"
    assert eval_customized.main(args + ["--model-type", "NACLIP"]) == 0
    settings = json.load(open(os.path.join(out_dir(tmp_path / "w"), "settings.json")))
    assert settings["model_type"] == "NACLIP"


def test_killed_run_resumes_with_only_the_rest(tiny_checkpoint, tmp_path, capsys):
    root = str(tmp_path / "data")
    make_dataset(root, "OpenEarthMapDataset", count=2, seed=1)
    make_dataset(root, "UDD5Dataset", count=40, seed=2, sizes=((448, 448),))
    datasets = "OpenEarthMapDataset,UDD5Dataset"
    work = tmp_path / "killed"
    args = cli_args(tiny_checkpoint, root, work, "--datasets", datasets)
    pattern = os.path.join(str(work), TINY, "CLIP", "*", "datasets", "OpenEarthMapDataset.json")
    proc = subprocess.Popen(
        [
            sys.executable,
            os.path.join(ROOT, "eval_customized.py"),
            *args,
            "--model-config",
            MODEL_CONFIG_DIR,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while not glob.glob(pattern) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    first = (glob.glob(pattern) or [pattern])[0]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and os.path.exists(first)
    assert not os.path.exists(os.path.join(os.path.dirname(first), "UDD5Dataset.json"))
    saved = open(first).read()

    assert eval_customized.main(args + ["--resume"]) == 0
    printed = capsys.readouterr().out
    assert "OEM: finished earlier with the same settings, skipped" in printed
    assert "UDD5: mIoU" in printed and "OEM: mIoU" not in printed
    assert open(first).read() == saved

    straight = tmp_path / "straight"
    assert (
        eval_customized.main(cli_args(tiny_checkpoint, root, straight, "--datasets", datasets)) == 0
    )
    total = "ovss_results_total.txt"
    assert (
        open(os.path.join(out_dir(work), total)).read()
        == open(os.path.join(out_dir(straight), total)).read()
    )

    # other effective settings: --resume recomputes instead of skipping
    assert (
        eval_customized.main(
            args + ["--resume", "--model-type", "ClearCLIP", "--datasets", "OpenEarthMapDataset"]
        )
        == 0
    )
    assert "skipped" not in capsys.readouterr().out


# ------------------------------------------------------------------ errors, one line each
def _bad_label(gt):
    path = os.path.join(gt, sorted(os.listdir(gt))[1])
    label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    label[0, 0] = 9
    cv2.imwrite(path, label)


@pytest.mark.parametrize(
    "case,expected",
    [
        ("split_missing", "missing UDD5 (UDD5/val/gt); none of the requested datasets is there"),
        ("label_out_of_range", "udd5_3_001.png: label value(s) [9] outside the 5 classes"),
    ],
)
def test_data_errors_are_one_line(case, expected, tiny_checkpoint, tmp_path, capsys):
    """Through the whole CLI (before the run / during it); every case: test_data_check.py."""
    root = str(tmp_path / "d")
    make_dataset(root, "UDD5Dataset", count=2, seed=3)
    gt = os.path.join(root, "UDD5/val/gt")
    shutil.rmtree(gt) if case == "split_missing" else _bad_label(gt)
    rc = eval_customized.main(
        cli_args(tiny_checkpoint, root, tmp_path / "w", "--datasets", "UDD5Dataset")
    )
    stderr = capsys.readouterr().err
    err = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert rc == 2
    assert len(err) == 1 and expected in err[0], stderr
    assert "Traceback" not in stderr


def test_cli_setting_errors_are_one_line(tiny_checkpoint, data_root, tmp_path, capsys):
    cases = [
        (["--pretrained", str(tmp_path / "missing.pt")], "checkpoint not found: "),
        (["--datasets", "MarsDataset"], "--datasets: unknown dataset 'MarsDataset'"),
        (["--model-type", "Fancy"], "--model-type 'Fancy'"),
    ]
    for extra, expected in cases:
        rc = eval_customized.main(
            cli_args(tiny_checkpoint, data_root, tmp_path, "--datasets", "UDD5Dataset", *extra)
        )
        err = capsys.readouterr().err.strip().splitlines()
        assert rc != 0 and len(err) == 1 and expected in err[0], err


def test_segment_image_tool_matches_the_cli(full_run, data_root, tiny_checkpoint, tmp_path):
    """tools/segment_image.py given the CLI's model flags: same model, same labels."""
    layout = LAYOUTS["UAVidDataset"]
    img_dir = os.path.join(data_root, layout.img_dir)
    name = sorted(os.listdir(img_dir))[0]
    out = tmp_path / "pred.png"
    model_flags = cli_args(tiny_checkpoint, data_root, tmp_path)[:6] + ["--device", "cpu"]
    cmd = [
        sys.executable,
        os.path.join(ROOT, "tools", "segment_image.py"),
        os.path.join(img_dir, name),
        "--classes",
        os.path.join(ROOT, "configs", "cls_uavid.txt"),
        *model_flags,
        "--model-config",
        MODEL_CONFIG_DIR,
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "background" in done.stdout and (tmp_path / "pred_overlay.png").exists()
    got = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    want = cv2.imread(
        os.path.join(full_run[1], "UAVidDataset", name[:-4] + ".png"), cv2.IMREAD_UNCHANGED
    )
    assert np.array_equal(got, want)


@MODELS.register_module()
class KnobSegmentation(CustomizedSegmentation):
    """A segmentor with one extra knob: the only edit a new setting needs."""

    def __init__(self, dummy_knob: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dummy_knob = dummy_knob


def test_a_new_knob_is_recorded_printed_and_compared_by_resume(tiny_checkpoint, tmp_path, capsys):
    root = str(tmp_path / "d")
    make_dataset(root, "VDDDataset", count=1, seed=5, sizes=((100, 120),))
    work = tmp_path / "w"

    def run(knob, *extra):
        options = ["model.type=KnobSegmentation", f"model.dummy_knob={knob}"]
        argv = cli_args(tiny_checkpoint, root, work, "--datasets", "VDDDataset", *extra)
        assert eval_customized.main(argv + ["--cfg-options", *options]) == 0
        return capsys.readouterr().out

    printed = run(3)
    assert "dummy_knob=3" in printed.splitlines()[0]  # the settings line
    settings = json.load(open(os.path.join(out_dir(work), "settings.json")))
    assert settings["dummy_knob"] == 3
    assert "skipped" in run(3, "--resume")
    assert "skipped" not in run(4, "--resume")
    assert json.load(open(os.path.join(out_dir(work), "settings.json")))["dummy_knob"] == 4


def test_demo_runs_end_to_end_and_really_segments(tmp_path, capsys):
    """`eval_customized.py --demo`: the bundled toy model on the bundled scenes, the real path
    (configs, datasets, windows, attention, protocol, metric, result files, drawings)."""
    work = tmp_path / "w"
    assert eval_customized.main(["--demo", "--work-dir", str(work), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("DEMO: a toy CLIP") == 2  # said before and after the table
    for dataset in DEFAULT_DATASETS:
        assert f"{display_name(dataset)}: mIoU" in printed
        drawings = os.listdir(work / "demo_drawings" / display_name(dataset))
        assert len(drawings) >= 1
    out = Path(out_dir(work, "DemoCLIP", "DemoCLIP-ViT-T-16"))
    values = (out / "ovss_results_total.txt").read_text().splitlines()[1].split(",")
    assert float(values[-1]) >= 25.0  # the bundled model segments (README: ~50)
    assert (out / "charts" / "iSAIDDataset.png").is_file()
