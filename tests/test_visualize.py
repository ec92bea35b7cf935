"""Pictures: per-class IoU charts linked from the Markdown, and --show-dir drawings with a
class-colour legend."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from ovss import results
from ovss.charts import chart_path, save_iou_chart
from ovss.visualize import (
    LogOnlyVisualizer,
    OVSSVisualizer,
    colour_overlay,
    draw_legend,
    side_by_side,
)


def record(dataset="A"):
    return {
        "dataset": dataset,
        "settings": {
            "model_type": "SegEarth",
            "protocol": "farslip",
            "precision": "fp32",
            "prob_thd": 0.0,
            "bg_idx": 0,
            "cls_token_lambda": 0.0,
        },
        "metrics": {
            "mIoU": 30.0,
            "mAcc": 40.0,
            "aAcc": 50.0,
            "classes": ["road", "tree", "car"],
            "IoU": [50.0, 10.0, None],
            "Acc": [60.0, 20.0, None],
        },
    }


def test_iou_chart_is_written_and_linked(tmp_path):
    out = str(tmp_path)
    path = save_iou_chart(out, record(), "ViT-B-16 CLIP")
    assert path == chart_path(out, "A") and os.path.isfile(path)
    png = cv2.imread(path)
    assert png.shape[0] > 100 and png.shape[1] == 750  # 7.5 in x 100 dpi
    results.write_summary(out, "ViT-B-16 CLIP", {}, [record("A"), record("B")])
    md = open(os.path.join(out, results.MD_FILE)).read()
    assert "![per-class IoU of A](charts/A.png)" in md and "charts/B.png" not in md


def test_overlay_colours_labelled_pixels_and_keeps_ignored_ones():
    image = np.full((2, 2, 3), 100, dtype=np.uint8)
    labels = np.array([[0, 1], [255, 1]])
    palette = np.array([[255, 0, 0], [0, 0, 255]], dtype=np.uint8)
    out = colour_overlay(image, labels, palette, alpha=0.5)
    assert out[0, 0].tolist() == [177, 50, 50] and out[0, 1].tolist() == [50, 50, 177]
    assert out[1, 0].tolist() == [100, 100, 100]  # 255 = ignored: the image shows


def test_drawing_has_three_panels_and_a_legend_with_every_class():
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    pred = np.zeros((40, 60), dtype=np.int64)
    pred[:, 30:] = 2
    names = ["background", "building", "road"]
    palette = [[0, 0, 0], [255, 0, 0], [0, 0, 255]]
    drawn = side_by_side(image, pred, pred, names, palette)
    assert drawn.shape[1] == 3 * 60 + 2 * 6 and drawn.shape[0] > 40 + 22
    legend = drawn[40 + 22 :]
    for colour in ([255, 0, 0], [0, 0, 255]):  # every class's swatch is in the legend
        assert (legend.reshape(-1, 3) == colour).all(axis=1).any(), colour
    only = draw_legend(image, names, palette)
    assert only.shape[1] == 60 and only.shape[0] > 40


def test_visualizer_saves_the_drawing(tmp_path):
    vis = OVSSVisualizer(
        name="t", vis_backends=[dict(type="LocalVisBackend")], save_dir=str(tmp_path)
    )
    vis.dataset_meta = dict(classes=("a", "b"), palette=[[10, 200, 10], [200, 10, 10]])
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=torch.ones(1, 8, 8, dtype=torch.long))
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, 8, 8, dtype=torch.long))
    vis.add_datasample("img.png", np.zeros((8, 8, 3), dtype=np.uint8), sample, step=0)
    saved = [
        os.path.join(folder, f)
        for folder, _, files in os.walk(tmp_path)
        for f in files
        if f.endswith(".png")
    ]
    assert len(saved) == 1
    drawing = cv2.imread(saved[0])[..., ::-1]  # [image | prediction | labels] + legend
    assert drawing.shape[1] == 3 * 8 + 2 * 6
    pred, labels = drawing[22:30, 14:22], drawing[22:30, 28:36]
    assert (pred == pred[0, 0]).all() and (labels == labels[0, 0]).all()
    assert pred[0, 0].tolist() != labels[0, 0].tolist()  # class b drawn, class a drawn


def test_a_run_without_drawings_logs_through_a_visualizer_without_canvas(tmp_path):
    """The Runner's visualizer for runs without --show-dir: scalars reach its backends, no
    matplotlib figure is made, and drawing is an error naming the flag."""
    vis = LogOnlyVisualizer(
        name="log-only-test",
        vis_backends=[dict(type="LocalVisBackend")],
        save_dir=str(tmp_path),
    )
    assert vis.fig_save_canvas is None and vis.ax_save is None
    vis.add_scalars({"mIoU": 12.5}, step=0)
    scalars = os.path.join(tmp_path, "vis_data", "scalars.json")
    assert "12.5" in open(scalars).read()
    with pytest.raises(RuntimeError, match="--show-dir"):
        vis.set_image(np.zeros((4, 4, 3), np.uint8))
