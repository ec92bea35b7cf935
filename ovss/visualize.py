"""Pictures: class palettes, a class-colour legend, and the ``--show-dir`` drawings."""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

from collections.abc import Sequence

import cv2
import numpy as np
from mmengine.visualization import Visualizer
from mmseg.registry import VISUALIZERS
from mmseg.visualization import SegLocalVisualizer


def palette_for(num_classes: int, seed: int = 0) -> list[tuple[int, int, int]]:
    """Distinct, reproducible RGB colours (used where a dataset has no palette)."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(40, 256, size=(num_classes, 3))
    return [tuple(int(c) for c in row) for row in colours]


def draw_legend(
    image: np.ndarray,
    names: Sequence[str],
    palette: Sequence[Sequence[int]],
    row_height: int = 18,
) -> np.ndarray:
    """``image`` (H, W, 3 RGB uint8) with a white legend strip below: one swatch and name
    per class, wrapped into as many columns as the width allows."""
    height, width = image.shape[:2]
    font, scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1
    cell = max(cv2.getTextSize(n, font, scale, thickness)[0][0] for n in names) + 28
    columns = max(1, width // cell)
    rows = -(-len(names) // columns)
    strip = np.full((rows * row_height + 6, width, 3), 255, dtype=np.uint8)
    for i, (name, colour) in enumerate(zip(names, palette, strict=False)):
        x, y = (i % columns) * cell + 4, (i // columns) * row_height + 4
        cv2.rectangle(strip, (x, y), (x + 14, y + 12), tuple(int(c) for c in colour), -1)
        cv2.rectangle(strip, (x, y), (x + 14, y + 12), (0, 0, 0), 1)
        cv2.putText(strip, name, (x + 20, y + 11), font, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return np.concatenate([image, strip], axis=0)


def colour_overlay(
    image: np.ndarray, labels: np.ndarray, palette: np.ndarray, alpha: float = 0.6
) -> np.ndarray:
    """``image`` (H, W, 3 RGB) with each labelled pixel blended with its class colour;
    ignored pixels (values beyond the palette, e.g. 255) keep the image."""
    out = image.astype(np.float32).copy()
    known = labels < len(palette)
    colours = palette[np.where(known, labels, 0)].astype(np.float32)
    out[known] = (1 - alpha) * out[known] + alpha * colours[known]
    return out.clip(0, 255).astype(np.uint8)


def titled(panel: np.ndarray, title: str) -> np.ndarray:
    strip = np.full((22, panel.shape[1], 3), 255, dtype=np.uint8)
    cv2.putText(strip, title, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, panel], axis=0)


def side_by_side(
    image: np.ndarray,
    pred: np.ndarray,
    labels: np.ndarray | None,
    names: Sequence[str],
    palette: Sequence[Sequence[int]],
) -> np.ndarray:
    """[image | prediction | labels] (RGB), each titled, with the class legend below."""
    colours = np.asarray(palette, dtype=np.uint8)
    gap = np.full((image.shape[0] + 22, 6, 3), 255, dtype=np.uint8)
    panels = [
        titled(image, "image"),
        gap,
        titled(colour_overlay(image, pred, colours), "prediction"),
    ]
    if labels is not None:
        panels += [gap, titled(colour_overlay(image, labels, colours), "labels")]
    return draw_legend(np.concatenate(panels, axis=1), names, palette)


class _NoCanvas:
    """Stands in for the matplotlib figure of a visualizer that never draws."""

    def get_dpi(self) -> float:
        return 100.0  # matplotlib's default figure dpi, which mmengine's figure would have

    def __getattr__(self, name: str):
        raise RuntimeError("this run draws nothing (LogOnlyVisualizer); pass --show-dir to draw")


@VISUALIZERS.register_module()
class LogOnlyVisualizer(Visualizer):
    """mmengine's ``Visualizer`` without its drawing canvas, for runs that draw nothing.

    mmengine's Runner always builds a visualizer (its logger hook sends scalars through it),
    and mmengine's builds a matplotlib figure on creation: ~0.6 s of imports before the first
    image on 2 CPU cores. This one logs through its backends like the original; drawing with
    it is an error (``--show-dir`` uses ``OVSSVisualizer``).
    """

    def _initialize_fig(self, fig_cfg: dict) -> tuple:
        return None, _NoCanvas(), None


@VISUALIZERS.register_module()
class OVSSVisualizer(SegLocalVisualizer):
    """mmseg's local visualiser, drawing [image | prediction | labels] with a class-colour
    legend (the dataset's METAINFO palette) instead of two overlays without one."""

    def add_datasample(
        self,
        name: str,
        image: np.ndarray,
        data_sample=None,
        draw_gt: bool = True,
        draw_pred: bool = True,
        show: bool = False,
        wait_time: float = 0,
        out_file: str | None = None,
        step: int = 0,
        with_labels: bool = True,
    ) -> None:
        meta = self.dataset_meta or {}
        pred = data_sample.pred_sem_seg.data[0].cpu().numpy()
        names = list(meta.get("classes") or [str(i) for i in range(int(pred.max()) + 1)])
        palette = meta.get("palette") or palette_for(len(names))
        labels = None
        if draw_gt and "gt_sem_seg" in data_sample:
            labels = data_sample.gt_sem_seg.data[0].cpu().numpy()
        drawn = side_by_side(image, pred, labels, names, palette)
        if out_file is not None:
            cv2.imwrite(out_file, drawn[..., ::-1])
        else:
            self.add_image(name, drawn, step)
