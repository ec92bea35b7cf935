"""The canvas of a procedural aerial scene: generator classes, noise, class textures and
the basic shapes, with the label map kept in step with the pixels.

Textures are computed only inside each shape's bounding box (``Box``), which keeps a scene
at a few milliseconds. Everything is drawn from one numpy Generator, in a fixed order, so a
seed gives the same scene byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import cv2
import numpy as np

GEN_CLASSES: tuple[str, ...] = (
    "clutter",
    "building",
    "facade",
    "road",
    "pavement",
    "tree",
    "grass",
    "water",
    "bare",
    "car",
    "field",
    "large_vehicle",
    "storage_tank",
    "swimming_pool",
    "tennis_court",
    "plane",
)
G = {name: i for i, name in enumerate(GEN_CLASSES)}

Box = tuple[slice, slice]  # (rows, cols) bounding box of a shape
Colour = np.ndarray | Callable[[Box], np.ndarray]  # an RGB triple, or a texture over a Box


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Zero-mean, unit-std noise with features about ``cell`` pixels wide."""
    gh, gw = max(int(h / cell) + 2, 2), max(int(w / cell) + 2, 2)
    small = rng.standard_normal((gh, gw)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return (big - big.mean()) / (big.std() + 1e-6)


def jitter(rng: np.random.Generator, rgb: Iterable[float], amount: float) -> np.ndarray:
    """A per-instance colour: the class colour moved by up to ``amount`` per channel."""
    base = np.asarray(list(rgb), np.float32)
    shift = rng.uniform(-amount, amount, 3) + rng.uniform(-amount, amount)  # hue + brightness
    return np.clip(base + shift, 0, 255)


class Canvas:
    """One scene canvas: paints textured shapes, keeps the label map in step with the pixels."""

    def __init__(self, rng: np.random.Generator, h: int, w: int, scale: float, allowed: set[int]):
        self.rng, self.h, self.w, self.s = rng, h, w, scale
        self.allowed = allowed
        self.img = np.zeros((h, w, 3), np.float32)
        self.lab = np.full((h, w), G["clutter"], np.uint8)
        self.fine = rng.standard_normal((h, w)).astype(np.float32)  # pixel noise, shared
        self.mid = smooth_noise(rng, h, w, 3.0 * scale)
        self.low = smooth_noise(rng, h, w, 14.0 * scale)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self.yy, self.xx = yy, xx
        ang = rng.uniform(0, 2 * math.pi)
        self.sun = (math.cos(ang), math.sin(ang))  # shadow direction, one per scene

    def has(self, name: str) -> bool:
        return G[name] in self.allowed

    # -- basic shapes (full-size boolean masks) -------------------------------------------
    def box(self, cx: float, cy: float, length: float, width: float, angle: float) -> np.ndarray:
        """Mask of a rotated rectangle (angle in degrees)."""
        pts = cv2.boxPoints(((cx, cy), (length, width), angle)).astype(np.int32)
        mask = np.zeros((self.h, self.w), np.uint8)
        cv2.fillPoly(mask, [pts], 1)
        return mask.astype(bool)

    def disc(self, cx: float, cy: float, r: float) -> np.ndarray:
        mask = np.zeros((self.h, self.w), np.uint8)
        cv2.circle(mask, (int(round(cx)), int(round(cy))), max(1, int(round(r))), 1, -1)
        return mask.astype(bool)

    @staticmethod
    def bbox(mask: np.ndarray) -> Box | None:
        x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
        return None if w == 0 else (slice(y, y + h), slice(x, x + w))

    def paint(self, mask: np.ndarray, cls: str, colour: Colour) -> None:
        """Fill ``mask`` with ``colour`` (an RGB triple or a Box -> texture function), label it."""
        sl = self.bbox(mask)
        if sl is None:
            return
        m = mask[sl]
        if callable(colour):
            self.img[sl][m] = colour(sl)[m]
        else:
            self.img[sl][m] = colour
        self.lab[sl][m] = G[cls]

    def shadow(self, mask: np.ndarray, length: float) -> None:
        """Darken the ground next to a raised object; labels keep the ground's class."""
        dx, dy = self.sun[0] * length, self.sun[1] * length
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        moved = cv2.warpAffine(mask.astype(np.uint8), m, (self.w, self.h)) > 0
        self.img[moved & ~mask] *= 0.62

    # -- class textures: a function of the bounding box it is painted in -----------------
    def tex(self, cls: str, angle: float = 0.0) -> Callable[[Box], np.ndarray]:
        rng, s = self.rng, self.s
        a = math.radians(angle)
        if cls == "grass":
            c = jitter(rng, rng.choice([(104, 150, 66), (120, 158, 78), (92, 136, 60)]), 14)
            return lambda b: c + self._n(b, 9, 10, 8)
        if cls == "tree":
            c = jitter(rng, rng.choice([(44, 84, 40), (36, 72, 42), (58, 92, 46)]), 10)

            def tree(b: Box) -> np.ndarray:
                blobs = smooth_noise(rng, *self._shape(b), 1.6 * s)[..., None]
                return c + 16 * np.tanh(1.5 * blobs) + self._n(b, 5, 5, 0)

            return tree
        if cls == "field":
            c = jitter(
                rng,
                rng.choice([(140, 170, 80), (196, 178, 104), (150, 118, 80), (110, 150, 70)]),
                16,
            )
            period = rng.uniform(3.0, 6.0) * s

            def field(b: Box) -> np.ndarray:
                phase = (self.xx[b] * math.cos(a) + self.yy[b] * math.sin(a)) * (
                    2 * math.pi / period
                )
                return c + 14 * np.sin(phase)[..., None] + self._n(b, 5, 0, 6)

            return field
        if cls == "bare":
            c = jitter(rng, rng.choice([(176, 146, 112), (160, 128, 96), (192, 170, 136)]), 14)
            return lambda b: c + self._n(b, 13, 12, 10)
        if cls == "water":
            c = jitter(rng, rng.choice([(34, 72, 112), (40, 86, 104), (28, 58, 92)]), 10)
            k = rng.uniform(0.6, 1.2) / s

            def water(b: Box) -> np.ndarray:
                ripple = np.sin((self.xx[b] + 0.5 * self.yy[b]) * k)[..., None]
                return c + 4 * ripple + self._n(b, 2.5, 0, 6)

            return water
        if cls == "road":
            c = jitter(rng, (84, 84, 88), 10)
            return lambda b: c + self._n(b, 5, 0, 3)
        if cls == "pavement":
            c = jitter(rng, rng.choice([(166, 162, 156), (182, 176, 166), (148, 146, 146)]), 12)
            tile = max(2.0, rng.uniform(3, 6) * s)

            def pavement(b: Box) -> np.ndarray:
                u = self.xx[b] * math.cos(a) + self.yy[b] * math.sin(a)
                v = -self.xx[b] * math.sin(a) + self.yy[b] * math.cos(a)
                grid = ((np.mod(u, tile) < 0.8) | (np.mod(v, tile) < 0.8))[..., None]
                return c - 18 * grid + self._n(b, 5, 0, 4)

            return pavement
        if cls == "clutter":
            c = jitter(rng, rng.choice([(128, 118, 110), (112, 110, 118), (140, 126, 104)]), 14)

            def clutter(b: Box) -> np.ndarray:
                h, w = self._shape(b)
                patches = smooth_noise(rng, h, w, 2.2 * s)[..., None] > 0.3
                hue = np.stack([smooth_noise(rng, h, w, 2.5 * s) for _ in range(3)], -1)
                return c + 22 * hue * patches + self._n(b, 12, 0, 0)

            return clutter
        raise ValueError(cls)

    def _n(self, b: Box, fine: float, mid: float, low: float) -> np.ndarray:
        """The shared noise fields inside ``b``, weighted; (h, w, 1)."""
        out = fine * self.fine[b]
        if mid:
            out = out + mid * self.mid[b]
        if low:
            out = out + low * self.low[b]
        return out[..., None]

    @staticmethod
    def _shape(b: Box) -> tuple[int, int]:
        return b[0].stop - b[0].start, b[1].stop - b[1].start
