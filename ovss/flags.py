"""Command-line flags shared by the CLI and the tools: each is a shorthand for a config key.

Flags default to None, so ``configs/base_config.py`` stays the one source of defaults; a flag
given overrides its key, and ``--cfg-options key=value ...`` (mmengine's DictAction, as in
mmseg's ``tools/test.py``) edits any other key.
"""

from __future__ import annotations

import argparse
import os

from mmengine.config import DictAction

from foundation.datasets import display_name, lookup, suggestion
from foundation.errors import ClassFileError
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
    "proxy": "model.method_options.proxy",
    "proxy_pretrained": "model.method_options.proxy_pretrained",
    "upsampler": "model.upsampler",
    "force_upsampler": "model.force_upsampler",
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
    g.add_argument(
        "--method",
        help="model zoo entry, e.g. FarSLIP1, CLIP; any case (--list methods; default FarSLIP1)",
    )
    g.add_argument(
        "--vit-type",
        help="the model's size: an OpenCLIP model config name, e.g. ViT-B-16 (default), "
        "ViT-B-32, ViT-L-14 (--list methods shows each method's)",
    )
    g.add_argument(
        "--pretrained",
        metavar="PATH",
        help="your checkpoint file instead of the zoo's; with --method CLIP / MetaCLIP also an "
        "open_clip pretrained tag, e.g. laion2b_s34b_b88k",
    )
    g.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        help="where the zoo's checkpoint files live (default: checkpoints/)",
    )
    g.add_argument("--fqg", action="store_true", default=None, help="force QuickGELU (any method)")
    g.add_argument(
        "--long-clip",
        choices=tuple(key for key in LONG_CLIP_FLAG if key),
        help="LongCLIP text tower (default: detect from the weights)",
    )
    g.add_argument(
        "--model-type",
        help="how dense features are computed: one of the nine last-layer attentions or "
        "SC-CLIP, ProxyCLIP, ResCLIP (--list attentions; default: the method's published "
        "dense path)",
    )
    g.add_argument(
        "--proxy",
        help="ProxyCLIP's proxy backbone: dino-b8 (default) or dinov2-b14-reg",
    )
    g.add_argument(
        "--proxy-pretrained",
        metavar="FILE",
        help="the proxy's weights (default: its published file in --checkpoint-dir)",
    )
    g.add_argument(
        "--upsampler",
        metavar="FILE",
        help="SegEarth-OV's SimFeatUp weights (xclip_jbu_one_million_aid.ckpt): its full "
        "pipeline, features upsampled x16 before matching (use with --protocol segearth)",
    )
    g.add_argument(
        "--force-upsampler",
        action="store_true",
        default=None,
        help="use the upsampler on a model it was not trained for (not patch 16 / 512-d; "
        "recorded as an extension)",
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
    """Dotted config keys set by the flags given (None means "not given"). A list of
    ``--classes`` values is per dataset: ``class_overrides``."""
    given = {k: v for k, v in vars(args).items() if not (k == "classes" and isinstance(v, list))}
    overrides = {key: given[dest] for dest, key in FLAG_KEYS.items() if given.get(dest) is not None}
    if "model.name_path" in overrides:  # a class file given on the command line: from here
        overrides["model.name_path"] = _from_here(overrides["model.name_path"])
    if given.get("model_config"):
        overrides["model_configs"] = list(given["model_config"])
    return overrides


def add_classes_flag(parser: argparse.ArgumentParser) -> None:
    """--classes FILE or DATASET=FILE (repeatable): class files instead of the configs'."""
    parser.add_argument(
        "--classes",
        action="append",
        metavar="[DATASET=]FILE",
        help="class file (one class per line, synonyms by comma) for every dataset, or with "
        "DATASET= for one of them, e.g. --classes udd5=my_udd5.txt (repeatable)",
    )


def class_overrides(values: list[str] | None, names: list[str]) -> dict[str, dict]:
    """Dataset type -> its ``model.name_path`` override from ``--classes`` values (a plain
    FILE for every dataset, DATASET=FILE for one, which wins). One error line for a missing
    file or a dataset that is not evaluated."""
    every, own = None, {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or os.path.isfile(value):
            every, path = value, value
        else:
            found = lookup(name, dict.fromkeys(names))
            if found not in names:
                listed = ", ".join(display_name(n) for n in names)
                raise ClassFileError(
                    f"--classes {value}: '{name}'{suggestion(name, dict.fromkeys(names))} is not "
                    f"a dataset of this run ({listed}); use DATASET=FILE with one of them"
                )
            own[found] = path
        if not os.path.isfile(path):
            raise ClassFileError(
                f"--classes {value}: no such file {path} (one class per line, synonyms by comma)"
            )
    chosen = {n: own.get(n, every) for n in names}
    return {n: {"model.name_path": _from_here(p)} for n, p in chosen.items() if p is not None}


def _from_here(path: str) -> str:
    """A path typed on the command line, made absolute from the working folder when it
    exists there (config files' relative paths are the repository's)."""
    return os.path.abspath(path) if os.path.exists(path) else path
