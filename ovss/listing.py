"""``eval_customized.py --list KIND``: what exists, printed from the tables the run uses.

methods: the model zoo (``foundation.zoo``), attentions: every ``--model-type``
(``foundation.methods``), datasets: ``foundation.datasets`` with what is present under the
data root (folders only, no image is opened), protocols: ``ovss.protocols``. No heavy
import: the answer comes in well under a second.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from foundation.datasets import DATASET_GROUPS, DATASETS, display_name
from foundation.methods import METHODS
from foundation.zoo import MODEL_ZOO

from .config_files import dataset_keys, literal
from .protocols import PROTOCOLS

KINDS = ("methods", "attentions", "datasets", "protocols")


def table(header: Sequence[str], rows: list[Sequence[str]]) -> str:
    """Left-aligned columns, the last one unpadded."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [f"{str(c):<{w}}" for c, w in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    return "\n".join(lines)


def _dense_path(entry) -> str:
    if entry.dense_path is None:
        return "SegEarth"
    model_type, ignore_residual = entry.dense_path
    return f"{model_type}{'' if ignore_residual else ' + residual'}"


def _file(entry) -> str:
    if entry.tag is not None:
        return f"open_clip tag '{entry.tag}' (or --pretrained FILE / another tag)"
    names = entry.filename if isinstance(entry.filename, tuple) else (entry.filename,)
    return f"{entry.folder or '--checkpoint-dir'}/{' or '.join(names)}"


def _text(entry) -> str:
    words = {True: "QuickGELU", False: "", None: "QuickGELU if --fqg"}[entry.quick_gelu]
    long_clip = {True: "LongCLIP", False: "", None: "LongCLIP if in the file"}[entry.long_clip]
    return ", ".join(w for w in (words, long_clip) if w) or "-"


def list_methods() -> str:
    rows = []
    for method, e in MODEL_ZOO.items():
        sizes = ", ".join(e.vit_types) if e.vit_types else "any OpenCLIP ViT"
        rows.append((method, sizes, e.family, e.domain, _dense_path(e), _text(e), _file(e)))
    published = [f"  {m}: {e.published}" for m, e in MODEL_ZOO.items()]
    header = ("method", "vit types", "family", "domain", "dense path", "text", "file")
    return "\n".join(
        [
            "--method NAME --vit-type SIZE: the model zoo (names in any case). dense path: the "
            "published --model-type, used unless you pass one; file: {vit} is the vit type, "
            "{v} its short form (b16).",
            "",
            table(header, rows),
            "",
            "Where the weights are published:",
            *published,
        ]
    )


def _options(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items())


def list_attentions() -> str:
    rows = []
    for name, info in METHODS.items():
        also = f" (also {', '.join(info.aliases)})" if info.aliases else ""
        notes = [] if info.has_cls else ["no CLS token"]
        notes += [] if info.residual else ["no residual choice"]
        rows.append((name + also, info.kind, "; ".join(notes) or "-", info.summary))
    options = [f"  {n}: {_options(i.options)}" for n, i in METHODS.items() if i.options]
    sources = [f"  {n}: {info.source}" for n, info in METHODS.items()]
    return "\n".join(
        [
            "--model-type NAME: how dense features are computed (any case). attention: the "
            "last block's attention swapped; method: reads more of the tower.",
            "",
            table(("name", "kind", "notes", "what"), rows),
            "",
            "Options and their published defaults (set: --cfg-options "
            "model.method_options.NAME=VALUE):",
            *options,
            "",
            "Sources:",
            *sources,
        ]
    )


def _count(folder: str) -> int:
    with os.scandir(folder) as entries:
        return sum(1 for e in entries if e.is_file())


def presence(config: str, data_root: str) -> str:
    """Whether a dataset's image and label folders are under ``data_root`` (a light check)."""
    keys = dataset_keys(config)
    root = keys.get("data_root") if isinstance(keys.get("data_root"), str) else data_root
    prefix = keys.get("data_prefix") or {}
    folders = [os.path.join(root, prefix.get(k, "")) for k in ("img_path", "seg_map_path")]
    absent = [f for f in folders if not os.path.isdir(f)]
    if absent:
        return f"missing ({os.path.relpath(absent[0], root)})"
    count = _count(folders[0])
    return f"found ({count} image{'' if count == 1 else 's'})"


def list_datasets(configs: dict[str, str], data_root: str) -> str:
    """``configs``: dataset type -> config file (the repository's and any given ones)."""
    rows = []
    order = [t for t in DATASETS if t in configs] + [t for t in configs if t not in DATASETS]
    for dataset_type in order:
        config, info = configs[dataset_type], DATASETS.get(dataset_type)
        images = str(info.images) if info and info.images else "all of the split"
        also = ", ".join(info.aliases) if info and info.aliases else ""
        name = info.name if info else dataset_type
        rows.append(
            (
                name,
                display_name(dataset_type),
                dataset_type,
                images,
                presence(config, data_root),
                also,
            )
        )
    groups = [
        f"  {g}: {', '.join(DATASETS[t].name for t in ts)}" for g, ts in DATASET_GROUPS.items()
    ]
    published = [f"  {info.name}: {info.published}" for info in DATASETS.values()]
    header = ("name", "shown as", "type", "protocol images", f"under {data_root}", "also")
    return "\n".join(
        [
            "--datasets NAME,...: names, types or aliases in any case, and groups (default: "
            "farslip). Prepare data with tools/prepare_dataset.py.",
            "",
            table(header, rows),
            "",
            "Groups:",
            *groups,
            "",
            "Where the data is published:",
            *published,
        ]
    )


def list_protocols(base_config: str) -> str:
    default = literal(base_config, "protocol", "farslip")
    rows = [
        (name + (" (default)" if name == default else ""), p.description)
        for name, p in PROTOCOLS.items()
    ]
    return "\n".join(
        [
            "--protocol NAME: the post-processing the published tables used.",
            "",
            table(("protocol", "what"), rows),
        ]
    )


def render(kind: str, configs: dict[str, str], data_root: str | None, base_config: str) -> str:
    """The ``--list`` answer for one kind."""
    if kind == "methods":
        return list_methods()
    if kind == "attentions":
        return list_attentions()
    if kind == "datasets":
        root = data_root or literal(base_config, "test_data_root", "./data")
        return list_datasets(configs, root)
    return list_protocols(base_config)
