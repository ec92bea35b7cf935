"""The part of resolving that needs torch: device and precision defaults, and registration.

Kept apart from ``ovss.config`` so that flag, path and zoo errors come before torch is
imported. Called once per run, before any Runner or segmentor is built.
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

import os

import mmcv
import mmengine
import mmseg
import open_clip
import torch
from mmengine.utils import import_modules_from_strings

from .config import ROOT
from .errors import ConfigError
from .zoo import MODEL_ZOO

# OpenCLIP model configs shipped with the project (e.g. the demo model's architecture).
MODEL_CONFIG_DIR = os.path.join(ROOT, "model_configs")


def resolve_device(cfg) -> None:
    """Fill ``model.device`` (cuda if available) and ``model.precision`` (the method's
    published precision on CUDA, fp32 on CPU), and check they can be used here."""
    m = cfg.model
    device = m.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: CUDA is not available here; use --device cpu")
    elif device != "cpu":
        raise ConfigError(f"--device {device}: use cpu, cuda or cuda:N")
    entry = MODEL_ZOO[m.model_name]
    precision = m.get("precision") or (entry.cuda_precision if device != "cpu" else "fp32")
    if precision == "fp16" and device == "cpu":
        raise ConfigError("--precision fp16 needs CUDA; on CPU use fp32 (default) or bf16")
    m.device, m.precision = device, precision


def use_device(device: str) -> None:
    """Make mmengine's Runner (which moves the model to the current CUDA device) use ours."""
    if device.startswith("cuda:"):
        torch.cuda.set_device(torch.device(device))


def register_modules(cfg) -> None:
    """Import the config's ``custom_imports`` (our datasets, segmentor, metric, hook) and
    register the OpenCLIP model configs (the project's and ``model_configs`` of the config)."""
    if cfg.get("custom_imports"):
        import_modules_from_strings(**cfg.custom_imports)
    for path in (MODEL_CONFIG_DIR, *cfg.get("model_configs", [])):
        if os.path.exists(path):
            open_clip.add_model_config(path)


def versions() -> dict[str, str]:
    """The stack that produced a number (recorded with the settings)."""
    return {
        "torch": torch.__version__,
        "mmcv": mmcv.__version__,
        "mmengine": mmengine.__version__,
        "mmseg": mmseg.__version__,
        "open_clip": open_clip.__version__,
    }
