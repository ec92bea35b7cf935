"""Command-line flags shared by the CLI and the tools: each is a shorthand for a config key.

Flags default to None, so ``configs/base_config.py`` stays the one source of defaults; a flag
given overrides its key, and ``--cfg-options key=value ...`` (mmengine's DictAction, as in
mmseg's ``tools/test.py``) edits any other key.
"""

from __future__ import annotations

import argparse

from mmengine.config import DictAction

from foundation.zoo import LONG_CLIP_FLAG

from .protocols import PROTOCOLS

# flag dest -> dotted config key it sets
FLAG_KEYS: dict[str, str] = {
    "method": "model.model_name",
    "vit_type": "model.vit_type",
    "pretrained": "model.pretrained",
    "checkpoint_dir": "checkpoint_dir",
    "fqg": "model.fqg",
    "long_clip": "model.long_clip",
    "model_type": "model.model_type",
    "device": "model.device",
    "precision": "model.precision",
    "protocol": "protocol",
    "data_root": "test_dataloader.dataset.data_root",
    "num_workers": "test_dataloader.num_workers",
    "text_cache_dir": "model.text_cache_dir",
    "classes": "model.name_path",
    "launcher": "launcher",
}


def add_model_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The model, attention, device and precision flags (plus --cfg-options)."""
    g = parser.add_argument_group("model (defaults: configs/base_config.py)")
    g.add_argument("--method", help="model zoo entry, e.g. FarSLIP1, CLIP (config: model_name)")
    g.add_argument("--vit-type", help="model config name, e.g. ViT-B-16")
    g.add_argument("--pretrained", metavar="PATH", help="checkpoint file instead of the zoo's")
    g.add_argument("--checkpoint-dir", metavar="DIR", help="where zoo checkpoints live")
    g.add_argument("--fqg", action="store_true", default=None, help="force QuickGELU (any method)")
    g.add_argument(
        "--long-clip",
        choices=tuple(key for key in LONG_CLIP_FLAG if key),
        help="LongCLIP text tower (default: detect from the weights)",
    )
    g.add_argument(
        "--model-type",
        help="last-layer attention (default: the method's published dense path)",
    )
    g.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda if available)")
    g.add_argument(
        "--precision",
        choices=("fp32", "fp16", "bf16"),
        help="default: fp16 on cuda for OpenCLIP models (as published), else fp32",
    )
    g.add_argument(
        "--model-config",
        action="append",
        default=[],
        metavar="PATH",
        help="extra OpenCLIP model-config JSON file or folder (repeatable)",
    )
    g.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        default={},
        metavar="KEY=VALUE",
        help="override any config key, e.g. model.slide_stride=56 protocol=segearth",
    )
    return parser


def add_protocol_flag(parser: argparse.ArgumentParser) -> None:
    """--protocol, one of ``ovss.protocols.PROTOCOLS``."""
    parser.add_argument(
        "--protocol",
        choices=tuple(PROTOCOLS),
        help="farslip (default: prob_thd 0, no CLS bias) or segearth (per-dataset thresholds)",
    )


def config_overrides(args: argparse.Namespace) -> dict:
    """Dotted config keys set by the flags given (None means "not given")."""
    given = vars(args)
    overrides = {key: given[dest] for dest, key in FLAG_KEYS.items() if given.get(dest) is not None}
    if given.get("model_config"):
        overrides["model_configs"] = list(given["model_config"])
    return overrides
