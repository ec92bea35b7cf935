"""Effective settings: what produced a number, read generically from the resolved config.

Every key of ``cfg.model`` is recorded (minus plumbing), so a new segmentor argument with a
default in the config is recorded, printed and compared by ``--resume`` with no edit here.
A few published config names are recorded under the name users read in tables
(``model_name`` is the method, ``pretrained`` the checkpoint, ``fqg`` QuickGELU).
"""

from __future__ import annotations

import os

from foundation.files import file_fingerprint

from .config import ROOT

# cfg.model keys that are plumbing, or determined by others (the zoo row fixes the family;
# the hub tag is folded into "checkpoint"; the class file is recorded per dataset).
NOT_RECORDED = frozenset(
    {"type", "data_preprocessor", "init_cfg", "name_path", "text_cache_dir", "family", "hub_tag"}
)
# Keys recorded only when set (no upsampler, no method options: nothing to say).
UNSET_NOT_RECORDED = ("method_options", "upsampler", "force_upsampler")
RECORDED_AS = {"model_name": "method", "pretrained": "checkpoint", "fqg": "quick_gelu"}
# Knobs that change speed or memory, never a number: recorded, not printed or compared.
SPEED_ONLY = frozenset({"window_batch", "keep_probs"})
# Recorded keys that do not change a number: not compared by --resume.
NOT_COMPARED = frozenset(
    {
        "device",
        "versions",
        "checkpoint",
        "weights",
        "finished",
        "long_clip_loaded",
        "method_facts",
        *SPEED_ONLY,
    }
)
# Keys that belong to one dataset's run: per dataset in the run summary (the first four),
# or only in that dataset's own record.
DATASET_KEYS = ("prob_thd", "bg_idx", "class_file", "data_root")
RECORD_ONLY = ("dataset", "num_images", "class_file_sha", "finished")
# Order of the well-known settings, in the files and the printed line (other keys follow):
# what the number is of (model, weights), how its dense features were computed, the
# protocol and post-processing, then the text-tower settings.
ORDER = (
    "method",
    "vit_type",
    "checkpoint",
    "weights",
    "fingerprint",
    "model_type",
    "method_options",
    "upsampler",
    "force_upsampler",
    "dense_path",
    "cls_term",
    "protocol",
    "precision",
    "device",
    "ignore_residual",
    "logit_scale",
    "resize",
    "slide_crop",
    "slide_stride",
    "cls_token_lambda",
    "quick_gelu",
    "long_clip",
    "long_clip_loaded",
    "templates",
)
NOT_PRINTED = frozenset({"resize", "templates", "versions", "datasets", *DATASET_KEYS, *SPEED_ONLY})


def run_settings(cfg, fingerprint: str, versions: dict[str, str]) -> dict:
    """Everything in one dataset's resolved config that defines its number."""
    m = cfg.model
    found = {RECORDED_AS.get(k, k): v for k, v in m.items() if k not in NOT_RECORDED}
    for key in UNSET_NOT_RECORDED:  # an extension left unset is not part of a run's name
        if not found.get(key):
            found.pop(key, None)
    if m.get("pretrained") is None and m.get("hub_tag"):
        found["checkpoint"] = f"{m.hub_tag} (hub tag)"
    found["long_clip"] = found.get("long_clip") or "auto"
    found.update(
        fingerprint=fingerprint,
        protocol=protocol_label(cfg),
        resize=resize_scale(cfg),
        templates="openai_imagenet_80",
    )
    if cfg.get("dense_path"):  # general-domain methods: published path or an extension
        found["dense_path"] = cfg.dense_path
    if m.get("upsampler"):  # SegEarth-OV's SimFeatUp, named by its contents
        found["upsampler"] = f"simfeatup {file_fingerprint(m.upsampler)}"
    if cfg.get("cls_term"):  # a protocol's CLS term the method cannot apply
        found["cls_term"] = cfg.cls_term
    if cfg.get("weights"):  # the zoo's published weights, or the user's own (--pretrained)
        found["weights"] = cfg.weights
    model_keys = [k for k in found if k not in DATASET_KEYS]
    ordered = [k for k in ORDER if k in found] + [k for k in model_keys if k not in ORDER]
    settings = {k: found[k] for k in ordered}
    settings["versions"] = dict(versions)
    settings.update({k: found[k] for k in ("prob_thd", "bg_idx") if k in found})
    return _plain(settings)


def dataset_settings(cfg, num_images: int) -> dict:
    """The per-dataset part: which data, which class file."""
    return {
        "dataset": cfg.test_dataloader.dataset.type,
        "num_images": num_images,
        "class_file": shown_path(cfg.model.name_path),
        "class_file_sha": file_fingerprint(cfg.model.name_path),
        "data_root": cfg.test_dataloader.dataset.get("data_root"),
    }


def record_settings(cfg, fingerprint: str, versions: dict[str, str], num_images: int) -> dict:
    """One dataset's full settings, as saved in its record and compared by --resume."""
    settings = run_settings(cfg, fingerprint, versions)
    post = {k: settings.pop(k) for k in ("prob_thd", "bg_idx")}
    data = dataset_settings(cfg, num_images)
    return {
        **settings,
        "dataset": data.pop("dataset"),
        "num_images": data.pop("num_images"),
        **post,
        **data,
    }


def shown_path(path: str) -> str:
    """A file inside the repository relative to it (``configs/cls_vdd.txt``), any other file
    as its absolute path (never ``../../``)."""
    path = os.path.abspath(path)
    inside = os.path.commonpath([path, ROOT]) == ROOT
    return os.path.relpath(path, ROOT) if inside else path


def protocol_label(cfg) -> str:
    """The protocol's name, marked when the user overrode part of it."""
    kept = cfg.get("protocol_overrides") or []
    label = cfg.protocol + (f" (modified: {', '.join(kept)})" if kept else "")
    return label + (f" [{cfg.protocol_note}]" if cfg.get("protocol_note") else "")


def resize_scale(cfg) -> list | None:
    """The test pipeline's Resize scale, as configured (the protocol: 448 x 448, keep ratio)."""
    resize = [t for t in cfg.test_dataloader.dataset.pipeline if t["type"] == "Resize"]
    return list(resize[0]["scale"]) if resize else None


def comparable(settings: dict) -> dict:
    """The settings --resume compares: all but those that cannot change a number."""
    return {k: v for k, v in settings.items() if k not in NOT_COMPARED}


def summary_settings(records: list[dict]) -> dict:
    """Run-level settings (equal for every dataset) + each dataset's own, for settings.json."""
    if not records:
        return {}
    all_settings = [r["settings"] for r in records]
    skip = set(DATASET_KEYS) | set(RECORD_ONLY)
    common = {
        k: v
        for k, v in all_settings[-1].items()
        if k not in skip and all(s.get(k) == v for s in all_settings)
    }
    per_dataset = {
        r["dataset"]: {
            k: v
            for k, v in r["settings"].items()
            if k in DATASET_KEYS or (k not in common and k not in RECORD_ONLY)
        }
        for r in records
    }
    return {**common, "datasets": per_dataset}


def settings_line(settings: dict) -> str:
    """One line that says what produced a number (printed next to every result)."""
    keys = [k for k in ORDER if k in settings and k not in NOT_PRINTED] + [
        k for k in settings if k not in ORDER and k not in NOT_PRINTED
    ]
    parts = []
    for key in keys:
        value = settings[key]
        if key == "fingerprint":
            value = str(value)[:19]  # sha256: + 12 hex
        parts.append(f"{key}={value}")
    if "versions" in settings:
        parts.append("versions=" + " ".join(f"{k} {v}" for k, v in settings["versions"].items()))
    return "settings: " + ", ".join(parts)


def _plain(value):
    """ConfigDicts/tuples -> dicts/lists, so settings compare equal after a JSON round trip."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
