"""Pictures: class palettes and a class-colour legend strip for drawings (numpy + cv2)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


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
