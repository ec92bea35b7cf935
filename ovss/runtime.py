"""The part of resolving that needs torch: device and precision defaults, and registration.

Kept apart from ``ovss.config`` so that flag, path and zoo errors come before torch is
imported. Called once per run, before any Runner or segmentor is built.
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

import os
import sys

import mmcv
import mmengine
import mmseg
import open_clip
import torch
from mmengine.dist import is_distributed, is_main_process
from mmengine.registry import MODEL_WRAPPERS
from mmengine.utils import import_modules_from_strings
from torch import nn

from foundation.errors import ConfigError
from foundation.zoo import MODEL_ZOO

from .config import ROOT

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
    loader = cfg.test_dataloader
    if loader.get("batch_size") is None:
        loader.batch_size = 16 if device.startswith("cuda") else 2
    if loader.get("num_workers") is None:
        loader.num_workers = default_workers(device)
    if loader.num_workers == 0:
        loader.persistent_workers = False
    loader.pin_memory = device.startswith("cuda")  # with non-blocking copies to the device


def warn_slow_precision(cfg) -> None:
    """bf16 on a CPU without native bf16 runs, correctly, at a fraction of fp32's speed."""
    m = cfg.model
    if m.precision == "bf16" and m.device == "cpu" and not cpu_has_native_bf16():
        if is_main_process():
            print(
                "warning: this CPU has no native bf16 (avx512_bf16 / amx_bf16): bf16 matrix "
                "products are emulated and slower than fp32 here (README, Performance)",
                file=sys.stderr,
            )


def cpu_has_native_bf16() -> bool:
    """Whether the CPU multiplies bf16 natively (Linux: the kernel's CPU flags)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = f.read()
    except OSError:
        return True  # unknown: do not warn
    return "avx512_bf16" in flags or "amx_bf16" in flags


def default_workers(device: str) -> int:
    """Loader processes sized from the machine: on a GPU, decoding is the bottleneck (one
    core decodes ~60 896x896 PNGs/s); on a CPU run, the model needs the cores (measured:
    README, Performance)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if device.startswith("cuda"):
        processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        return max(min(16, (cores or 1) // processes - 1), 1)
    return 1 if (cores or 1) > 1 else 0


def init_distributed(cfg) -> None:
    """``launcher`` 'pytorch' (torchrun), after ``resolve_device``: one process per device.
    The process group is created here (gloo on CPU, nccl on CUDA) because mmengine's own init
    always selects a CUDA device; the Runner then shards each dataset with its
    DistributedSampler and the metric gathers the per-image histograms."""
    if cfg.get("launcher", "none") == "none" or is_distributed():
        return
    if cfg.launcher != "pytorch":
        raise ConfigError(f"--launcher {cfg.launcher}: only 'pytorch' (torchrun) is supported")
    if "RANK" not in os.environ:
        raise ConfigError("--launcher pytorch: start with torchrun --nproc_per_node N ...")
    cuda = cfg.model.device.startswith("cuda")  # resolved by resolve_device
    if cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    torch.distributed.init_process_group(backend="nccl" if cuda else "gloo")


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


@MODEL_WRAPPERS.register_module()
class OVSSInferenceWrapper(nn.Module):
    """The model wrapper of distributed runs: inference needs no gradient synchronisation,
    so instead of DistributedDataParallel (which also rejects CPU modules with device ids)
    each process just runs its own copy."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def test_step(self, data):
        return self.module.test_step(data)

    def val_step(self, data):
        return self.module.val_step(data)
