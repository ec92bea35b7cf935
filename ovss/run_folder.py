"""Where a run's results go: one folder per distinct run, so that no run replaces another.

    <work-dir>/<vit-type>/<method>/<run-name>/      e.g. work_dir/ViT-B-16/FarSLIP1/NACLIP-1c9e02ab

``<run-name>`` is a short readable name of what differs from the method's defaults (the
configured defaults for that method, vit type and device: ``default``, ``NACLIP``,
``segearth``, ``slide_stride-56``, the stem of a ``--pretrained`` file, ...) plus 8 hex digits
of a sha256 over every run-level setting that can change a number (``ovss.settings.comparable``
without the per-dataset keys), the data root and the class files given instead of the
datasets' own. Same settings, same folder (whatever datasets an invocation runs, so separate
invocations fill one run); any difference, another folder. The name is only for reading: the
hash decides (an existing folder ending in the same hash is reused whatever its name).

Before this layout the files sat in ``<work-dir>/<vit-type>/<method>/`` itself
(``old_layout_folder``); ``--resume`` still takes finished datasets from there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from mmengine.config import Config

from foundation.errors import UserError
from foundation.files import file_fingerprint

from .config import ROOT, load_config
from .runtime import resolve_device
from .settings import DATASET_KEYS, ORDER, comparable, run_settings

RUN_LINE = "run folder: "  # printed before the path at the start and end of a run
HASH_LENGTH = 8
MAX_NAME = 48  # characters of the readable part
DEFAULT_NAME = "default"
# Post-processing set per dataset by the protocol (its name is a run-level setting); only a
# value the user set for every dataset (recorded in cfg.protocol_overrides) is the run's.
PROTOCOL_SET = ("prob_thd", "bg_idx", "cls_token_lambda")
# Follow from other settings (method, model_type, ignore_residual, protocol, cls_token_lambda).
DERIVED = frozenset({"dense_path", "cls_term"})
# Which model a run is: already in the folder path (method, vit type) or named by the
# checkpoint's file name (fingerprint); hashed, not repeated in the name.
NOT_NAMED = frozenset({"method", "vit_type", "fingerprint"})


def old_layout_folder(work_dir: str, cfg) -> str:
    """Where results of every run of this method and vit type went before run folders."""
    return os.path.join(work_dir, cfg.model.vit_type, cfg.model.model_name)


def run_level(cfg, fingerprint: str, versions: dict[str, str]) -> dict:
    """The settings of one dataset's resolved config that belong to the whole run and can
    change a number (equal for every dataset of the run)."""
    kept = set(cfg.get("protocol_overrides") or ())
    settings = comparable(run_settings(cfg, fingerprint, versions))

    def is_run_level(key: str) -> bool:
        if key in PROTOCOL_SET:
            return key in kept
        return key not in DATASET_KEYS and key not in DERIVED

    return {k: v for k, v in settings.items() if is_run_level(k)}


def identity(cfgs: dict, fingerprint: str, versions: dict[str, str]) -> dict:
    """What the run folder's hash is over: the run-level settings, the data root(s) and the
    class files given in place of the datasets' own (their sha256)."""
    first = next(iter(cfgs.values()))
    roots = {data_root(c) for c in cfgs.values()}
    classes = {file_fingerprint(c.model.name_path) for c in cfgs.values() if class_override(c)}
    return {
        **run_level(first, fingerprint, versions),
        "data_root": sorted(roots),
        "class_files": sorted(classes),
    }


def data_root(cfg) -> str:
    return os.path.abspath(cfg.test_dataloader.dataset.get("data_root") or ".")


def run_hash(ident: dict) -> str:
    text = json.dumps(ident, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def run_folder(work_dir: str, cfgs: dict, fingerprint: str, versions: dict[str, str]) -> str:
    """The run's folder (``<work-dir>/<vit-type>/<method>/<name>-<hash>``). A folder with
    the same hash is this run's whatever its name (the hash decides; a name can change, e.g.
    with the configured defaults, or be renamed by hand)."""
    parent = old_layout_folder(work_dir, next(iter(cfgs.values())))
    digest = run_hash(identity(cfgs, fingerprint, versions))
    names = sorted(os.listdir(parent)) if os.path.isdir(parent) else []
    same = [n for n in names if n.endswith(f"-{digest}") and os.path.isdir(os.path.join(parent, n))]
    name = same[0] if same else f"{run_name(cfgs, fingerprint, versions)}-{digest}"
    return os.path.join(parent, name)


def class_override(cfg) -> str | None:
    """The class file when it is not the one the dataset config names (``--classes``,
    ``--cfg-options model.name_path=...``), else None."""
    own = own_class_file(cfg)
    path = os.path.normpath(cfg.model.name_path)
    return None if own is None or own == path else path


def own_class_file(cfg) -> str | None:
    """The class file the dataset's config file names (None: no config file to ask)."""
    path = getattr(cfg, "filename", None)
    if not path or not os.path.isfile(path):
        return None
    own = Config.fromfile(path, import_custom_modules=False).model.get("name_path")
    return os.path.normpath(os.path.join(ROOT, own)) if own else None


# ------------------------------------------------------------------ the readable name
def run_name(cfgs: dict, fingerprint: str, versions: dict[str, str]) -> str:
    """What differs from the method's defaults, short and file-system safe."""
    first = next(iter(cfgs.values()))
    parts = []
    if first.get("weights") == "own":  # the user's checkpoint: its file name says which
        source = first.model.get("pretrained") or first.model.get("hub_tag") or "own"
        parts.append(os.path.splitext(os.path.basename(str(source)))[0])
    overrides = {class_override(c) for c in cfgs.values()} - {None}
    if overrides:
        only = next(iter(overrides))
        parts.append("classes-" + os.path.splitext(os.path.basename(only))[0])
    ours = run_level(first, fingerprint, versions)
    try:
        defaults = run_level(default_config(first), fingerprint, versions)
    except UserError:  # defaults that cannot be resolved here: the hash still tells runs apart
        defaults = {}
    keys = [k for k in ORDER if k in ours] + [k for k in ours if k not in ORDER]
    for key in keys:
        if key in NOT_NAMED or isinstance(ours[key], dict):  # a dict (a dense method's
            continue  # options, which follow its model_type by default): in the hash only
        if name_part(key, ours[key]) != name_part(key, defaults.get(key)):
            parts.append(name_part(key, ours[key]))
    name = "_".join(safe(p) for p in parts if p) or DEFAULT_NAME
    return name[:MAX_NAME].rstrip("_.-") or DEFAULT_NAME


def default_config(cfg):
    """The same dataset config with only what says which model and where: the settings a
    plain ``--method M --vit-type V`` run would use on this device."""
    m = cfg.model
    overrides = {
        "model.model_name": m.model_name,
        "model.vit_type": m.vit_type,
        "model.device": m.device,
        "checkpoint_dir": cfg.get("checkpoint_dir", "checkpoints"),
        "model_configs": list(cfg.get("model_configs") or []),
        "test_dataloader.dataset.data_root": cfg.test_dataloader.dataset.get("data_root"),
    }
    if cfg.get("weights") == "own" and m.get("pretrained"):
        overrides["model.pretrained"] = m.pretrained
    default = load_config(cfg.filename, overrides)
    resolve_device(default)
    return default


def name_part(key: str, value) -> str:
    """One difference in words: the attention, protocol and precision by their value, a
    switch by its key, anything else as ``key-value``."""
    if key in ("model_type", "precision"):
        return str(value)
    if key == "upsampler" and value:  # "simfeatup sha256:...": which weights, in short
        kind, _, digest = str(value).partition(" ")
        return f"{kind}-{digest.removeprefix('sha256:')[:8]}"
    if key == "protocol":
        # "segearth (modified: ...)" / "segearth [note]": the keys say what
        return str(value).split(" (")[0].split(" [")[0]
    if isinstance(value, bool):
        return key if value else f"no-{key}"
    if isinstance(value, list | tuple):
        value = "x".join(str(v) for v in value)
    return f"{key}-{value}"


def safe(text: str) -> str:
    """Letters, digits and ``._+-`` only (a folder name on any file system, in any shell)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_")
