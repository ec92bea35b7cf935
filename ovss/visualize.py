"""Pictures: class palettes, a class-colour legend, and the ``--show-dir`` drawings.

A drawing is [image | ground truth | prediction] with the class legend below. The label maps
are painted in exactly the legend's colours (``solid``, the default) or as class boundaries
in those colours over the image (``outline``); never blended, so a colour in a drawing is a
colour of the legend. The title holds the image's name and its own mIoU. One
``<image stem>.png`` per image, alone in ``<show-dir>/<dataset>/`` (written by
``OVSSDrawingHook`` itself, so no visualizer backend adds its config or sub-folders).
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

import os
from collections.abc import Sequence

import cv2
import numpy as np
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer
from mmseg.registry import HOOKS, VISUALIZERS

from foundation.datasets import display_name
from foundation.errors import ConfigError, DataError
from foundation.files import write_atomic

MODES = ("solid", "outline")  # config key show_mode: how label maps are drawn
IGNORE_INDEX = 255  # labels of this value are not scored (the metric's ignore_index)
# Colours for not-scored pixels: the first one that no class of the palette uses.
NEUTRALS = ((128, 128, 128), (96, 96, 96), (192, 192, 192), (255, 0, 255), (0, 255, 255))
FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


def palette_for(num_classes: int, seed: int = 0) -> list[tuple[int, int, int]]:
    """Distinct, reproducible RGB colours (used where a dataset has no palette)."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(40, 256, size=(num_classes, 3))
    return [tuple(int(c) for c in row) for row in colours]


def ignore_colour(palette: Sequence[Sequence[int]]) -> tuple[int, int, int]:
    """The neutral colour of not-scored pixels: one that no class uses."""
    used = {tuple(int(c) for c in colour) for colour in palette}
    return next((c for c in NEUTRALS if c not in used), NEUTRALS[0])


def text_scale(width: int) -> float:
    """Text size for a drawing ``width`` pixels wide: readable when large images are drawn."""
    return max(1.0, width / 900)


def draw_legend(
    image: np.ndarray,
    names: Sequence[str],
    palette: Sequence[Sequence[int]],
    row_height: int = 18,
    scale: float = 1.0,
) -> np.ndarray:
    """``image`` (H, W, 3 RGB uint8) with a white legend strip below: one swatch and name
    per class, wrapped into as many columns as the width allows."""
    width = image.shape[1]
    font, thickness = 0.45 * scale, max(1, round(scale))
    row, box, pad = round(row_height * scale), round(14 * scale), round(4 * scale)
    cell = max(cv2.getTextSize(n, FONT, font, thickness)[0][0] for n in names) + 2 * box
    columns = max(1, width // cell)
    rows = -(-len(names) // columns)
    strip = np.full((rows * row + 2 * pad, width, 3), 255, dtype=np.uint8)
    for i, (name, colour) in enumerate(zip(names, palette, strict=False)):
        x, y = (i % columns) * cell + pad, (i // columns) * row + pad
        cv2.rectangle(strip, (x, y), (x + box, y + box - 2), tuple(int(c) for c in colour), -1)
        cv2.rectangle(strip, (x, y), (x + box, y + box - 2), BLACK, 1)
        cv2.putText(strip, name, (x + box + pad, y + box - 3), FONT, font, BLACK, thickness)
    return np.concatenate([image, strip], axis=0)


def solid(labels: np.ndarray, colours: np.ndarray, neutral: Sequence[int]) -> np.ndarray:
    """The label map in its class colours; values beyond the palette (255) in ``neutral``."""
    known = labels < len(colours)
    out = colours[np.where(known, labels, 0)]
    out[~known] = neutral
    return out


def boundaries(labels: np.ndarray, width: int = 1) -> np.ndarray:
    """Pixels within ``width`` of a pixel of another class (both sides of each boundary)."""
    edge = np.zeros(labels.shape, dtype=bool)
    across, down = labels[:, 1:] != labels[:, :-1], labels[1:] != labels[:-1]
    edge[:, 1:] |= across
    edge[:, :-1] |= across
    edge[1:] |= down
    edge[:-1] |= down
    if width > 1:
        kernel = np.ones((2 * width - 1, 2 * width - 1), np.uint8)
        edge = cv2.dilate(edge.astype(np.uint8), kernel).astype(bool)
    return edge


def outline(
    image: np.ndarray, labels: np.ndarray, colours: np.ndarray, neutral: Sequence[int], width=1
) -> np.ndarray:
    """``image`` with each class boundary drawn in the colour of the class on its side."""
    out = image.copy()
    edge = boundaries(labels, width)
    out[edge] = solid(labels, colours, neutral)[edge]
    return out


def image_miou(
    labels: np.ndarray | None, pred: np.ndarray, ignore_index: int = IGNORE_INDEX
) -> tuple[float | None, int]:
    """(mIoU in %, number of classes) of one image, over the classes present in its labels
    or its prediction, on the scored pixels (labels != ignore_index); None without any."""
    if labels is None:
        return None, 0
    scored = labels != ignore_index
    gt, pr = labels[scored].astype(np.int64), pred[scored].astype(np.int64)
    if gt.size == 0:
        return None, 0
    n = int(max(gt.max(), pr.max())) + 1
    inter = np.bincount(gt[gt == pr], minlength=n)
    union = np.bincount(gt, minlength=n) + np.bincount(pr, minlength=n) - inter
    present = union > 0
    return float((inter[present] / union[present]).mean() * 100), int(present.sum())


def title_text(name: str, miou: float | None, classes: int) -> str:
    """The drawing's title: the image's name and its own mIoU."""
    if miou is None:
        return f"{name}   mIoU n/a (no scored pixels)"
    return f"{name}   mIoU {miou:.1f} over the {classes} classes present"


def _strip(width: int, texts: Sequence[tuple[int, str]], scale: float, font: float) -> np.ndarray:
    """A white strip with each (x, text) written on it."""
    thickness = max(1, round(scale))
    height = cv2.getTextSize("Ag", FONT, font * scale, thickness)[0][1]
    pad = round(6 * scale)
    strip = np.full((height + 2 * pad, width, 3), 255, dtype=np.uint8)
    for x, text in texts:
        cv2.putText(strip, text, (x, height + pad), FONT, font * scale, BLACK, thickness)
    return strip


def _pad_width(part: np.ndarray, width: int) -> np.ndarray:
    extra = width - part.shape[1]
    return np.pad(part, ((0, 0), (0, extra), (0, 0)), constant_values=255) if extra else part


def _side_by_side(panels: Sequence[np.ndarray], gap: int) -> tuple[np.ndarray, list[int]]:
    """Equal-size panels in a row with white gaps, and the left edge of each."""
    height, width = panels[0].shape[:2]
    lefts = [i * (width + gap) for i in range(len(panels))]
    row = np.full((height, lefts[-1] + width, 3), 255, dtype=np.uint8)
    for left, panel in zip(lefts, panels, strict=True):
        row[:, left : left + width] = panel
    return row, lefts


def compose(
    image: np.ndarray,
    pred: np.ndarray,
    labels: np.ndarray | None,
    names: Sequence[str],
    palette: Sequence[Sequence[int]],
    title: str = "",
    mode: str = "solid",
) -> tuple[np.ndarray, dict[str, tuple[int, int, int, int]]]:
    """The drawing (RGB) and where each panel is in it: name -> (top, left, height, width).

    [image | ground truth | prediction] (no ground-truth panel without ``labels``) under
    the title and the panel captions, the legend below (not-scored pixels included).
    """
    check_mode(mode)
    height, width = image.shape[:2]
    scale = text_scale(3 * width)
    colours = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    neutral = ignore_colour(palette)
    line = max(1, round(max(height, width) / 256))

    def paint(m: np.ndarray) -> np.ndarray:
        return (
            solid(m, colours, neutral)
            if mode == "solid"
            else outline(image, m, colours, neutral, line)
        )

    what = "" if mode == "solid" else " (outlines)"
    panels = [("image", image)]
    if labels is not None:
        panels.append((f"ground truth{what}", paint(labels)))
    panels.append((f"prediction{what}", paint(pred)))
    gap = round(6 * scale)
    row, lefts = _side_by_side([p for _, p in panels], gap)
    title_width = cv2.getTextSize(title, FONT, 0.55 * scale, max(1, round(scale)))[0][0]
    canvas_width = max(row.shape[1], title_width + gap)
    head = _strip(canvas_width, [(0, title)], scale, 0.55)
    captions = [(x, n) for x, (n, _) in zip(lefts, panels, strict=True)]
    caption = _strip(canvas_width, captions, scale, 0.45)
    top = head.shape[0] + caption.shape[0]
    body = np.concatenate([head, caption, _pad_width(row, canvas_width)], axis=0)
    entries = list(names) + ([f"not scored ({IGNORE_INDEX})"] if labels is not None else [])
    legend_colours = [*colours.tolist(), neutral]
    drawing = draw_legend(body, entries, legend_colours, scale=scale)
    boxes = {
        n.split(" (")[0]: (top, x, height, width) for x, (n, _) in zip(lefts, panels, strict=True)
    }
    return drawing, boxes


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ConfigError(
            f"show_mode: unknown drawing mode '{mode}'; use one of {', '.join(MODES)}"
        )


def drawing_name(img_path: str, img_dir: str | None = None) -> str:
    """``<image stem>.png``; an image in a sub-folder of the dataset's image folder gets
    the sub-folder in front (``seq1_000000.png``), so that no two images share a file."""
    rel = os.path.relpath(img_path, img_dir) if img_dir else os.path.basename(img_path)
    if rel.startswith(".."):
        rel = os.path.basename(img_path)
    return os.path.splitext(rel)[0].replace(os.sep, "_") + ".png"


def drawings_folder(show_dir: str, dataset_type: str) -> str:
    """Where a dataset's drawings go: ``<show-dir>/<display name>/``."""
    return os.path.join(show_dir, display_name(dataset_type))


def drawing_hook(show_dir: str, dataset_type: str, mode: str | None = None) -> dict:
    """The hook config that draws one dataset (``cfg.default_hooks.visualization``)."""
    mode = mode or "solid"
    check_mode(mode)
    return dict(type="OVSSDrawingHook", folder=drawings_folder(show_dir, dataset_type), mode=mode)


def drawings_line(show_dir: str, dataset_types: Sequence[str]) -> str:
    """The closing line that says where the drawings are (and how many each folder holds)."""
    found = []
    for dataset_type in dataset_types:
        folder = drawings_folder(show_dir, dataset_type)
        names = os.listdir(folder) if os.path.isdir(folder) else []
        if count := sum(n.endswith(".png") for n in names):
            found.append(f"{display_name(dataset_type)} {count}")
    where = os.path.abspath(show_dir)
    return f"drawings: {where}/<dataset>/<image>.png ({', '.join(found) or 'none'})"


def read_rgb(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"{path}: cannot read the image to draw it (--show-dir); check the file")
    return image[..., ::-1]


def _fit(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``labels`` at the image's size (nearest: no new values), if it is not already."""
    if labels.shape[:2] == shape:
        return labels
    return cv2.resize(labels.astype(np.uint8), shape[::-1], interpolation=cv2.INTER_NEAREST)


def draw_sample(
    sample, meta: dict, mode: str = "solid", ignore_index: int = IGNORE_INDEX, image=None
) -> np.ndarray:
    """The drawing of one evaluated ``SegDataSample`` (its image read from ``img_path``
    unless given), with the dataset's classes and palette (``meta``)."""
    image = read_rgb(sample.img_path) if image is None else image
    shape = image.shape[:2]
    pred = _fit(sample.pred_sem_seg.data[0].cpu().numpy(), shape)
    labels = None
    if "gt_sem_seg" in sample:
        labels = _fit(sample.gt_sem_seg.data[0].cpu().numpy(), shape)
    names = list(meta.get("classes") or [str(i) for i in range(int(pred.max()) + 1)])
    palette = meta.get("palette") or palette_for(len(names))
    miou, classes = image_miou(labels, pred, ignore_index)
    title = title_text(os.path.basename(sample.img_path), miou, classes)
    return compose(image, pred, labels, names, palette, title, mode)[0]


@HOOKS.register_module()
class OVSSDrawingHook(Hook):
    """Draws each test image as [image | ground truth | prediction] (``compose``) and writes
    ``<folder>/<image stem>.png`` atomically (following the umask); nothing else there."""

    priority = "LOW"

    def __init__(self, folder: str, mode: str = "solid") -> None:
        check_mode(mode)
        self.folder, self.mode = folder, mode
        self.drawn = 0
        self.meta: dict = {}
        self.img_dir: str | None = None
        self.ignore_index = IGNORE_INDEX

    def before_test(self, runner) -> None:
        dataset = runner.test_dataloader.dataset
        self.meta = dict(getattr(dataset, "metainfo", {}) or {})
        self.img_dir = (getattr(dataset, "data_prefix", None) or {}).get("img_path")
        self.ignore_index = getattr(dataset, "ignore_index", IGNORE_INDEX)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for sample in outputs or []:
            self.draw(sample)

    def draw(self, sample) -> str:
        """Write one sample's drawing; returns its path."""
        drawing = draw_sample(sample, self.meta, self.mode, self.ignore_index)
        path = os.path.join(self.folder, drawing_name(sample.img_path, self.img_dir))
        ok, png = cv2.imencode(".png", np.ascontiguousarray(drawing[..., ::-1]))
        if not ok:
            raise OSError(f"cannot encode the drawing {path}")
        write_atomic(path, png.tobytes())
        self.drawn += 1
        return path


class _NoCanvas:
    """Stands in for the matplotlib figure of a visualizer that never draws."""

    def get_dpi(self) -> float:
        return 100.0  # matplotlib's default figure dpi, which mmengine's figure would have

    def __getattr__(self, name: str):
        raise RuntimeError("this run draws nothing (LogOnlyVisualizer); pass --show-dir to draw")


@VISUALIZERS.register_module()
class LogOnlyVisualizer(Visualizer):
    """mmengine's ``Visualizer`` without its drawing canvas, for every run.

    mmengine's Runner always builds a visualizer (its logger hook sends scalars through it),
    and mmengine's builds a matplotlib figure on creation: ~0.6 s of imports before the first
    image on 2 CPU cores. This one logs through its backends like the original; drawing with
    it is an error (``--show-dir`` draws with ``OVSSDrawingHook``, not a visualizer).
    """

    def _initialize_fig(self, fig_cfg: dict) -> tuple:
        return None, _NoCanvas(), None
