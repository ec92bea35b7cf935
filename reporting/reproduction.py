"""Which run may be put against a published number, and the tables that show it.

A run gets a difference (ours - published) only when all hold:

- its weights are the row's: the zoo's default file or hub tag of that method (the recorded
  ``weights`` setting is "published"; a ``--pretrained`` file is the user's model);
- the row's vit type;
- the protocol and settings the number was produced with (``PublishedProtocol``);
- the full data: each dataset's image count is the protocol's (where the protocol fixes one;
  where it does not, the count cannot be checked and the table says so).

Otherwise the nearest published row of its model is shown beside it, not subtracted, with
the reasons in words.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mmengine.config import Config

from foundation.datasets import DATASETS, display_name, protocol_images
from foundation.files import file_fingerprint
from foundation.zoo import MODEL_ZOO, ROOT, checkpoint_names
from ovss.config import CONFIG_DIR

from .published import PUBLISHED, PublishedProtocol, PublishedRow, protocols, rows_of
from .runs import Run, dataset_order, domain_of
from .tables import (
    MEAN,
    Group,
    Row,
    Table,
    mark_best,
    mean_of,
    partial_marks,
    partial_note,
    row_order,
    short_sha,
    text,
)


@functools.cache
def config_values(dataset: str, postprocess_key: str | None) -> dict[str, object]:
    """What the dataset's config fixes for a published protocol: the class file's sha256
    and, for per-dataset post-processing, that config dict's values ({} for an unknown
    dataset; the key ``missing`` names a post-processing dict the config lacks)."""
    info = DATASETS.get(dataset)
    path = os.path.join(CONFIG_DIR, f"{info.config}.py") if info else ""
    if not os.path.isfile(path):
        return {}
    cfg = Config.fromfile(path, import_custom_modules=False)
    found: dict[str, object] = {
        "class_file_sha": file_fingerprint(os.path.join(ROOT, cfg.model.name_path))
    }
    if postprocess_key is not None:
        post = cfg.get(postprocess_key)
        found.update(dict(post) if post else {"missing": f"configs/{info.config}.py"})
    return found


def weights_reason(settings: dict) -> str | None:
    """Why a run's weights are not the zoo's published ones (None when they are).

    Records without the ``weights`` setting: the zoo's weights when the checkpoint is the
    zoo row's hub tag or one of its file names."""
    recorded = settings.get("weights")
    if recorded == "published":
        return None
    if recorded == "own":
        return "your weights (--pretrained)"
    if recorded is not None:
        return f"weights={recorded} (published: the zoo's)"
    method, vit_type = str(settings.get("method")), str(settings.get("vit_type"))
    entry = MODEL_ZOO.get(method)
    checkpoint = str(settings.get("checkpoint"))
    if entry is None:
        return f"--method {method} is not in the zoo"
    names = checkpoint_names(entry, vit_type)
    if entry.tag and checkpoint == f"{entry.tag} (hub tag)":
        return None
    if os.path.basename(checkpoint) in names:
        return None
    zoo = " or ".join([*names, *([f"hub tag {entry.tag}"] if entry.tag else [])])
    return f"your weights ({os.path.basename(checkpoint)}; the zoo's: {zoo or 'none'})"


def protocol_mismatches(
    protocol: PublishedProtocol, settings: dict, per_dataset: dict[str, dict]
) -> list[str]:
    """Why a run's settings are not those the published numbers used ([] when they are)."""
    found = [
        f"{key}={text(settings.get(key))} (published: {text(want)})"
        for key, want in protocol.settings.items()
        if settings.get(key) != want
    ]
    upsampler = settings.get("upsampler")
    if protocol.upsampler is None and upsampler:
        brief = re.sub(r"(sha256:[0-9a-f]{12})[0-9a-f]+", r"\1", str(upsampler))
        found.append(f"upsampler={brief} (published: none)")
    elif protocol.upsampler and not str(upsampler or "").startswith(protocol.upsampler):
        found.append(f"upsampler={text(upsampler)} (published: {protocol.upsampler})")
    for dataset in sorted(per_dataset, key=dataset_order):
        values, name = per_dataset[dataset], display_name(dataset)
        want = {**protocol.per_dataset, **config_values(dataset, protocol.postprocess_key)}
        for key, value in want.items():
            got = values.get(key, settings.get(key))
            if key == "missing":
                found.append(f"{name}: {value} has no {protocol.postprocess_key}")
            elif key == "class_file_sha" and got != value:
                found.append(f"{name} class file differs from configs/")
            elif key != "class_file_sha" and got != value:
                found.append(f"{name} {key}={text(got)} (published: {text(value)})")
    return found


@dataclass
class Verdict:
    """One run against one published row: subtract only when ``reasons`` is empty."""

    run: Run
    row: PublishedRow
    reasons: list[str]
    unchecked: list[str]  # dataset types whose image count the protocol does not fix
    misses: int  # how many facts differ (picks the nearest row)


def judge(run: Run, row: PublishedRow) -> Verdict:
    reasons = []
    weights = weights_reason(run.settings)
    if weights:
        reasons.append(weights)
    if run.vit_type != row.vit_type:
        reasons.append(f"vit-type {run.vit_type} (published: {row.vit_type})")
    shared = [d for d in row.datasets if d in run.miou]
    per_dataset = {d: run.per_dataset.get(d, {}) for d in shared}
    other = protocol_mismatches(row.protocol, run.settings, per_dataset)
    if other:
        reasons.append("other protocol: " + "; ".join(other))
    counts, unchecked = [], []
    for d in shared:
        got, want = run.images(d), protocol_images(d)
        if want is None:
            unchecked.append(d)
        elif got is None:
            counts.append(f"{display_name(d)}: image count not recorded")
        elif got != want:
            counts.append(f"{got} of {want} {display_name(d)} images")
    if counts:
        reasons.append(", ".join(counts))
    misses = bool(weights) + (run.vit_type != row.vit_type) + len(other) + len(counts)
    return Verdict(run, row, reasons, unchecked, misses)


def verdict_of(run: Run) -> Verdict | None:
    """The published row a run is put against (a match), else the nearest one: of the
    protocol the run names, then with the fewest differing facts, then in the published
    order; None when no row is of its model and data."""
    verdicts = [
        judge(run, row) for row in rows_of(run.method) if any(d in run.miou for d in row.datasets)
    ]
    protocol = str(run.settings.get("protocol") or "").split(" ")[0]  # "x (modified: ...)"
    return min(
        verdicts,
        key=lambda v: (v.row.protocol.settings.get("protocol") != protocol, v.misses),
        default=None,
    )


def published_tables() -> list[Table]:
    """One reference table per published table (protocol), as published."""
    tables = []
    for protocol in protocols():
        rows = []
        published = [r for r in PUBLISHED if r.protocol is protocol]
        columns = sorted({d for r in published for d in r.datasets}, key=dataset_order)
        for p in published:
            domain = domain_of(p.method)
            values: dict[str, float | None] = {d: p.miou.get(d) for d in columns}
            values[MEAN] = p.mean
            fields = {"domain": domain, "backbone": p.vit_type, "model": p.label}
            order = row_order(domain, p.vit_type, p.method)
            rows.append((order, Row(fields, values, (domain, p.vit_type))))
        rows_only = [r for _, r in sorted(rows, key=lambda pair: pair[0])]
        mark_best(rows_only, [*columns, MEAN], protocol.decimals)
        tables.append(
            Table(
                kind="published",
                title=f"Published: {protocol.title} (reference)",
                notes=[f"{protocol.text}; mean as published", f"source: {protocol.source}"],
                label_keys=["domain", "backbone", "model"],
                columns=[*columns, MEAN],
                rows=rows_only,
                settings=protocol.text,
                decimals=protocol.decimals,
            )
        )
    return tables


def _identity(number: int, run: Run) -> dict[str, str]:
    return {
        "table": str(number),
        "backbone": run.vit_type,
        "model": run.method,
        "precision": text(run.settings.get("precision")),
        "weights": short_sha(run.settings.get("fingerprint")),
        "fingerprint": str(run.settings.get("fingerprint")),
        "checkpoint": str(run.settings.get("checkpoint")),
        "folder": run.folder,
    }


def _columns(verdicts: Sequence[Verdict]) -> list[str]:
    return [*sorted({d for v in verdicts for d in v.row.datasets}, key=dataset_order), MEAN]


def difference_table(matched: Sequence[tuple[int, Verdict]]) -> Table:
    """Ours - published for every run that is the published model, protocol and data."""
    rows, unchecked = [], set()
    for number, v in matched:
        ours: dict[str, float | None] = {d: v.run.miou.get(d) for d in v.row.datasets}
        values: dict[str, float | None] = {
            d: None if ours[d] is None else ours[d] - want for d, want in v.row.miou.items()
        }
        mean = mean_of(ours, v.row.datasets)
        values[MEAN] = None if mean is None else mean - v.row.mean
        fields = {**_identity(number, v.run), "published": v.row.protocol.title}
        rows.append(Row(fields, values, (v.run.domain, v.run.vit_type)))
        unchecked |= set(v.unchecked)
    precisions = sorted({v.row.protocol.precision for _, v in matched})
    notes = [
        "ours - published, mIoU points, against the published row named in 'published' (its "
        f"settings: the published table's notes); published precision: {', '.join(precisions)}",
        "mean: only for runs with all of the row's datasets (ours over them - published mean)",
    ]
    if unchecked:
        names = ", ".join(display_name(d) for d in sorted(unchecked, key=dataset_order))
        notes.append(f"image count not fixed by the protocol (not checked): {names}")
    return Table(
        kind="difference",
        title="Reproduction check: ours - published",
        notes=notes,
        label_keys=["table", "backbone", "model", "precision", "weights", "published"],
        columns=_columns([v for _, v in matched]),
        rows=rows,
        settings=notes[0],
        signed=True,
    )


def beside_table(others: Sequence[tuple[int, Verdict]]) -> Table:
    """Each run that is not the published model, protocol or data, with the nearest
    published row of its model below it, not subtracted, and the reasons."""
    columns = _columns([v for _, v in others])
    datasets = columns[:-1]
    rows, partial = [], []
    for i, (number, v) in enumerate(others):
        run, row = v.run, v.row
        values: dict[str, float | None] = {d: run.miou.get(d) for d in datasets}
        values[MEAN] = mean_of(values, row.datasets)
        fields = {**_identity(number, run), "row": "ours", "reason": "; ".join(v.reasons)}
        marks = partial_marks(run, datasets, values[MEAN] is not None)
        rows.append(Row(fields, values, (str(i), run.vit_type), partial=marks))
        published: dict[str, float | None] = {d: row.miou.get(d) for d in datasets}
        published[MEAN] = row.mean
        fields = {
            "table": "",
            "backbone": row.vit_type,
            "model": row.label,
            "weights": "",
            "row": f"published: {row.protocol.title}",
            "reason": "",
        }
        rows.append(Row(fields, published, (str(i), row.vit_type), decimals=row.protocol.decimals))
        note = partial_note(f"{run.method} {run.vit_type} ({run.folder})", run, datasets)
        partial += [note] if note else []
    notes = [
        "not subtracted: each run below is not the published model (the zoo's weights), "
        "backbone, protocol or full data of the published row shown under it; 'reason' says "
        "which",
        *partial,
    ]
    return Table(
        kind="beside",
        title="Published rows beside runs (not subtracted)",
        notes=notes,
        label_keys=["table", "backbone", "model", "weights", "row", "reason"],
        columns=columns,
        rows=rows,
        settings=notes[0],
    )


def reproduction_tables(groups: Sequence[Group]) -> list[Table]:
    """The published tables, then the differences of the runs that reproduce a published
    row, then the runs put beside one (table n holds ``groups[n - 1]``)."""
    tables = published_tables()
    matched, others = [], []
    for number, group in enumerate(groups, 1):
        for run in group.runs:
            v = verdict_of(run)
            if v is not None:
                (others if v.reasons else matched).append((number, v))
    if matched:
        tables.append(difference_table(matched))
    if others:
        tables.append(beside_table(others))
    if not matched and not others:
        tables[0].notes.append(
            "no run is of a model with a published row (on its datasets): nothing to compare"
        )
    return tables
