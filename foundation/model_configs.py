"""open_clip model configs read as JSON, without importing open_clip (seconds of imports), so
that shape-dependent mistakes (an upsampler on the wrong patch size, a method on too few
layers) are reported before anything heavy runs."""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable

from .open_clip_tags import package_dir
from .zoo import ROOT

PROJECT_CONFIGS = os.path.join(ROOT, "model_configs")  # the demo model's architecture


def config_places(extra: Iterable[str]) -> list[str]:
    """Where model configs are looked up, first match wins: ``--model-config`` files and
    folders, the project's, open_clip's own."""
    root = package_dir()
    packaged = [os.path.join(root, "model_configs")] if root else []
    return [*extra, PROJECT_CONFIGS, *packaged]


def config_names(extra: Iterable[str] = ()) -> set[str]:
    """Every model config name found in ``config_places``."""
    names = set()
    for place in config_places(extra):
        paths = [place] if os.path.isfile(place) else glob.glob(os.path.join(place, "*.json"))
        names.update(os.path.splitext(os.path.basename(p))[0] for p in paths)
    return names


def read_model_config(name: str, extra: Iterable[str] = ()) -> dict | None:
    """The JSON of open_clip model config ``name`` (``--model-config`` files and folders
    first, then the project's, then open_clip's own), or None if there is none."""
    for path in config_places(extra):
        candidate = path if path.endswith(".json") else os.path.join(path, f"{name}.json")
        if os.path.basename(candidate) == f"{name}.json" and os.path.isfile(candidate):
            with open(candidate, encoding="utf-8") as f:
                return json.load(f)
    return None


def vision_shape(name: str, extra: Iterable[str] = ()) -> dict | None:
    """patch_size, layers, width and embed_dim of an open_clip ViT config (None: no such
    config, or its image tower is not open_clip's own ViT, e.g. a timm trunk)."""
    cfg = read_model_config(name, extra)
    vision = (cfg or {}).get("vision_cfg", {})
    if not cfg or "timm_model_name" in vision or "patch_size" not in vision:
        return None
    return {
        "patch_size": int(vision["patch_size"]),
        "layers": int(vision["layers"]),
        "width": int(vision["width"]),
        "embed_dim": int(cfg["embed_dim"]),
    }
