"""Procedural aerial scenes (numpy and OpenCV only): the painter behind the demo model's
training data (``tools/train_demo_clip.py``) and the bundled demo datasets
(``tools/demo_scenes.py``).

A scene is an RGB image and a label map of *generator classes* (``GEN_CLASSES``); every
instance gets its own colour, texture and size, and every scene its own zoom, so that a
model has to learn what a class looks like, not one colour. ``canvas`` holds the classes,
noise, textures and basic shapes, ``painter`` the scene elements, ``scene`` the composition.
"""

from __future__ import annotations

from .canvas import GEN_CLASSES, G
from .scene import KINDS, MODEL_SCALE, Scene, generate_scene

__all__ = ["GEN_CLASSES", "G", "KINDS", "MODEL_SCALE", "Scene", "generate_scene"]
