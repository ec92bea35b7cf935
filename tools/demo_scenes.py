"""Procedural aerial scenes: the demo model's training data and the bundled demo datasets.

Why procedural: the demo must run on a fresh machine with nothing downloaded, so both the
demo model (``tools/train_demo_clip.py``) and the demo scenes are generated here, from a seed,
with numpy and OpenCV only. A scene is an RGB image and a label map of *generator classes*
(``GEN_CLASSES``); every instance gets its own colour, texture and size, and every scene its
own zoom, so that a model has to learn what a class looks like, not one colour.

    .venv/bin/python tools/demo_scenes.py --out demo/data   # reproduces the bundled scenes

writes three scenes per dataset (each redrawn until it shows most of the dataset's classes)
in the real folder layouts, suffixes and label conventions of the eight datasets (SPEC §8):
OpenEarthMap ``.tif``, UDD5/VDD ``.JPG`` images, iSAID labels ``_instance_color_RGB.png``;
labels are single-channel 8-bit class indices, and LoveDA, Potsdam and Vaihingen
(``reduce_zero_label``) store index + 1 with 0 = ignored. The demo scenes use ``DEMO_SEED``
(20240607); the training script draws its scenes from seed 1.

Scale: scenes are drawn so that the 112-pixel, patch-16 demo model sees about ``MODEL_SCALE``
pixels per unit (a car is ~10 units, about one patch) after the evaluation's resizing.

Each dataset's scenes draw only generator classes that the dataset has a class for, and the
label map translates them to the dataset's own class list (configs/cls_*.txt, same order):

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

Generator classes a dataset lacks are simply not drawn in its scenes (Potsdam has no water,
LoveDA no cars, iSAID's background is the clutter texture of an industrial yard).
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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

DEMO_SEED = 20240607  # the bundled scenes; training uses other seeds (see train_demo_clip.py)
IGNORE = 255
# Pixels per unit (a car is ~10 units long) in what a 112-pixel, patch-16 model sees: large
# enough that a car spans about one patch. Training views and demo scenes are drawn to match.
MODEL_SCALE = 1.7

# Scene "kinds" decide which objects a scene tends to have; any kind only draws allowed classes.
KINDS = ("urban", "suburban", "rural", "industrial")


@dataclass
class Scene:
    """An RGB uint8 image and its (H, W) uint8 label map of generator-class indices."""

    image: np.ndarray
    label: np.ndarray
    scale: float


# ----------------------------------------------------------------------------- textures
def _smooth(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Zero-mean, unit-std noise with features about ``cell`` pixels wide."""
    gh, gw = max(int(h / cell) + 2, 2), max(int(w / cell) + 2, 2)
    small = rng.standard_normal((gh, gw)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return (big - big.mean()) / (big.std() + 1e-6)


def _jitter(rng: np.random.Generator, rgb: Iterable[float], amount: float) -> np.ndarray:
    """A per-instance colour: the class colour moved by up to ``amount`` per channel."""
    base = np.asarray(list(rgb), np.float32)
    shift = rng.uniform(-amount, amount, 3) + rng.uniform(-amount, amount)  # hue + brightness
    return np.clip(base + shift, 0, 255)


class _Painter:
    """One scene canvas: paints textured shapes, keeps the label map in step with the pixels.

    Textures are computed only inside each shape's bounding box (``Box``), which keeps a
    scene at a few milliseconds.
    """

    def __init__(self, rng: np.random.Generator, h: int, w: int, scale: float, allowed: set[int]):
        self.rng, self.h, self.w, self.s = rng, h, w, scale
        self.allowed = allowed
        self.img = np.zeros((h, w, 3), np.float32)
        self.lab = np.full((h, w), G["clutter"], np.uint8)
        self.fine = rng.standard_normal((h, w)).astype(np.float32)  # pixel noise, shared
        self.mid = _smooth(rng, h, w, 3.0 * scale)
        self.low = _smooth(rng, h, w, 14.0 * scale)
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
            c = _jitter(rng, rng.choice([(104, 150, 66), (120, 158, 78), (92, 136, 60)]), 14)
            return lambda b: c + self._n(b, 9, 10, 8)
        if cls == "tree":
            c = _jitter(rng, rng.choice([(44, 84, 40), (36, 72, 42), (58, 92, 46)]), 10)

            def tree(b: Box) -> np.ndarray:
                blobs = _smooth(rng, *self._shape(b), 1.6 * s)[..., None]
                return c + 16 * np.tanh(1.5 * blobs) + self._n(b, 5, 5, 0)

            return tree
        if cls == "field":
            c = _jitter(
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
            c = _jitter(rng, rng.choice([(176, 146, 112), (160, 128, 96), (192, 170, 136)]), 14)
            return lambda b: c + self._n(b, 13, 12, 10)
        if cls == "water":
            c = _jitter(rng, rng.choice([(34, 72, 112), (40, 86, 104), (28, 58, 92)]), 10)
            k = rng.uniform(0.6, 1.2) / s

            def water(b: Box) -> np.ndarray:
                ripple = np.sin((self.xx[b] + 0.5 * self.yy[b]) * k)[..., None]
                return c + 4 * ripple + self._n(b, 2.5, 0, 6)

            return water
        if cls == "road":
            c = _jitter(rng, (84, 84, 88), 10)
            return lambda b: c + self._n(b, 5, 0, 3)
        if cls == "pavement":
            c = _jitter(rng, rng.choice([(166, 162, 156), (182, 176, 166), (148, 146, 146)]), 12)
            tile = max(2.0, rng.uniform(3, 6) * s)

            def pavement(b: Box) -> np.ndarray:
                u = self.xx[b] * math.cos(a) + self.yy[b] * math.sin(a)
                v = -self.xx[b] * math.sin(a) + self.yy[b] * math.cos(a)
                grid = ((np.mod(u, tile) < 0.8) | (np.mod(v, tile) < 0.8))[..., None]
                return c - 18 * grid + self._n(b, 5, 0, 4)

            return pavement
        if cls == "clutter":
            c = _jitter(rng, rng.choice([(128, 118, 110), (112, 110, 118), (140, 126, 104)]), 14)

            def clutter(b: Box) -> np.ndarray:
                h, w = self._shape(b)
                patches = _smooth(rng, h, w, 2.2 * s)[..., None] > 0.3
                hue = np.stack([_smooth(rng, h, w, 2.5 * s) for _ in range(3)], -1)
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

    # -- scene elements ------------------------------------------------------------------
    def ground(self, pool: list[str], weights: list[float]) -> None:
        """Land-cover cells: a warped Voronoi partition, one class and texture per cell."""
        rng, s = self.rng, self.s
        n = max(2, int(self.h * self.w / (rng.uniform(45, 80) * s) ** 2) + rng.integers(0, 3))
        cy, cx = rng.uniform(0, self.h, n), rng.uniform(0, self.w, n)
        wy = self.yy + 9 * s * _smooth(rng, self.h, self.w, 18 * s)
        wx = self.xx + 9 * s * _smooth(rng, self.h, self.w, 18 * s)
        best = np.full((self.h, self.w), np.inf, np.float32)
        cell = np.zeros((self.h, self.w), np.int32)
        for i in range(n):
            d = (wy - cy[i]) ** 2 + (wx - cx[i]) ** 2
            closer = d < best
            best[closer] = d[closer]
            cell[closer] = i
        p = np.asarray(weights, np.float64) / sum(weights)
        for i in range(n):
            cls = str(rng.choice(pool, p=p))
            self.paint(cell == i, cls, self.tex(cls, rng.uniform(0, 180)))

    def river(self) -> None:
        rng, s = self.rng, self.s
        width = rng.uniform(14, 30) * s
        horizontal = rng.random() < 0.5
        t = np.linspace(-0.2, 1.2, 40)
        amp, freq, ph = rng.uniform(5, 20) * s, rng.uniform(0.5, 2.0), rng.uniform(0, 6.3)
        base = rng.uniform(0.2, 0.8)
        along = t * (self.w if horizontal else self.h)
        across = base * (self.h if horizontal else self.w) + amp * np.sin(freq * 2 * np.pi * t + ph)
        pts = np.stack([along, across] if horizontal else [across, along], -1).astype(np.int32)
        mask = np.zeros((self.h, self.w), np.uint8)
        cv2.polylines(mask, [pts], False, 1, max(2, int(width)))
        self.paint(mask.astype(bool), "water", self.tex("water"))

    def road(self, angle: float, offset: float, with_walk: bool) -> tuple[np.ndarray, float]:
        """A straight road across the scene (plus sidewalks); returns its mask and width."""
        rng, s = self.rng, self.s
        width = rng.uniform(10, 16) * s
        diag = math.hypot(self.h, self.w) * 1.5
        cx = self.w / 2 + offset * math.cos(math.radians(angle + 90))
        cy = self.h / 2 + offset * math.sin(math.radians(angle + 90))
        if with_walk and self.has("pavement"):
            walk = self.box(cx, cy, diag, width + 2 * rng.uniform(3, 5) * s, angle)
            self.paint(walk, "pavement", self.tex("pavement", angle))
        mask = self.box(cx, cy, diag, width, angle)
        self.paint(mask, "road", self.tex("road"))
        if rng.random() < 0.8:  # dashed centre line, still road
            dash = np.zeros((self.h, self.w), np.uint8)
            a = math.radians(angle)
            step = 7 * s
            for k in np.arange(-diag / 2, diag / 2, step):
                p0 = (int(cx + k * math.cos(a)), int(cy + k * math.sin(a)))
                p1 = (
                    int(cx + (k + step / 2) * math.cos(a)),
                    int(cy + (k + step / 2) * math.sin(a)),
                )
                cv2.line(dash, p0, p1, 1, max(1, int(0.8 * s)))
            colour = np.float32(rng.choice([(230, 230, 226), (226, 200, 90)]))
            self.img[(dash > 0) & mask] = colour
        return mask, width

    def free(self, mask: np.ndarray, on: Iterable[str]) -> bool:
        """True when every pixel under ``mask`` currently has one of the classes ``on``."""
        under = self.lab[mask]
        return under.size > 0 and bool(np.isin(under, [G[c] for c in on]).all())

    def building(self, cx: float, cy: float, length: float, width: float, angle: float) -> bool:
        rng, s = self.rng, self.s
        roof = self.box(cx, cy, length, width, angle)
        if not self.free(roof, ("grass", "bare", "clutter", "pavement", "field")):
            return False
        height = rng.uniform(2, 6) * s
        self.shadow(roof, height * 1.4)
        if self.has("facade"):  # oblique (drone) view: the wall below the roof, facing the camera
            lean = 1.6 * height
            face = self.box(cx + 0.4 * lean, cy + lean, length, width, angle)
            wall = _jitter(rng, rng.choice([(206, 196, 176), (180, 176, 170), (196, 172, 150)]), 12)

            def facade(b: Box) -> np.ndarray:
                windows = (np.mod(self.xx[b], 4 * s) < 1.6 * s) & (
                    np.mod(self.yy[b], 3.5 * s) < 1.4 * s
                )
                return wall - 70 * windows[..., None] + self._n(b, 5, 0, 0)

            self.paint(face & ~roof, "facade", facade)
        colour = _jitter(
            rng,
            rng.choice(
                [
                    (176, 84, 64),
                    (150, 70, 58),
                    (96, 96, 102),
                    (196, 194, 188),
                    (226, 224, 218),
                    (120, 110, 100),
                    (92, 112, 136),
                ]
            ),
            14,
        )
        a = math.radians(angle)
        gable = rng.random() < 0.6
        inner = None if gable else self.box(cx, cy, length - 2 * s, width - 2 * s, angle)

        def roof_tex(b: Box) -> np.ndarray:
            tex = colour + self._n(b, 3, 0, 0)
            if gable:  # two slopes in different light, a dark ridge line
                side = (self.xx[b] - cx) * -math.sin(a) + (self.yy[b] - cy) * math.cos(a)
                tex = tex + np.where(side > 0, 14, -14)[..., None]
                return tex - 30 * (np.abs(side) < 0.6 * s)[..., None]
            return tex - 22 * (~inner[b])[..., None]  # flat roof: a parapet rim

        self.paint(roof, "building", roof_tex)
        if not gable and rng.random() < 0.6:  # rooftop units
            for _ in range(rng.integers(1, 4)):
                ux = cx + rng.uniform(-0.3, 0.3) * length * math.cos(a)
                uy = cy + rng.uniform(-0.3, 0.3) * length * math.sin(a)
                unit = self.box(ux, uy, 3 * s, 2.5 * s, angle) & roof
                self.img[unit] = np.clip(colour + 40, 0, 255)
        return True

    def tree(self, cx: float, cy: float, r: float) -> None:
        crown = self.disc(cx, cy, r)
        crown &= (self.mid + 0.8 * self.fine) > -1.2  # ragged edge
        self.shadow(crown, r * 0.9)
        self.paint(crown, "tree", self.tex("tree"))

    def car(self, cx: float, cy: float, angle: float, large: bool = False) -> bool:
        rng, s = self.rng, self.s
        length = (rng.uniform(16, 24) if large else rng.uniform(8.5, 11)) * s
        width = (rng.uniform(5.5, 7) if large else rng.uniform(4.2, 5.2)) * s
        body = self.box(cx, cy, length, width, angle)
        if not self.free(body, ("road", "pavement", "clutter")):
            return False
        self.shadow(body, 1.5 * s)
        palette = [
            (200, 30, 30),
            (30, 60, 170),
            (235, 235, 235),
            (25, 25, 28),
            (170, 172, 176),
            (220, 190, 40),
            (40, 120, 60),
        ]
        colour = _jitter(rng, palette[rng.integers(len(palette))], 12)
        self.paint(body, "large_vehicle" if large else "car", colour)
        a = math.radians(angle)
        if large:  # cab + container seam
            cab = (
                self.box(
                    cx + 0.38 * length * math.cos(a),
                    cy + 0.38 * length * math.sin(a),
                    0.22 * length,
                    width,
                    angle,
                )
                & body
            )
            self.img[cab] = np.clip(colour * 0.6 + 60, 0, 255)
            seam = (
                self.box(
                    cx + 0.26 * length * math.cos(a),
                    cy + 0.26 * length * math.sin(a),
                    0.6 * s,
                    width,
                    angle,
                )
                & body
            )
            self.img[seam] = 40
        else:  # dark windscreen and rear window
            for off, frac in ((0.18, 0.18), (-0.28, 0.12)):
                glass = (
                    self.box(
                        cx + off * length * math.cos(a),
                        cy + off * length * math.sin(a),
                        frac * length,
                        0.8 * width,
                        angle,
                    )
                    & body
                )
                self.img[glass] = (36, 40, 48)
        return True

    def parking_lot(self, cx: float, cy: float, length: float, width: float, angle: float) -> None:
        rng, s = self.rng, self.s
        lot = self.box(cx, cy, length, width, angle)
        if not self.free(lot, ("grass", "bare", "clutter", "pavement", "field", "tree")):
            return
        self.paint(lot, "pavement", self.tex("pavement", angle))
        a = math.radians(angle)
        ux, uy = math.cos(a), math.sin(a)
        vx, vy = -uy, ux
        stall = rng.uniform(6, 7.5) * s
        for row in (-0.25, 0.25):
            for k in np.arange(-length / 2 + stall, length / 2 - stall / 2, stall):
                px, py = cx + k * ux + row * width * vx, cy + k * uy + row * width * vy
                line = self.box(
                    px - stall / 2 * ux, py - stall / 2 * uy, 0.7 * s, 0.4 * width, angle + 90
                )
                self.img[line & lot] = (228, 228, 222)
                if self.has("car") and rng.random() < 0.6:
                    self.car(px, py, angle + 90 + rng.normal(0, 3))

    def clutter_objects(self, n: int) -> None:
        """Containers, sheds, heaps: small high-contrast things on open ground (clutter)."""
        rng, s = self.rng, self.s
        for _ in range(n):
            cx, cy = rng.uniform(0, self.w), rng.uniform(0, self.h)
            m = self.box(cx, cy, rng.uniform(3, 12) * s, rng.uniform(2, 7) * s, rng.uniform(0, 180))
            if self.free(m, ("grass", "bare", "pavement", "clutter")):
                colour = rng.uniform(30, 240, 3).astype(np.float32)
                self.paint(m, "clutter", lambda b, c=colour: c + self._n(b, 8, 0, 0))

    def storage_tank(self, cx: float, cy: float) -> bool:
        rng, s = self.rng, self.s
        r = rng.uniform(5, 11) * s
        tank = self.disc(cx, cy, r)
        if not self.free(tank, ("clutter", "bare", "pavement", "grass")):
            return False
        self.shadow(tank, r * 0.6)
        base = _jitter(rng, rng.choice([(222, 222, 218), (196, 198, 200), (210, 200, 180)]), 8)

        def tank_tex(b: Box) -> np.ndarray:
            d = np.sqrt((self.xx[b] - cx) ** 2 + (self.yy[b] - cy) ** 2)
            ring = np.abs(d - 0.7 * r) < 0.5 * s
            return base - 18 * (d / r)[..., None] - 35 * ring[..., None]

        self.paint(tank, "storage_tank", tank_tex)
        return True

    def pool(self, cx: float, cy: float, angle: float) -> bool:
        rng, s = self.rng, self.s
        length, width = rng.uniform(8, 16) * s, rng.uniform(5, 8) * s
        rim = self.box(cx, cy, length + 2 * s, width + 2 * s, angle)
        if not self.free(rim, ("grass", "bare", "clutter", "pavement")):
            return False
        self.paint(
            rim, "pavement" if self.has("pavement") else "clutter", np.float32([220, 218, 210])
        )
        water = self.box(cx, cy, length, width, angle)
        c = _jitter(rng, (60, 186, 214), 14)
        self.paint(water, "swimming_pool", lambda b: c + self._n(b, 3, 6, 0))
        return True

    def tennis_court(self, cx: float, cy: float, angle: float) -> bool:
        rng, s = self.rng, self.s
        length, width = rng.uniform(22, 26) * s, rng.uniform(11, 13) * s
        court = self.box(cx, cy, length, width, angle)
        if not self.free(court, ("grass", "bare", "clutter", "pavement")):
            return False
        colour = _jitter(rng, rng.choice([(60, 130, 90), (50, 90, 150), (180, 90, 60)]), 10)
        self.paint(court, "tennis_court", lambda b: colour + self._n(b, 3, 0, 0))
        lines = court & ~self.box(cx, cy, length - 2 * s, width - 2 * s, angle)
        lines |= self.box(cx, cy, 0.8 * s, width, angle)  # net
        lines |= self.box(cx, cy, length * 0.55, 0.6 * s, angle)  # centre service line
        self.img[lines & court] = (236, 236, 232)
        return True

    def plane(self, cx: float, cy: float, angle: float) -> bool:
        rng, s = self.rng, self.s
        length = rng.uniform(26, 40) * s
        a = math.radians(angle)
        body = self.box(cx, cy, length, 0.12 * length, angle)
        wings = self.box(
            cx + 0.05 * length * math.cos(a),
            cy + 0.05 * length * math.sin(a),
            0.16 * length,
            length * 0.95,
            angle,
        )
        tail = self.box(
            cx - 0.42 * length * math.cos(a),
            cy - 0.42 * length * math.sin(a),
            0.08 * length,
            length * 0.35,
            angle,
        )
        shape = body | wings | tail
        if not self.free(shape, ("clutter", "pavement", "bare", "grass", "road")):
            return False
        self.shadow(shape, 3 * s)
        colour = _jitter(rng, rng.choice([(236, 236, 236), (200, 204, 210)]), 8)
        self.paint(shape, "plane", lambda b: colour + self._n(b, 4, 0, 0))
        return True

    def place(self, draw: Callable[..., bool], tries: int, *extra: float) -> None:
        """Draw one object at up to ``tries`` random spots until one is free."""
        for _ in range(tries):
            cx, cy = self.rng.uniform(0.15, 0.85) * self.w, self.rng.uniform(0.15, 0.85) * self.h
            if draw(cx, cy, *extra):
                return


# ----------------------------------------------------------------------------- scenes
def _pick_kind(rng: np.random.Generator, allowed: set[int]) -> str:
    have = {GEN_CLASSES[i] for i in allowed}
    kinds = []
    if "building" in have:
        kinds += ["urban", "suburban"]
    if have & {"field", "tree", "water", "bare"}:
        kinds.append("rural")
    if have & {"clutter", "storage_tank", "plane", "large_vehicle"}:
        kinds.append("industrial")
    return str(rng.choice(kinds)) if kinds else "rural"


def generate_scene(
    rng: np.random.Generator | int,
    height: int,
    width: int,
    scale: float = 1.0,
    classes: Iterable[str] | None = None,
    kind: str | None = None,
) -> Scene:
    """One scene of ``height`` x ``width`` pixels; ``scale`` is pixels per unit (a car is ~10).

    ``classes`` limits the generator classes drawn (default: all); ``kind`` (one of
    ``KINDS``) is chosen from what is allowed when None. Deterministic for an integer seed.
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    allowed = {G[c] for c in (classes if classes is not None else GEN_CLASSES)}
    p = _Painter(rng, height, width, scale, allowed)
    kind = kind or _pick_kind(rng, allowed)
    s = scale

    def ok(*names: str) -> list[str]:
        return [n for n in names if p.has(n)]

    # 1. land cover
    ground_w = {
        "urban": {"grass": 3, "pavement": 2, "clutter": 1.5, "bare": 0.6, "tree": 0.8},
        "suburban": {"grass": 4, "tree": 1.5, "bare": 1, "clutter": 0.6, "field": 0.5},
        "rural": {"field": 4, "grass": 2, "tree": 2.2, "bare": 1.6, "water": 0.8, "clutter": 0.3},
        "industrial": {"clutter": 4, "bare": 1.5, "pavement": 1.5, "grass": 0.8},
    }[kind]
    pool = [c for c in ground_w if p.has(c)]
    if not pool:
        pool = ok("clutter", "grass", "bare", "pavement") or ["clutter"]
        ground_w = dict.fromkeys(pool, 1.0)
    p.ground(pool, [ground_w[c] for c in pool])
    if p.has("water") and rng.random() < {"rural": 0.5, "suburban": 0.2}.get(kind, 0.1):
        p.river()

    # 2. roads on a scene grid (angle theta), optional sidewalks
    theta = float(rng.choice([0.0, 90.0, rng.uniform(0, 180)]))
    roads: list[tuple[np.ndarray, float, float, float]] = []  # mask, width, angle, offset
    if p.has("road"):
        n_roads = {"urban": (1, 3), "suburban": (1, 3), "rural": (0, 2), "industrial": (0, 2)}[kind]
        for _ in range(rng.integers(*n_roads)):
            ang = theta + float(rng.choice([0.0, 90.0]))
            off = rng.uniform(-0.4, 0.4) * min(height, width)
            mask, rw = p.road(ang, off, kind in ("urban", "suburban"))
            roads.append((mask, rw, ang, off))

    # 3. iSAID-style objects (before lots and buildings, which then keep clear of them)
    if p.has("storage_tank") and kind == "industrial" and rng.random() < 0.7:
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
        gap = rng.uniform(20, 26) * s
        for i in range(rng.integers(1, 4)):
            for j in range(rng.integers(1, 3)):
                p.storage_tank(cx + i * gap, cy + j * gap)
    if p.has("plane") and kind == "industrial" and rng.random() < 0.5:
        p.place(p.plane, 4, rng.uniform(0, 360))
    if p.has("swimming_pool") and kind in ("suburban", "urban") and rng.random() < 0.7:
        for _ in range(rng.integers(1, 4)):
            p.pool(rng.uniform(0, width), rng.uniform(0, height), theta + rng.normal(0, 3))
    if p.has("tennis_court") and kind in ("suburban", "urban", "industrial") and rng.random() < 0.5:
        p.place(p.tennis_court, 4, theta + rng.normal(0, 2))

    # 4. parking lots
    if p.has("pavement") and kind in ("urban", "industrial") and rng.random() < 0.6:
        p.parking_lot(
            rng.uniform(0.2, 0.8) * width,
            rng.uniform(0.2, 0.8) * height,
            rng.uniform(30, 60) * s,
            rng.uniform(22, 30) * s,
            theta,
        )

    # 5. buildings
    if p.has("building") and (kind != "rural" or rng.random() < 0.3):
        n_b = {"urban": 14, "suburban": 10, "industrial": 5, "rural": 2}[kind]
        for _ in range(n_b):
            if kind == "urban":
                size = rng.uniform(18, 42, 2) * s
            elif kind == "industrial":
                size = rng.uniform(30, 60, 2) * s
            else:
                size = rng.uniform(12, 24, 2) * s
            p.building(
                rng.uniform(0, width),
                rng.uniform(0, height),
                size[0],
                size[1],
                theta + rng.normal(0, 2),
            )

    # 6. trees: singles and rows along roads
    if p.has("tree"):
        n_t = {"urban": 10, "suburban": 25, "rural": 14, "industrial": 4}[kind]
        for _ in range(rng.integers(n_t // 2, n_t + 1)):
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            if p.lab[int(cy), int(cx)] in (G["grass"], G["bare"], G["tree"], G["clutter"]):
                p.tree(cx, cy, rng.uniform(4, 9) * s)

    # 7. vehicles on roads
    for _mask, rw, ang, off in roads:
        a = math.radians(ang)
        rcx = width / 2 + off * math.cos(a + math.pi / 2)
        rcy = height / 2 + off * math.sin(a + math.pi / 2)
        count = rng.integers(0, 5 if kind != "rural" else 2)
        for _ in range(count):
            t = rng.uniform(-0.6, 0.6) * max(height, width)
            lane = rw * 0.22 * float(rng.choice([-1, 1]))
            cx = rcx + t * math.cos(a) + lane * math.cos(a + math.pi / 2)
            cy = rcy + t * math.sin(a) + lane * math.sin(a + math.pi / 2)
            large = p.has("large_vehicle") and rng.random() < (0.5 if not p.has("car") else 0.15)
            if large or p.has("car"):
                p.car(cx, cy, ang + rng.normal(0, 2), large=large)
    if p.has("large_vehicle") and kind == "industrial":
        for _ in range(rng.integers(1, 6)):
            p.car(
                rng.uniform(0, width),
                rng.uniform(0, height),
                theta + float(rng.choice([0, 90])),
                True,
            )
    if p.has("car") and kind == "industrial" and rng.random() < 0.5:
        for _ in range(rng.integers(1, 6)):
            p.car(rng.uniform(0, width), rng.uniform(0, height), theta + float(rng.choice([0, 90])))

    # 8. clutter objects
    if p.has("clutter"):
        p.clutter_objects(int(rng.integers(2, 9 if kind == "industrial" else 5)))

    img = np.clip(p.img, 0, 255).astype(np.uint8)
    return Scene(image=img, label=p.lab, scale=scale)


# ----------------------------------------------------------------------------- datasets
@dataclass(frozen=True)
class DemoDataset:
    """One dataset's real layout (SPEC §8) and how generator classes map to its classes."""

    img_dir: str
    ann_dir: str
    img_suffix: str
    ann_suffix: str
    reduce_zero_label: bool
    classes: tuple[str, ...]  # the class file's first names, in order
    mapping: dict[str, str]  # generator class -> dataset class (only these are drawn)
    kinds: tuple[str, ...] = KINDS


DATASETS: dict[str, DemoDataset] = {
    "OpenEarthMapDataset": DemoDataset(
        "OpenEarthMap/img_dir/val",
        "OpenEarthMap/ann_dir/val",
        ".tif",
        ".tif",
        False,
        (
            "background",
            "bareland",
            "grass",
            "pavement",
            "road",
            "tree",
            "water",
            "cropland",
            "building",
        ),
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
        "loveDA/img_dir/val",
        "loveDA/ann_dir/val",
        ".png",
        ".png",
        True,
        ("background", "building", "road", "water", "barren", "forest", "agricultural"),
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
        "potsdam/img_dir/val",
        "potsdam/ann_dir/val",
        ".png",
        ".png",
        True,
        ("road", "building", "low vegetation", "tree", "car", "clutter"),
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
        "vaihingen/img_dir/val",
        "vaihingen/ann_dir/val",
        ".png",
        ".png",
        True,
        ("impervious surface", "building", "low vegetation", "tree", "car", "clutter"),
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
        "UDD5/val/src",
        "UDD5/val/gt",
        ".JPG",
        ".png",
        False,
        ("vegetation", "building", "road", "vehicle", "background"),
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
        "VDD/test/src",
        "VDD/test/gt",
        ".JPG",
        ".png",
        False,
        ("background", "facade", "road", "vegetation", "vehicle", "roof", "water"),
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
        "UAVid/img_dir/test",
        "UAVid/ann_dir/test",
        ".png",
        ".png",
        False,
        ("background", "building", "road", "car", "tree", "vegetation", "human"),
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
        "iSAID/img_dir/val",
        "iSAID/ann_dir/val",
        ".png",
        "_instance_color_RGB.png",
        False,
        (
            "background",
            "ship",
            "store tank",
            "baseball diamond",
            "tennis court",
            "basketball court",
            "ground track field",
            "bridge",
            "large vehicle",
            "small vehicle",
            "helicopter",
            "swimming pool",
            "roundabout",
            "soccer ball field",
            "plane",
            "harbor",
        ),
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

# (height, width) of the three bundled scenes per dataset: small, so the demo runs in seconds.
DEMO_SIZES = ((240, 320), (288, 288), (320, 240))


def dataset_label(label: np.ndarray, ds: DemoDataset) -> np.ndarray:
    """Generator labels -> the dataset's stored label values (reduce_zero_label: index + 1)."""
    lut = np.full(256, IGNORE, np.uint8)
    for gen, name in ds.mapping.items():
        lut[G[gen]] = ds.classes.index(name) + (1 if ds.reduce_zero_label else 0)
    return lut[label]


def demo_scale(height: int, width: int, rng: np.random.Generator) -> float:
    """The zoom that shows a demo scene to the model at the training scale.

    The evaluation resizes the long side to 448 and feeds 224-pixel windows to a 112-pixel
    model: the model sees the scene at ``224 / long side`` of its native pixels.
    """
    return max(height, width) / 224 * MODEL_SCALE * rng.uniform(0.9, 1.15)


def representative_scene(
    rng: np.random.Generator, height: int, width: int, ds: DemoDataset, kind: str, tries: int = 12
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
        values, counts = np.unique(dataset_label(scene.label, ds), return_counts=True)
        n = int((counts >= 0.005 * scene.label.size).sum())
        if n >= wanted:
            return scene
        if n > best_n:
            best, best_n = scene, n
    assert best is not None
    return best


def write_dataset(root: str, name: str, seed: int, sizes=DEMO_SIZES) -> list[str]:
    """Write one dataset's demo scenes under ``root``; returns the image paths."""
    ds = DATASETS[name]
    rng = np.random.default_rng(seed)
    img_dir, ann_dir = os.path.join(root, ds.img_dir), os.path.join(root, ds.ann_dir)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    paths = []
    for i, (h, w) in enumerate(sizes):
        scene = representative_scene(rng, h, w, ds, ds.kinds[i % len(ds.kinds)])
        stem = f"demo_{i:02d}"
        bgr = scene.image[..., ::-1]
        img_path = os.path.join(img_dir, stem + ds.img_suffix)
        if ds.img_suffix.lower() == ".jpg":
            cv2.imwrite(img_path, bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
        else:
            cv2.imwrite(img_path, bgr)
        cv2.imwrite(os.path.join(ann_dir, stem + ds.ann_suffix), dataset_label(scene.label, ds))
        paths.append(img_path)
    return paths


def write_demo_data(root: str, seed: int = DEMO_SEED) -> dict[str, list[str]]:
    """All eight datasets; each gets its own seed derived from ``seed``."""
    return {name: write_dataset(root, name, seed + 1000 * i) for i, name in enumerate(DATASETS)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="demo/data", help="data root to write the eight datasets in")
    ap.add_argument("--seed", type=int, default=DEMO_SEED)
    args = ap.parse_args()
    written = write_demo_data(args.out, args.seed)
    for name, paths in written.items():
        print(f"{name}: {len(paths)} scenes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
