"""The scene elements drawn on a ``Canvas``: land cover, rivers, roads, buildings, trees,
vehicles, parking lots, clutter and the iSAID objects (tanks, pools, courts, planes).

Each element checks that the ground under it is free (``free``) and draws from the canvas's
Generator in a fixed order, so a seed gives the same scene byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import cv2
import numpy as np

from .canvas import Box, Canvas, G, jitter, smooth_noise


class Painter(Canvas):
    """A canvas with the scene elements."""

    def ground(self, pool: list[str], weights: list[float]) -> None:
        """Land-cover cells: a warped Voronoi partition, one class and texture per cell."""
        rng, s = self.rng, self.s
        n = max(2, int(self.h * self.w / (rng.uniform(45, 80) * s) ** 2) + rng.integers(0, 3))
        cy, cx = rng.uniform(0, self.h, n), rng.uniform(0, self.w, n)
        wy = self.yy + 9 * s * smooth_noise(rng, self.h, self.w, 18 * s)
        wx = self.xx + 9 * s * smooth_noise(rng, self.h, self.w, 18 * s)
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
            wall = jitter(rng, rng.choice([(206, 196, 176), (180, 176, 170), (196, 172, 150)]), 12)

            def facade(b: Box) -> np.ndarray:
                windows = (np.mod(self.xx[b], 4 * s) < 1.6 * s) & (
                    np.mod(self.yy[b], 3.5 * s) < 1.4 * s
                )
                return wall - 70 * windows[..., None] + self._n(b, 5, 0, 0)

            self.paint(face & ~roof, "facade", facade)
        colour = jitter(
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
        colour = jitter(rng, palette[rng.integers(len(palette))], 12)
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
        base = jitter(rng, rng.choice([(222, 222, 218), (196, 198, 200), (210, 200, 180)]), 8)

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
        c = jitter(rng, (60, 186, 214), 14)
        self.paint(water, "swimming_pool", lambda b: c + self._n(b, 3, 6, 0))
        return True

    def tennis_court(self, cx: float, cy: float, angle: float) -> bool:
        rng, s = self.rng, self.s
        length, width = rng.uniform(22, 26) * s, rng.uniform(11, 13) * s
        court = self.box(cx, cy, length, width, angle)
        if not self.free(court, ("grass", "bare", "clutter", "pavement")):
            return False
        colour = jitter(rng, rng.choice([(60, 130, 90), (50, 90, 150), (180, 90, 60)]), 10)
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
        colour = jitter(rng, rng.choice([(236, 236, 236), (200, 204, 210)]), 8)
        self.paint(shape, "plane", lambda b: colour + self._n(b, 4, 0, 0))
        return True

    def place(self, draw: Callable[..., bool], tries: int, *extra: float) -> None:
        """Draw one object at up to ``tries`` random spots until one is free."""
        for _ in range(tries):
            cx, cy = self.rng.uniform(0.15, 0.85) * self.w, self.rng.uniform(0.15, 0.85) * self.h
            if draw(cx, cy, *extra):
                return
