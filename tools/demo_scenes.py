"""The bundled demo datasets: procedural scenes (``scene_painter``) in the real layouts of the
eight datasets, so that the demo runs on a fresh machine with nothing downloaded.

    .venv/bin/python tools/demo_scenes.py --out demo/data   # reproduces the bundled scenes

writes three scenes per dataset (each redrawn until it shows most of the dataset's classes).
Where and how a dataset is written is read from its config, not restated here: the folders
from ``configs/cfg_*.py``, the suffixes and ``reduce_zero_label`` from the registered dataset
class (``ovss.data_check.dataset_layout``, as ``prepare_dataset.py`` reads them), the class
list from the config's class file (``model.name_path``). Labels are single-channel 8-bit
class indices; a ``reduce_zero_label`` dataset (LoveDA, Potsdam, Vaihingen) stores index + 1
with 0 = ignored. The demo scenes use ``DEMO_SEED`` (20240607); the training script draws
its scenes from seed 1.

Scale: scenes are drawn so that the 112-pixel, patch-16 demo model sees about
``MODEL_SCALE`` pixels per unit (a car is ~10 units, about one patch) after the evaluation's
resizing.

The scene table (``DATASETS``) holds what is the demo's own: which generator class each
dataset's scenes draw, as which of its classes (the class file's first names), and which
scene kinds. Generator classes a dataset lacks are not drawn (Potsdam has no water, LoveDA
no cars, iSAID's background is the clutter texture of an industrial yard):

================  =====================================================================
dataset           generator class -> dataset class
================  =====================================================================
OpenEarthMap      clutter->background, bare->bareland, grass, pavement, road, tree,
                  water, field->cropland, building
LoveDA            clutter->background, building, road, water, bare->barren,
                  tree->forest, field->agricultural
Potsdam           road and pavement->road (parking lot), building, grass->low vegetation,
                  tree, car, clutter
Vaihingen         road and pavement->impervious surface, building, grass->low vegetation,
                  tree, car, clutter
UDD5              tree and grass->vegetation, building and facade->building,
                  road and pavement->road, car->vehicle, clutter->background
VDD               clutter->background, facade, road and pavement->road,
                  tree and grass->vegetation, car->vehicle, building->roof, water
UAVid             clutter->background, building and facade->building, road, car, tree,
                  grass->vegetation (human: not drawn)
iSAID             clutter->background, car->small vehicle, large_vehicle->large vehicle,
                  storage_tank->store tank, swimming_pool, tennis_court, plane
                  (ship, baseball diamond, basketball court, ground track field, bridge,
                  helicopter, roundabout, soccer ball field, harbor: not drawn)
================  =====================================================================
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DEMO_SEED = 20240607  # the bundled scenes; training uses other seeds (see train_demo_clip.py)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="demo/data", help="data root to write the eight datasets in")
    ap.add_argument(
        "--seed", type=int, default=DEMO_SEED, help=f"scene seed (default: {DEMO_SEED})"
    )
    ap.add_argument(
        "--config-dir",
        help="folder of the cfg_*.py dataset configs that give the layouts (default: configs/)",
    )
    return ap.parse_args(argv)


if __name__ == "__main__":  # --help answers before the heavy imports below (mmseg, torch)
    parse_args()

import mmcv_compat  # noqa: E402,F401  (before mmseg)

from mmengine.config import Config  # noqa: E402

import custom_datasets  # noqa: E402,F401  (registers the datasets mmseg lacks)
from foundation.errors import ConfigError, UserError  # noqa: E402
from ovss.config import dataset_configs  # noqa: E402
from ovss.data_check import dataset_layout  # noqa: E402
from prompts import read_class_file  # noqa: E402
from scene_painter import GEN_CLASSES, KINDS, MODEL_SCALE, G, Scene, generate_scene  # noqa: E402

__all__ = [
    "DATASETS",
    "DEMO_SEED",
    "DEMO_SIZES",
    "GEN_CLASSES",
    "G",
    "MODEL_SCALE",
    "Scene",
    "demo_layouts",
    "generate_scene",
    "write_dataset",
    "write_demo_data",
]

IGNORE = 255
# (height, width) of the three bundled scenes per dataset: small, so the demo runs in seconds.
DEMO_SIZES = ((240, 320), (288, 288), (320, 240))


@dataclass(frozen=True)
class DemoDataset:
    """How one dataset's scenes are drawn: generator class -> dataset class (only these are
    drawn; dataset classes are the class file's first names) and the scene kinds."""

    mapping: dict[str, str]
    kinds: tuple[str, ...] = KINDS


DATASETS: dict[str, DemoDataset] = {
    "OpenEarthMapDataset": DemoDataset(
        {
            "clutter": "background",
            "bare": "bareland",
            "grass": "grass",
            "pavement": "pavement",
            "road": "road",
            "tree": "tree",
            "water": "water",
            "field": "cropland",
            "building": "building",
        },
    ),
    "LoveDADataset": DemoDataset(
        {
            "clutter": "background",
            "building": "building",
            "road": "road",
            "water": "water",
            "bare": "barren",
            "tree": "forest",
            "field": "agricultural",
        },
    ),
    "PotsdamDataset": DemoDataset(
        {
            "road": "road",
            "pavement": "road",
            "building": "building",
            "grass": "low vegetation",
            "tree": "tree",
            "car": "car",
            "clutter": "clutter",
        },
        ("urban", "suburban"),
    ),
    "ISPRSDataset": DemoDataset(
        {
            "road": "impervious surface",
            "pavement": "impervious surface",
            "building": "building",
            "grass": "low vegetation",
            "tree": "tree",
            "car": "car",
            "clutter": "clutter",
        },
        ("urban", "suburban"),
    ),
    "UDD5Dataset": DemoDataset(
        {
            "tree": "vegetation",
            "grass": "vegetation",
            "building": "building",
            "facade": "building",
            "road": "road",
            "pavement": "road",
            "car": "vehicle",
            "clutter": "background",
        },
        ("urban", "suburban"),
    ),
    "VDDDataset": DemoDataset(
        {
            "clutter": "background",
            "facade": "facade",
            "road": "road",
            "pavement": "road",
            "tree": "vegetation",
            "grass": "vegetation",
            "car": "vehicle",
            "building": "roof",
            "water": "water",
        },
        ("urban", "suburban", "rural"),
    ),
    "UAVidDataset": DemoDataset(
        {
            "clutter": "background",
            "building": "building",
            "facade": "building",
            "road": "road",
            "car": "car",
            "tree": "tree",
            "grass": "vegetation",
        },
        ("urban", "suburban"),
    ),
    "iSAIDDataset": DemoDataset(
        {
            "clutter": "background",
            "car": "small vehicle",
            "large_vehicle": "large vehicle",
            "storage_tank": "store tank",
            "swimming_pool": "swimming pool",
            "tennis_court": "tennis court",
            "plane": "plane",
        },
        ("industrial",),
    ),
}


# ----------------------------------------------------------------------------- layouts
@dataclass(frozen=True)
class DemoLayout:
    """Where and how one dataset's scenes are written, as its config says."""

    img_dir: str
    ann_dir: str
    img_suffix: str
    ann_suffix: str
    reduce_zero_label: bool
    classes: tuple[str, ...]  # the class file's first names, in order


def class_names(path: str) -> tuple[str, ...]:
    """The first name of each class of a class file (``road,parking lot`` -> ``road``)."""
    queries, index = read_class_file(path)
    first: dict[int, str] = {}
    for query, idx in zip(queries, index, strict=True):
        first.setdefault(idx, query)
    return tuple(first[i] for i in sorted(first))


def read_layout(config: str, root: str) -> DemoLayout:
    """One dataset config's folders under ``root``, its class's suffixes and label setting,
    and its class file's names (a relative class file is read from the repository root, as
    the evaluation reads it)."""
    cfg = Config.fromfile(config, import_custom_modules=False)
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = root
    layout = dataset_layout(ds_cfg)
    class_file = cfg.model.name_path
    if not os.path.isabs(class_file):
        class_file = os.path.normpath(os.path.join(ROOT, class_file))
    wanted = set(DATASETS[ds_cfg.type].mapping.values())
    classes = class_names(class_file)
    if not wanted <= set(classes):
        raise ConfigError(
            f"{config}: class file {class_file} lacks {', '.join(sorted(wanted - set(classes)))}, "
            "which the demo scenes draw; restore the class names or edit demo_scenes.DATASETS"
        )
    return DemoLayout(
        layout.img_dir,
        layout.seg_dir,
        layout.img_suffix,
        layout.seg_suffix,
        layout.reduce_zero_label,
        classes,
    )


def demo_layouts(root: str, config_dir: str | None = None) -> dict[str, DemoLayout]:
    """The eight datasets' layouts under ``root``, from the configs in ``config_dir``
    (default: ``configs/``)."""
    configs = dataset_configs(config_dir)
    missing = [name for name in DATASETS if name not in configs]
    if missing:
        where = config_dir or os.path.join(ROOT, "configs")
        raise ConfigError(f"no cfg_*.py in {where} for {', '.join(missing)}")
    return {name: read_layout(configs[name], root) for name in DATASETS}


# ----------------------------------------------------------------------------- writing
def dataset_label(label: np.ndarray, ds: DemoDataset, layout: DemoLayout) -> np.ndarray:
    """Generator labels -> the dataset's stored label values (reduce_zero_label: index + 1)."""
    lut = np.full(256, IGNORE, np.uint8)
    for gen, name in ds.mapping.items():
        lut[G[gen]] = layout.classes.index(name) + (1 if layout.reduce_zero_label else 0)
    return lut[label]


def demo_scale(height: int, width: int, rng: np.random.Generator) -> float:
    """The zoom that shows a demo scene to the model at the training scale.

    The evaluation resizes the long side to 448 and feeds 224-pixel windows to a 112-pixel
    model: the model sees the scene at ``224 / long side`` of its native pixels.
    """
    return max(height, width) / 224 * MODEL_SCALE * rng.uniform(0.9, 1.15)


def representative_scene(
    rng: np.random.Generator,
    height: int,
    width: int,
    ds: DemoDataset,
    layout: DemoLayout,
    kind: str,
    tries: int = 12,
) -> Scene:
    """A scene that shows most of the dataset's classes.

    Why: with three scenes per dataset, a scene where (say) no building found room would leave
    a class out of the demo. Draws up to ``tries`` scenes and keeps the first with enough
    classes (each on at least 0.5% of the pixels), else the one with the most.
    """
    wanted = min(5, len(set(ds.mapping.values())) - 1)
    best, best_n = None, -1
    for _ in range(tries):
        scene = generate_scene(rng, height, width, demo_scale(height, width, rng), ds.mapping, kind)
        values, counts = np.unique(dataset_label(scene.label, ds, layout), return_counts=True)
        n = int((counts >= 0.005 * scene.label.size).sum())
        if n >= wanted:
            return scene
        if n > best_n:
            best, best_n = scene, n
    assert best is not None
    return best


def write_dataset(
    root: str,
    name: str,
    seed: int,
    sizes=DEMO_SIZES,
    config_dir: str | None = None,
    layout: DemoLayout | None = None,
) -> list[str]:
    """Write one dataset's demo scenes under ``root`` where its config (in ``config_dir``)
    puts them; returns the image paths."""
    ds = DATASETS[name]
    layout = layout or demo_layouts(root, config_dir)[name]
    rng = np.random.default_rng(seed)
    os.makedirs(layout.img_dir, exist_ok=True)
    os.makedirs(layout.ann_dir, exist_ok=True)
    paths = []
    for i, (h, w) in enumerate(sizes):
        scene = representative_scene(rng, h, w, ds, layout, ds.kinds[i % len(ds.kinds)])
        stem = f"demo_{i:02d}"
        bgr = scene.image[..., ::-1]
        img_path = os.path.join(layout.img_dir, stem + layout.img_suffix)
        if layout.img_suffix.lower() == ".jpg":
            cv2.imwrite(img_path, bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
        else:
            cv2.imwrite(img_path, bgr)
        label = dataset_label(scene.label, ds, layout)
        cv2.imwrite(os.path.join(layout.ann_dir, stem + layout.ann_suffix), label)
        paths.append(img_path)
    return paths


def write_demo_data(
    root: str, seed: int = DEMO_SEED, config_dir: str | None = None
) -> dict[str, list[str]]:
    """All eight datasets; each gets its own seed derived from ``seed``."""
    layouts = demo_layouts(root, config_dir)
    return {
        name: write_dataset(root, name, seed + 1000 * i, layout=layouts[name])
        for i, name in enumerate(DATASETS)
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        written = write_demo_data(args.out, args.seed, args.config_dir)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, paths in written.items():
        print(f"{name}: {len(paths)} scenes in {os.path.dirname(paths[0])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
