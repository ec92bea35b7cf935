"""Pictures: per-class IoU charts linked from the Markdown, and --show-dir drawings whose
colours are exactly the legend's, titled with the image's name and its own mIoU."""

from __future__ import annotations

import os
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

import eval_customized
from conftest import cli_args
from foundation.errors import ConfigError
from ovss import results
from ovss.charts import chart_path, save_iou_chart
from ovss.visualize import (
    LogOnlyVisualizer,
    OVSSDrawingHook,
    boundaries,
    compose,
    draw_legend,
    drawing_hook,
    drawing_name,
    ignore_colour,
    image_miou,
    title_text,
)

NAMES = ("background", "building", "road", "tree")
# black and orange side by side: a blend made them brown, the legend says black and orange
PALETTE = [[0, 0, 0], [255, 140, 0], [0, 0, 255], [20, 200, 20]]


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


def scene(seed=0, height=48, width=64):
    """A noisy image, labels with every class and some not-scored (255) pixels, and a
    prediction that differs from the labels."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    labels = rng.integers(0, len(NAMES), (height, width)).astype(np.uint8)
    labels[:5, :7] = 255
    pred = rng.integers(0, len(NAMES), (height, width)).astype(np.int64)
    return image, labels, pred


def sample(img_path, labels, pred):
    s = SegDataSample(metainfo=dict(img_path=img_path))
    s.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
    s.gt_sem_seg = PixelData(data=torch.as_tensor(labels.astype(np.int64))[None])
    return s


def fake_runner(img_dir):
    meta = dict(classes=NAMES, palette=PALETTE)
    dataset = SimpleNamespace(metainfo=meta, data_prefix=dict(img_path=img_dir), ignore_index=255)
    return SimpleNamespace(test_dataloader=SimpleNamespace(dataset=dataset))


def draw_with_hook(tmp_path, mode="solid", name="tile_07.png"):
    """The hook's drawing of one image file, read back from its PNG (RGB), with the
    inputs and the panel boxes."""
    image, labels, pred = scene()
    img_dir = tmp_path / "img_dir"
    img_dir.mkdir(exist_ok=True)
    cv2.imwrite(str(img_dir / name), image[..., ::-1])
    hook = HOOKS.build(drawing_hook(str(tmp_path / "show"), "UDD5Dataset", mode))
    hook.before_test(fake_runner(str(img_dir)))
    hook.after_test_iter(None, 0, outputs=[sample(str(img_dir / name), labels, pred)])
    folder = tmp_path / "show" / "UDD5"
    written = cv2.imread(str(folder / (os.path.splitext(name)[0] + ".png")))[..., ::-1]
    _, boxes = compose(image, pred, labels, NAMES, PALETTE, "t", mode)
    return written, boxes, image, labels, pred


def panel(drawing, box):
    top, left, height, width = box
    return drawing[top : top + height, left : left + width]


def legend_colours(drawing, below):
    return {tuple(c) for c in drawing[below:].reshape(-1, 3).tolist()}


def test_solid_panels_are_exactly_the_legend_colours(tmp_path):
    drawing, boxes, image, labels, pred = draw_with_hook(tmp_path)
    palette = np.array(PALETTE, dtype=np.uint8)
    neutral = ignore_colour(PALETTE)
    assert neutral not in {tuple(c) for c in PALETTE}
    assert (panel(drawing, boxes["image"]) == image).all()
    assert (panel(drawing, boxes["prediction"]) == palette[pred]).all()
    truth = panel(drawing, boxes["ground truth"])
    scored = labels != 255
    assert (truth[scored] == palette[labels[scored]]).all()
    assert (truth[~scored] == neutral).all()
    legend = legend_colours(drawing, boxes["image"][0] + boxes["image"][2])
    assert {tuple(c) for c in PALETTE} | {neutral} <= legend  # every colour has its swatch


def test_outline_mode_draws_boundaries_in_legend_colours_over_the_image():
    image = np.full((6, 8, 3), 90, dtype=np.uint8)
    labels = np.zeros((6, 8), dtype=np.uint8)
    labels[:, 4:] = 1  # a vertical boundary between columns 3 and 4
    drawing, boxes = compose(image, labels, labels, NAMES, PALETTE, "x", mode="outline")
    out = panel(drawing, boxes["prediction"])
    assert (out[:, 3] == PALETTE[0]).all() and (out[:, 4] == PALETTE[1]).all()
    rest = np.ones(8, dtype=bool)
    rest[[3, 4]] = False
    assert (out[:, rest] == 90).all()  # elsewhere the image itself, not tinted
    assert boundaries(labels, width=2)[:, 2:6].all() and not boundaries(labels, 2)[:, :2].any()


def test_outline_drawing_from_the_hook(tmp_path):
    drawing, boxes, image, labels, pred = draw_with_hook(tmp_path, mode="outline")
    out = panel(drawing, boxes["prediction"])
    edge = boundaries(pred)
    assert (out[edge] == np.array(PALETTE, dtype=np.uint8)[pred[edge]]).all()
    assert (out[~edge] == image[~edge]).all()


def test_image_miou_is_over_the_classes_present_on_scored_pixels():
    labels = np.array([[0, 0, 1, 1], [2, 2, 255, 255]])
    pred = np.array([[0, 1, 1, 1], [2, 2, 3, 3]])
    # class 0: 1/2, class 1: 2/3, class 2: 2/2; class 3 only where not scored; 4..: absent
    miou, classes = image_miou(labels, pred)
    assert classes == 3 and miou == pytest.approx(100 * (1 / 2 + 2 / 3 + 1) / 3)
    assert image_miou(np.full((2, 2), 255), pred[:, :2]) == (None, 0)


def test_title_holds_the_image_name_and_its_miou(tmp_path):
    drawing, boxes, image, labels, pred = draw_with_hook(tmp_path, name="tile_07.png")
    miou, classes = image_miou(labels, pred)
    title = title_text("tile_07.png", miou, classes)
    assert title.startswith("tile_07.png") and f"mIoU {miou:.1f}" in title
    assert f"over the {classes} classes present" in title
    same, _ = compose(image, pred, labels, NAMES, PALETTE, title)
    other, _ = compose(image, pred, labels, NAMES, PALETTE, title.replace("tile_07", "tile_08"))
    top = boxes["image"][0]
    assert (drawing == same).all()  # the written PNG carries exactly this title
    assert (same[:top] != other[:top]).any() and (same[top:] == other[top:]).all()


def test_folder_holds_only_drawings_named_after_the_images(tmp_path):
    image, labels, pred = scene()
    img_dir = tmp_path / "img"
    (img_dir / "seq1").mkdir(parents=True)
    paths = [img_dir / "a_000.JPG", img_dir / "b_001.tif", img_dir / "seq1" / "000000.png"]
    for path in paths:
        cv2.imwrite(str(path), image)
    hook = OVSSDrawingHook(str(tmp_path / "show" / "UDD5"))
    hook.before_test(fake_runner(str(img_dir)))
    hook.after_test_iter(None, 0, outputs=[sample(str(p), labels, pred) for p in paths])
    names = sorted(os.listdir(tmp_path / "show" / "UDD5"))
    assert names == ["a_000.png", "b_001.png", "seq1_000000.png"] and hook.drawn == 3
    assert drawing_name("/elsewhere/x.jpg", str(img_dir)) == "x.png"


def test_unknown_mode_is_one_line_naming_the_key():
    with pytest.raises(ConfigError, match="show_mode: unknown drawing mode 'blend'.*solid"):
        drawing_hook("show", "UDD5Dataset", "blend")


def test_legend_lists_every_class():
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    only = draw_legend(image, NAMES, PALETTE)
    assert only.shape[1] == 60 and only.shape[0] > 40
    assert {tuple(c) for c in PALETTE} <= legend_colours(only, 40)


def test_a_cli_run_writes_only_the_drawings(tiny_checkpoint, data_root, tmp_path, capsys):
    """--show-dir: <show-dir>/<display name>/<image stem>.png, nothing else (no mmengine
    config.py, no vis_image/), and the run says where they are."""
    show = tmp_path / "show"
    args = cli_args(tiny_checkpoint, data_root, tmp_path / "w", "--datasets", "udd5")
    assert eval_customized.main([*args, "--show-dir", str(show)]) == 0
    assert os.listdir(show) == ["UDD5"]
    images = os.listdir(os.path.join(data_root, "UDD5", "val", "src"))
    expected = sorted(os.path.splitext(n)[0] + ".png" for n in images)
    assert sorted(os.listdir(show / "UDD5")) == expected
    assert f"drawings: {show}" in capsys.readouterr().out


def test_a_run_without_drawings_logs_through_a_visualizer_without_canvas(tmp_path):
    """The Runner's visualizer: scalars reach its backends, no matplotlib figure is made,
    and drawing is an error naming the flag."""
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
