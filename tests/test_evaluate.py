"""Throughput paths give the one-image-at-a-time answer: cross-image window batching,
device-side post-processing, the 2-process (torchrun, gloo) run, and --profile."""

from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import eval_customized
from conftest import ROOT, TINY, cli_args, out_dir
from customized_segmentor import CustomizedSegmentation, OVSSDataPreProcessor
from references import reference_labels, reference_logits
from synthetic import MODEL_CONFIG_DIR, make_dataset

# (H, W) after the pipeline's resize; the thin ones give windows smaller than the crop
SIZES = [(120, 200), (448, 300), (60, 90), (231, 448), (45, 448), (448, 100)]


@pytest.fixture(scope="module")
def seg(tiny_checkpoint, class_file):
    return CustomizedSegmentation(
        name_path=class_file, model_name="CLIP", vit_type=TINY, pretrained=tiny_checkpoint
    )


def test_windows_of_several_images_batch_like_one_at_a_time(seg):
    torch.manual_seed(0)
    images = [torch.randn(3, h, w) for h, w in SIZES]
    ori = [(h * 2 + 1, w * 2) for h, w in SIZES]
    for window_batch in (64, 5, 1):
        seg.window_batch = window_batch
        with torch.no_grad():
            got = seg.slide_logits_batch(images, ori)
        for image, shape, logits in zip(images, ori, got, strict=True):
            want = reference_logits(seg, image[None], shape)
            assert logits.shape == want.shape == (len(seg.queries), *shape)
            assert (logits - want).abs().max().item() <= 1e-5, (window_batch, shape)
    seg.window_batch = 64


def test_predict_keeps_labels_on_the_device_and_probabilities_only_if_asked(seg):
    torch.manual_seed(1)
    images = [torch.randn(3, h, w) for h, w in SIZES[:3]]
    samples = [SegDataSample(metainfo=dict(ori_shape=(h, w))) for h, w in SIZES[:3]]
    seg.predict(images, samples)
    for image, sample in zip(images, samples, strict=True):
        probs, labels = reference_labels(
            reference_logits(seg, image[None], image.shape[-2:]),
            seg.query_idx.tolist(),
            50,
            0.0,
            0,
        )
        got = sample.pred_sem_seg.data
        assert got.device == seg.query_features.device and got.shape == (1, *image.shape[-2:])
        assert (got[0] == labels).float().mean().item() >= 0.999
        assert "seg_logits" not in sample  # no full-size probability maps by default
    seg.keep_probs = True
    try:
        sample = seg.predict(images[:1], [SegDataSample(metainfo=dict(ori_shape=SIZES[0]))])[0]
    finally:
        seg.keep_probs = False
    assert isinstance(sample.seg_logits, PixelData)
    want, _ = reference_labels(
        reference_logits(seg, images[0][None], SIZES[0]), seg.query_idx.tolist(), 50, 0.0, 0
    )
    assert (sample.seg_logits.data - want).abs().max().item() <= 1e-5


def test_data_preprocessor_keeps_mixed_sizes_as_a_list():
    pre = OVSSDataPreProcessor(mean=(1.0, 2.0, 3.0), std=(2.0, 2.0, 2.0), bgr_to_rgb=True)
    a = torch.randint(0, 255, (3, 5, 7), dtype=torch.uint8)
    b = torch.randint(0, 255, (3, 9, 4), dtype=torch.uint8)
    out = pre({"inputs": [a, b], "data_samples": [None, None]}, False)["inputs"]
    assert [tuple(x.shape) for x in out] == [(3, 5, 7), (3, 9, 4)]
    want = (a.flip(0).float() - torch.tensor([1.0, 2, 3])[:, None, None]) / 2
    assert torch.allclose(out[0], want)


# ------------------------------------------------------------------ through the CLI
@pytest.fixture(scope="module")
def mixed_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("mixed"))
    sizes = ((40, 400), (500, 120), (120, 200), (300, 170), (90, 60))
    make_dataset(root, "UDD5Dataset", count=5, seed=7, sizes=sizes)
    make_dataset(root, "VDDDataset", count=3, seed=8, sizes=sizes[1:])
    return root


def cli(ckpt, root, work, *extra):
    datasets = ("--datasets", "UDD5Dataset,VDDDataset", "--model-config", MODEL_CONFIG_DIR)
    return cli_args(ckpt, root, work, *datasets, *extra)


def outputs(work, pred):
    total = open(os.path.join(out_dir(work), "ovss_results_total.txt")).read()
    pngs = {}
    for folder, _, files in os.walk(str(pred)):
        for name in files:
            path = os.path.join(folder, name)
            pngs[os.path.relpath(path, str(pred))] = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    return total, pngs


@pytest.fixture(scope="module")
def one_at_a_time(tiny_checkpoint, mixed_root, tmp_path_factory):
    work, pred = tmp_path_factory.mktemp("w1"), tmp_path_factory.mktemp("p1")
    options = ["model.window_batch=1", "test_dataloader.batch_size=1"]
    argv = cli(tiny_checkpoint, mixed_root, work, "--pred-dir", str(pred))
    assert eval_customized.main(argv + ["--cfg-options", *options]) == 0
    return outputs(work, pred)


def assert_same(got, want):
    assert got[0] == want[0]  # the table, to the 4th decimal
    assert sorted(got[1]) == sorted(want[1]) and len(want[1]) == 8
    for name, labels in want[1].items():
        assert np.array_equal(got[1][name], labels), name


def test_cli_batches_across_images_with_the_same_results(
    one_at_a_time, tiny_checkpoint, mixed_root, tmp_path, capsys
):
    work, pred = tmp_path / "w", tmp_path / "p"
    argv = cli(tiny_checkpoint, mixed_root, work, "--pred-dir", str(pred), "--profile")
    assert eval_customized.main(argv + ["--cfg-options", "test_dataloader.batch_size=4"]) == 0
    assert_same(outputs(work, pred), one_at_a_time)
    printed = capsys.readouterr().out
    assert "profile (seconds):" in printed and "@ first window encoded" in printed
    assert "imports (torch, mmseg, open_clip)" in printed and "text features" in printed


def test_two_processes_with_torchrun_give_the_same_table(
    one_at_a_time, tiny_checkpoint, mixed_root, tmp_path
):
    work, pred = tmp_path / "w", tmp_path / "p"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    command += [os.path.join(ROOT, "eval_customized.py")]
    command += cli(tiny_checkpoint, mixed_root, work, "--pred-dir", str(pred))
    command += ["--launcher", "pytorch"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.count("UDD5: mIoU") == 1  # only the main process prints
    assert_same(outputs(work, pred), one_at_a_time)
