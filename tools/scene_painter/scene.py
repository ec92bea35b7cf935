"""One procedural aerial scene: land cover, roads, objects, buildings, trees, vehicles and
clutter, drawn in that order for a scene "kind" from the allowed generator classes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .canvas import GEN_CLASSES, G
from .painter import Painter

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
    p = Painter(rng, height, width, scale, allowed)
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
