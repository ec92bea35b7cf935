"""ovss.metric: mmseg's IoU at full precision, per class, with label checks and PNGs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from foundation.errors import DataError
from ovss.metric import OVSSIoUMetric


def sample(pred, label, path="x.png"):
    return {
        "pred_sem_seg": {"data": torch.as_tensor(pred)[None]},
        "gt_sem_seg": {"data": torch.as_tensor(label)[None]},
        "img_path": f"/data/img/{path}",
        "seg_map_path": f"/data/ann/{path}",
    }


def reference_miou(preds, labels, n):
    inter, union = np.zeros(n), np.zeros(n)
    for p, g in zip(preds, labels, strict=True):
        keep = g != 255
        for c in range(n):
            inter[c] += np.sum((p[keep] == c) & (g[keep] == c))
            union[c] += np.sum((p[keep] == c) | (g[keep] == c))
    iou = np.where(union > 0, inter / np.maximum(union, 1), np.nan) * 100
    return float(np.nanmean(iou)), iou


def test_miou_per_class_and_unrounded(tmp_path):
    rng = np.random.default_rng(0)
    n = 4
    preds = [rng.integers(0, n, (30, 40)) for _ in range(3)]
    labels = [rng.integers(0, n - 1, (30, 40)) for _ in range(3)]  # class 3 never labelled
    labels[0][:5] = 255
    metric = OVSSIoUMetric(pred_dir=str(tmp_path / "pred"))
    metric.dataset_meta = {"classes": ["a", "b", "c", "d"]}
    for i, (p, g) in enumerate(zip(preds, labels, strict=True)):
        metric.process({}, [sample(p, g, f"im{i}.png")])
    got = metric.compute_metrics(metric.results)
    want, iou = reference_miou(preds, labels, n)
    assert abs(got["mIoU"] - want) < 1e-6 and got["classes"] == ["a", "b", "c", "d"]
    assert all(abs(a - b) < 1e-6 for a, b in zip(got["IoU"], iou, strict=True))
    saved = cv2.imread(str(tmp_path / "pred" / "im1.png"), cv2.IMREAD_UNCHANGED)
    assert saved.dtype == np.uint8 and np.array_equal(saved, preds[1])


def test_labels_outside_the_class_list_are_a_data_error():
    metric = OVSSIoUMetric()
    metric.dataset_meta = {"classes": ["a", "b"]}
    label = np.zeros((4, 4), dtype=np.int64)
    label[0, 0] = 7
    with pytest.raises(DataError, match=r"x.png: label value\(s\) \[7\] outside the 2 classes"):
        metric.process({}, [sample(np.zeros((4, 4)), label)])
    label[0, 0] = 255  # ignored: fine
    metric.process({}, [sample(np.zeros((4, 4)), label)])
    assert len(metric.results) == 1  # kept, counted


def test_a_label_of_another_size_than_its_image_is_a_data_error():
    metric = OVSSIoUMetric()
    metric.dataset_meta = {"classes": ["a", "b"]}
    with pytest.raises(DataError, match=r"x.png: label is 4x3 but its image .* is 5x3"):
        metric.process({}, [sample(np.zeros((3, 5)), np.zeros((3, 4), dtype=np.int64))])
