"""The demo's scene generator, its bundled datasets and the demo model's training script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import open_clip
import pytest
import torch

import long_clip
from conftest import ROOT
from dense import build_method
from foundation.zoo import resolve_source
from model_families.openclip_tower import OpenCLIPTower

sys.path.insert(0, os.path.join(ROOT, "tools"))

from train_demo_clip import encode_text, forward_image  # noqa: E402

import demo_scenes  # noqa: E402
from demo_scenes import GEN_CLASSES, generate_scene  # noqa: E402

MODEL_CONFIGS = os.path.join(ROOT, "model_configs")
DEMO_MODEL = "DemoCLIP-ViT-T-16"

# docs/protocol.md, written out here independently of demo_scenes.DATASETS.
LAYOUTS = {
    "OpenEarthMapDataset": (
        "OpenEarthMap/img_dir/val",
        "OpenEarthMap/ann_dir/val",
        ".tif",
        ".tif",
        False,
        "openearthmap",
    ),
    "LoveDADataset": ("loveDA/img_dir/val", "loveDA/ann_dir/val", ".png", ".png", True, "loveda"),
    "PotsdamDataset": (
        "potsdam/img_dir/val",
        "potsdam/ann_dir/val",
        ".png",
        ".png",
        True,
        "potsdam",
    ),
    "ISPRSDataset": (
        "vaihingen/img_dir/val",
        "vaihingen/ann_dir/val",
        ".png",
        ".png",
        True,
        "vaihingen",
    ),
    "UDD5Dataset": ("UDD5/val/src", "UDD5/val/gt", ".JPG", ".png", False, "udd5"),
    "VDDDataset": ("VDD/test/src", "VDD/test/gt", ".JPG", ".png", False, "vdd"),
    "UAVidDataset": ("UAVid/img_dir/test", "UAVid/ann_dir/test", ".png", ".png", False, "uavid"),
    "iSAIDDataset": (
        "iSAID/img_dir/val",
        "iSAID/ann_dir/val",
        ".png",
        "_instance_color_RGB.png",
        False,
        "iSAID",
    ),
}


def class_file_names(short: str) -> list[str]:
    with open(os.path.join(ROOT, "configs", f"cls_{short}.txt")) as f:
        return [line.strip().split(",")[0] for line in f if line.strip()]


def test_same_seed_same_scene_other_seed_other_scene():
    a = generate_scene(3, 96, 128, scale=1.5)
    b = generate_scene(3, 96, 128, scale=1.5)
    c = generate_scene(4, 96, 128, scale=1.5)
    assert a.image.shape == (96, 128, 3) and a.image.dtype == np.uint8
    assert a.label.shape == (96, 128) and a.label.dtype == np.uint8
    assert np.array_equal(a.image, b.image) and np.array_equal(a.label, b.label)
    assert not np.array_equal(a.image, c.image)
    assert (a.label != c.label).mean() > 0.2


def test_generator_draws_every_class_and_only_allowed_ones():
    seen: set[int] = set()
    for seed in range(40):
        seen |= set(np.unique(generate_scene(seed, 112, 112, scale=1.7).label).tolist())
    assert seen == set(range(len(GEN_CLASSES)))
    allowed = ("grass", "road", "car", "tree")
    for seed in range(5):
        labels = set(np.unique(generate_scene(seed, 112, 112, 1.7, allowed).label).tolist())
        assert labels <= {GEN_CLASSES.index(c) for c in allowed}


def _pixel_features(image: np.ndarray) -> np.ndarray:
    """Local mean colour and local contrast (5x5): texture-level colour statistics."""
    f = image.astype(np.float32)
    mean = cv2.blur(f, (5, 5))
    var = np.maximum(cv2.blur(f * f, (5, 5)) - mean * mean, 0)
    return np.concatenate([mean, np.sqrt(var).mean(-1, keepdims=True)], -1).reshape(-1, 4)


def test_labels_follow_the_class_colour_statistics():
    """Class statistics learnt on some scenes label other scenes' pixels far above chance,
    and clearly better than the same labels shifted, mirrored or transposed: a label map that
    drifted from its image (offset, flip) fails this. The class colours themselves must look
    like their names, which catches swapped class indices."""
    n = len(GEN_CLASSES)
    sums, rgb, counts = np.zeros((n, 4)), np.zeros((n, 3)), np.zeros(n)
    for seed in range(6):
        scene = generate_scene(seed, 128, 128, 1.7)
        np.add.at(sums, scene.label.ravel(), _pixel_features(scene.image))
        np.add.at(rgb, scene.label.ravel(), scene.image.reshape(-1, 3))
        np.add.at(counts, scene.label.ravel(), 1)
    means = sums / np.maximum(counts, 1)[:, None]
    r, g, b = (rgb / np.maximum(counts, 1)[:, None]).T
    c = {name: i for i, name in enumerate(GEN_CLASSES)}
    assert b[c["water"]] - r[c["water"]] > 25 and b[c["swimming_pool"]] - r[c["swimming_pool"]] > 80
    for veg in ("tree", "grass"):
        assert g[c[veg]] > max(r[c[veg]], b[c[veg]]) + 20, veg
    brightness = r + g + b
    assert brightness[c["tree"]] < brightness[c["grass"]] - 60
    assert brightness[c["road"]] < brightness[c["pavement"]] - 100
    assert r[c["bare"]] - b[c["bare"]] > 40

    def accuracy(image: np.ndarray, label: np.ndarray) -> float:
        d = ((_pixel_features(image)[:, None] - means[None]) ** 2).sum(-1)
        d[:, counts == 0] = np.inf
        return float((d.argmin(1) == label.ravel()).mean())

    scenes = [generate_scene(seed, 128, 128, 1.7) for seed in range(100, 104)]
    true = np.mean([accuracy(s.image, s.label) for s in scenes])
    shifted = np.mean([accuracy(s.image, np.roll(s.label, 8, axis=1)) for s in scenes])
    mirrored = np.mean([accuracy(s.image, s.label[:, ::-1]) for s in scenes])
    transposed = np.mean([accuracy(s.image, s.label.T) for s in scenes])
    assert true > 0.45
    assert true - shifted > 0.08
    assert true - max(mirrored, transposed) > 0.2


def test_dataset_tables_match_the_class_files():
    assert set(demo_scenes.DATASETS) == set(LAYOUTS)
    layouts = demo_scenes.demo_layouts("")
    for name, ds in demo_scenes.DATASETS.items():
        img_dir, ann_dir, img_suffix, ann_suffix, reduce_zero, short = LAYOUTS[name]
        layout = layouts[name]
        assert layout.classes == tuple(class_file_names(short)), name
        assert (layout.img_dir, layout.ann_dir) == (img_dir, ann_dir), name
        assert (layout.img_suffix, layout.ann_suffix) == (img_suffix, ann_suffix), name
        assert layout.reduce_zero_label == reduce_zero, name
        assert set(ds.mapping) <= set(GEN_CLASSES) and set(ds.mapping.values()) <= set(
            layout.classes
        )


def test_scenes_are_written_where_the_config_says(tmp_path):
    """The layout and classes come from the configs: a config folder with another image
    folder and a class file in another order moves the images and renumbers the labels."""
    config_dir = tmp_path / "configs"
    shutil.copytree(os.path.join(ROOT, "configs"), config_dir)
    classes = class_file_names("potsdam")  # road, building, low vegetation, tree, car, clutter
    reordered = [classes[-1], *classes[:-1]]  # clutter first
    (config_dir / "cls_moved.txt").write_text("\n".join(reordered) + "\n")
    cfg = config_dir / "cfg_potsdam.py"
    text = cfg.read_text()
    assert "img_path='potsdam/img_dir/val'" in text and "cls_potsdam.txt" in text
    text = text.replace("img_path='potsdam/img_dir/val'", "img_path='moved/images'")
    cfg.write_text(text.replace("./configs/cls_potsdam.txt", str(config_dir / "cls_moved.txt")))
    sizes = ((96, 128),)
    default = tmp_path / "default"
    moved = tmp_path / "moved"
    demo_scenes.write_dataset(str(default), "PotsdamDataset", seed=7, sizes=sizes)
    paths = demo_scenes.write_dataset(
        str(moved), "PotsdamDataset", seed=7, sizes=sizes, config_dir=str(config_dir)
    )
    assert paths == [str(moved / "moved" / "images" / "demo_00.png")]
    assert not (moved / "potsdam" / "img_dir").exists()
    assert open(paths[0], "rb").read() == (default / "potsdam/img_dir/val/demo_00.png").read_bytes()
    before = cv2.imread(str(default / "potsdam/ann_dir/val/demo_00.png"), cv2.IMREAD_UNCHANGED)
    after = cv2.imread(str(moved / "potsdam/ann_dir/val/demo_00.png"), cv2.IMREAD_UNCHANGED)
    # reduce_zero_label: class k is stored as k + 1; clutter moved from 6 to 1, others + 1
    expected = np.where(before == 6, 1, before.astype(int) + 1)
    assert len(np.unique(before)) >= 3 and np.array_equal(after, expected)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_written_dataset_has_the_real_layout_and_label_values(tmp_path, name):
    img_dir, ann_dir, img_suffix, ann_suffix, reduce_zero, short = LAYOUTS[name]
    n_classes = len(class_file_names(short))
    sizes = ((96, 128), (112, 84))
    paths = demo_scenes.write_dataset(str(tmp_path), name, seed=7, sizes=sizes)
    assert sorted(os.listdir(tmp_path / img_dir)) == [f"demo_0{i}{img_suffix}" for i in range(2)]
    assert sorted(os.listdir(tmp_path / ann_dir)) == [f"demo_0{i}{ann_suffix}" for i in range(2)]
    values: set[int] = set()
    for i, (path, (h, w)) in enumerate(zip(paths, sizes, strict=True)):
        image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        label = cv2.imread(str(tmp_path / ann_dir / f"demo_0{i}{ann_suffix}"), cv2.IMREAD_UNCHANGED)
        assert image.shape == (h, w, 3) and image.dtype == np.uint8
        assert label.shape == (h, w) and label.dtype == np.uint8  # one channel of class indices
        values |= set(np.unique(label).tolist())
    low, high = (1, n_classes) if reduce_zero else (0, n_classes - 1)
    assert values and min(values) >= low and max(values) <= high, (name, values)
    assert len(values) >= 2


def test_bundled_demo_data_is_what_the_generator_writes(tmp_path):
    """``python tools/demo_scenes.py --out demo/data`` reproduces the committed scenes."""
    bundled = os.path.join(ROOT, "demo", "data")
    if not os.path.isdir(bundled):
        pytest.skip("demo/data not generated")
    demo_scenes.write_demo_data(str(tmp_path))
    files = sorted(
        os.path.relpath(os.path.join(d, f), tmp_path) for d, _, fs in os.walk(tmp_path) for f in fs
    )
    assert len(files) == 8 * 2 * len(demo_scenes.DEMO_SIZES)
    total = 0
    for rel in files:
        ours = cv2.imread(str(tmp_path / rel), cv2.IMREAD_UNCHANGED)
        theirs = cv2.imread(os.path.join(bundled, rel), cv2.IMREAD_UNCHANGED)
        assert theirs is not None and np.array_equal(ours, theirs), rel
        total += os.path.getsize(os.path.join(bundled, rel))
    assert total <= 10 * 2**20


def test_train_script_writes_a_checkpoint_the_tool_loads_strictly(tmp_path):
    out = tmp_path / "demo.pt"
    cmd = [
        sys.executable,
        os.path.join(ROOT, "tools", "train_demo_clip.py"),
        "--steps",
        "2",
        "--batch",
        "8",
        "--pool",
        "4",
        "--refresh",
        "1",
        "--log-every",
        "1",
        "--out",
        str(out),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert out.is_file() and '"step": 1' in run.stdout
    state = torch.load(out, map_location="cpu")
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())

    open_clip.add_model_config(MODEL_CONFIGS)
    loaded = long_clip.load_clip(resolve_source("DemoCLIP", DEMO_MODEL, pretrained=str(out)))
    assert loaded.context_length == 77 and not loaded.long_clip
    model = open_clip.create_model(DEMO_MODEL)
    model.load_state_dict(state, strict=True)


def test_training_forward_is_the_evaluation_dense_path():
    """The dense loss trains exactly the features the benchmark reads (SegEarth last block)."""
    open_clip.add_model_config(MODEL_CONFIGS)
    torch.manual_seed(0)
    model = open_clip.create_model(DEMO_MODEL).eval()
    images = torch.randn(2, 3, 112, 112)
    tokens = open_clip.get_tokenizer(DEMO_MODEL)(
        ["a photo of a road.", "an aerial image of trees."]
    )
    with torch.no_grad():
        pooled, patches = forward_image(model, images)
        dense = build_method("SegEarth", OpenCLIPTower(model.visual))(images)
        torch.testing.assert_close(patches, dense.patches)
        torch.testing.assert_close(pooled, model.encode_image(images))
        torch.testing.assert_close(
            encode_text(model, tokens), model.encode_text(tokens), atol=1e-5, rtol=1e-5
        )
