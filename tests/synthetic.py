"""Synthetic test data in the real folder layouts (docs/protocol.md) and random CLIP checkpoints.

The layout table is written here from the published description, independently of configs/, so tests also check
that the configs match the published layouts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np
import open_clip
import torch

MODEL_CONFIG_DIR = os.path.join(os.path.dirname(__file__), "model_configs")


@dataclass(frozen=True)
class Layout:
    img_dir: str
    ann_dir: str
    img_suffix: str
    ann_suffix: str
    reduce_zero_label: bool
    num_classes: int


LAYOUTS: dict[str, Layout] = {
    "OpenEarthMapDataset": Layout(
        "OpenEarthMap/img_dir/val", "OpenEarthMap/ann_dir/val", ".tif", ".tif", False, 9
    ),
    "LoveDADataset": Layout("loveDA/img_dir/val", "loveDA/ann_dir/val", ".png", ".png", True, 7),
    "PotsdamDataset": Layout("potsdam/img_dir/val", "potsdam/ann_dir/val", ".png", ".png", True, 6),
    "ISPRSDataset": Layout(
        "vaihingen/img_dir/val", "vaihingen/ann_dir/val", ".png", ".png", True, 6
    ),
    "UDD5Dataset": Layout("UDD5/val/src", "UDD5/val/gt", ".JPG", ".png", False, 5),
    "VDDDataset": Layout("VDD/test/src", "VDD/test/gt", ".JPG", ".png", False, 7),
    "UAVidDataset": Layout("UAVid/img_dir/test", "UAVid/ann_dir/test", ".png", ".png", False, 7),
    "iSAIDDataset": Layout(
        "iSAID/img_dir/val", "iSAID/ann_dir/val", ".png", "_instance_color_RGB.png", False, 16
    ),
}

# SegEarth-OV's nine single-class benchmarks (this project's layout; labels 0/1).
EXTRA_LAYOUTS: dict[str, Layout] = {
    "WHUAerialDataset": Layout(
        "WHU-BD/val/image", "WHU-BD/val/label_cvt", ".png", ".png", False, 2
    ),
    "WHUSatIIDataset": Layout(
        "WHU-Sat-II/test/image", "WHU-Sat-II/test/label_cvt", ".tif", ".tif", False, 2
    ),
    "InriaDataset": Layout(
        "Inria/img_dir/split_test", "Inria/ann_dir/split_test", ".png", ".png", False, 2
    ),
    "xBDDataset": Layout(
        "xBD/test/images_pre", "xBD/test/targets_cvt_pre", ".png", ".png", False, 2
    ),
    "CHN6CUGDataset": Layout(
        "CHN6-CUG/val/image_cvt", "CHN6-CUG/val/label_cvt", ".jpg", ".png", False, 2
    ),
    "DeepGlobeRoadDataset": Layout(
        "GlobalRoadSet_Val/DeepGlobe_test_1530/image_cvt",
        "GlobalRoadSet_Val/DeepGlobe_test_1530/label_cvt",
        ".jpg",
        ".png",
        False,
        2,
    ),
    "MassachusettsRoadDataset": Layout(
        "GlobalRoadSet_Val/Massachusetts_test_49/img",
        "GlobalRoadSet_Val/Massachusetts_test_49/label_cvt",
        ".jpg",
        ".png",
        False,
        2,
    ),
    "SpaceNetRoadDataset": Layout(
        "GlobalRoadSet_Val/SpaceNet_test_567/img",
        "GlobalRoadSet_Val/SpaceNet_test_567/label_cvt",
        ".jpg",
        ".png",
        False,
        2,
    ),
    "WBSSIDataset": Layout("WBS-SI/Images", "WBS-SI/Masks_cvt", ".jpg", ".png", False, 2),
}

SIZES = ((120, 200), (256, 256), (90, 60), (300, 170))  # (H, W): padding, small sides, pull-back


def register_tiny_models() -> None:
    """Tiny architectures through each library's own registry: open_clip JSON configs
    (tests/model_configs) and timm model functions (EVA02 and TIPS image towers)."""
    import published_formats  # noqa: F401  (registers the tiny timm models)

    open_clip.add_model_config(MODEL_CONFIG_DIR)


def make_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth random BGR image (blocks + noise), so labels and pixels correlate a little."""
    small = rng.integers(
        0, 256, size=(max(height // 16, 2), max(width // 16, 2), 3), dtype=np.uint8
    )
    img = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.int16)
    img += rng.integers(-20, 20, size=img.shape, dtype=np.int16)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_label(rng: np.random.Generator, height: int, width: int, layout: Layout) -> np.ndarray:
    """Raw label values as stored on disk (0..K with reduce_zero_label), some 255s."""
    high = layout.num_classes + (1 if layout.reduce_zero_label else 0)
    small = rng.integers(0, high, size=(max(height // 20, 2), max(width // 20, 2)), dtype=np.uint8)
    label = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    label[rng.random((height, width)) < 0.02] = 255
    return label


def make_dataset(root: str, dataset: str, count: int = 3, seed: int = 0, sizes=SIZES) -> list[str]:
    """Write ``count`` image/label pairs in the dataset's real layout; returns the stems."""
    layout = LAYOUTS[dataset]
    rng = np.random.default_rng(seed)
    img_dir = os.path.join(root, layout.img_dir)
    ann_dir = os.path.join(root, layout.ann_dir)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    stems = []
    for i in range(count):
        height, width = sizes[i % len(sizes)]
        stem = f"{dataset[:4].lower()}_{seed}_{i:03d}"
        img = make_image(rng, height, width)
        ok = cv2.imwrite(os.path.join(img_dir, stem + layout.img_suffix), img)
        assert ok, f"cv2 could not write {stem}{layout.img_suffix}"
        label = make_label(rng, height, width, layout)
        ok = cv2.imwrite(os.path.join(ann_dir, stem + layout.ann_suffix), label)
        assert ok
        stems.append(stem)
    return stems


def random_state_dict(
    vit_type: str, long_clip: bool = False, seed: int = 0
) -> dict[str, torch.Tensor]:
    """A randomly initialised OpenCLIP state_dict (open_clip's own init, seeded); LongCLIP
    adds the second 248-row table and the two 0/1 masks its checkpoints carry."""
    torch.manual_seed(seed)
    kwargs = {"force_context_length": 248} if long_clip else {}
    model = open_clip.create_model(vit_type, pretrained=None, **kwargs)
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    if long_clip:
        sd["positional_embedding_res"] = torch.randn_like(sd["positional_embedding"]) * 0.01
        mask1 = torch.zeros(248, 1)
        mask1[:20] = 1
        sd["mask1"], sd["mask2"] = mask1, 1 - mask1
    return sd


def save_checkpoint(sd: dict[str, torch.Tensor], path: str, fmt: str = "bare") -> str:
    """Save in a real format: 'bare', 'state_dict_module' (DDP training run), 'compiled'."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if fmt == "bare":
        obj = sd
    elif fmt == "state_dict_module":
        obj = {"epoch": 20, "name": "run", "state_dict": {f"module.{k}": v for k, v in sd.items()}}
    elif fmt == "compiled":
        obj = {f"_orig_mod.{k}": v for k, v in sd.items()}
    else:
        raise ValueError(fmt)
    torch.save(obj, path)
    return path
