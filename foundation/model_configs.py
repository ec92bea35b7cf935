"""open_clip model configs read as JSON, without importing open_clip (seconds of imports), so
that shape-dependent mistakes (an upsampler on the wrong patch size, a method on too few
layers) are reported before anything heavy runs."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterable

from .zoo import ROOT

PROJECT_CONFIGS = os.path.join(ROOT, "model_configs")  # the demo model's architecture


def _config_dirs(extra: Iterable[str]) -> list[str]:
    spec = importlib.util.find_spec("open_clip")
    packaged = [os.path.join(p, "model_configs") for p in (spec.submodule_search_locations or [])]
    return [*extra, PROJECT_CONFIGS, *packaged] if spec else [*extra, PROJECT_CONFIGS]


def read_model_config(name: str, extra: Iterable[str] = ()) -> dict | None:
    """The JSON of open_clip model config ``name`` (``--model-config`` files and folders
    first, then the project's, then open_clip's own), or None if there is none."""
    for path in _config_dirs(extra):
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
