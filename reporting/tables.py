"""Our runs -> tables that never mix settings that change a number.

- a setting that changes a number is every recorded setting except the run's identity
  (model, vit type, weights) and ``ovss.settings.NOT_COMPARED``; a setting a new model family
  records is therefore compared with no edit here;
- runs differing in such a setting are never merged: the difference is a column of the table
  for the ``columns`` keys (the method i.e. ``model_type``, precision, QuickGELU, LongCLIP, and
  ``--column``), otherwise the runs go to separate tables, each stating its settings and how
  it differs;
- a dataset missing from a run is shown as missing; the mean is over all of a table's datasets
  and only for runs that have every one of them (never over a subset);
- a number over fewer images than the protocol's split is marked partial, and so is a mean
  over it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from foundation.datasets import display_name
from foundation.errors import ResultsError
from foundation.zoo import MODEL_ZOO
from ovss.settings import NOT_COMPARED, ORDER

from .runs import IDENTITY, OTHER, PER_DATASET, Run, dataset_order, key_of

# Settings shown as a column when they vary within a table (precision: always shown).
DEFAULT_COLUMNS = ("model_type", "precision", "quick_gelu", "long_clip")
ALWAYS_SHOWN = ("precision",)
# The recorded model_type is the segmentation method run on the model (the zoo's --method).
TITLES = {"model_type": "method (model_type)", "vit_type": "backbone", "fingerprint": "weights"}
DOMAINS = ("general", "remote sensing")  # the published figure's order; unknown: "other"
MEAN = "mean"
DECIMALS = 2  # as the published figure; the CSV keeps 4
MISSING = "–"
PARTIAL = "partial"


@dataclass
class Row:
    fields: dict[str, str]  # identity (and, for the CSV, where it came from)
    values: dict[str, float | None]  # dataset type or MEAN -> value
    group: tuple[str, str]  # (domain, backbone): rules between groups
    best: set[str] = field(default_factory=set)
    partial: dict[str, str] = field(default_factory=dict)  # column -> "partial 3/1669"
    decimals: int | None = None  # None: the table's (a published row: as published)


@dataclass
class Table:
    kind: str  # "runs" | "published" | "difference" | "beside"
    title: str
    notes: list[str]
    label_keys: list[str]  # the fields shown as label columns
    columns: list[str]  # dataset types, then MEAN
    rows: list[Row]
    details: list[tuple[str, list[str]]] = field(default_factory=list)  # per-dataset settings
    settings: str = ""  # the settings line (also in the CSV)
    signed: bool = False  # differences (ours - published), not mIoU
    decimals: int = DECIMALS


def decimals_of(table: Table, row: Row) -> int:
    """The decimals a row's values are shown with."""
    return table.decimals if row.decimals is None else row.decimals


def column_name(column: str) -> str:
    """A value column's header: the dataset's display name, or 'mean'."""
    return MEAN if column == MEAN else display_name(column)


def natural(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def row_order(domain: str, vit_type: str, method: str) -> tuple:
    """General domain first, then remote sensing, then others; backbone; zoo order."""
    methods = list(MODEL_ZOO)
    domains = list(DOMAINS)
    return (
        domains.index(domain) if domain in domains else len(domains) + (domain == OTHER),
        domain,
        natural(vit_type),
        methods.index(method) if method in methods else len(methods),
        method,
    )


def text(value: object) -> str:
    if value is None:
        return MISSING
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return str(value)


def short_sha(value: object) -> str:
    value = str(value)
    return value.split(":", 1)[1][:12] if value.startswith("sha256:") else value


def settings_line(settings: dict) -> str:
    keys = [k for k in ORDER if k in settings] + sorted(k for k in settings if k not in ORDER)
    return ", ".join(f"{k}={text(settings[k])}" for k in keys)


def mark_best(rows: Sequence[Row], columns: Sequence[str], decimals: int = DECIMALS) -> None:
    """Bold = the highest value of a column at the decimals shown (ties all bold)."""
    for column in columns:
        shown = [
            round(r.values[column], decimals)
            for r in rows
            if r.values.get(column) is not None and math.isfinite(r.values[column])
        ]
        if not shown:
            continue
        top = max(shown)
        for r in rows:
            v = r.values.get(column)
            if v is not None and math.isfinite(v) and round(v, decimals) == top:
                r.best.add(column)


def mean_of(values: dict[str, float | None], datasets: Sequence[str]) -> float | None:
    got = [values.get(d) for d in datasets]
    return None if any(v is None for v in got) else sum(got) / len(got)


def partial_marks(run: Run, datasets: Sequence[str], with_mean: bool) -> dict[str, str]:
    """Column -> mark for every dataset over fewer images than the protocol's split, and
    the mean when it is over such a dataset."""
    marks = {}
    for d in datasets:
        counts = run.partial(d)
        if counts is not None and d in run.miou:
            marks[d] = f"{PARTIAL} {counts[0]}/{counts[1]}"
    if marks and with_mean:
        marks[MEAN] = PARTIAL
    return marks


def partial_note(name: str, run: Run, datasets: Sequence[str]) -> str | None:
    """One line naming a run's partial datasets (None when it has none)."""
    found = [(d, run.partial(d)) for d in datasets if d in run.miou]
    parts = [f"{display_name(d)} {c[0]} of {c[1]} images" for d, c in found if c is not None]
    if not parts:
        return None
    return (
        f"{PARTIAL} (fewer images than the protocol's split): {name}: {', '.join(parts)}; "
        "a mean over them is marked partial too"
    )


@dataclass
class Group:
    key: str
    shared: dict
    per_dataset: dict[str, dict]
    runs: list[Run] = field(default_factory=list)


def column_value(run: Run, key: str) -> str:
    """A row's value of a column setting: run-level, or per dataset (one value if uniform)."""
    if key in run.settings or not any(key in v for v in run.per_dataset.values()):
        return text(run.settings.get(key))
    values = {d: text(v.get(key)) for d, v in run.per_dataset.items()}
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    return "; ".join(f"{display_name(d)}={v}" for d, v in values.items())


def group_runs(runs: Sequence[Run], columns: Sequence[str]) -> list[Group]:
    """Runs that may share a table: equal run-level settings (but identity and ``columns``)
    and, on every dataset they share, equal per-dataset settings (but ``columns``)."""
    groups: list[Group] = []

    def order(run: Run) -> tuple:
        varying = tuple(column_value(run, c) for c in columns)
        return (*row_order(run.domain, run.vit_type, run.method), varying, run.folder)

    for run in sorted(runs, key=order):
        shared = {
            k: v
            for k, v in run.settings.items()
            if k not in NOT_COMPARED and k not in IDENTITY and k not in columns
        }
        per_dataset = {
            d: {k: v for k, v in values.items() if k not in columns}
            for d, values in run.per_dataset.items()
        }
        key = key_of(shared)
        for group in groups:
            if group.key == key and all(
                key_of(group.per_dataset[d]) == key_of(v)
                for d, v in per_dataset.items()
                if d in group.per_dataset
            ):
                break
        else:
            group = Group(key, shared, {})
            groups.append(group)
        group.runs.append(run)
        for d, v in per_dataset.items():
            group.per_dataset.setdefault(d, v)
    groups.sort(key=lambda g: -len(g.runs))  # stable: the biggest table first
    return groups


def _per_dataset_rank(key: str) -> tuple[int, str]:
    order = list(PER_DATASET)
    return (order.index(key), key) if key in order else (len(order), key)


def _per_dataset_text(key: str, value: object) -> str:
    return short_sha(value) if key.endswith("_sha") else text(value)


def runs_table(number: int, group: Group, columns: Sequence[str]) -> Table:
    datasets = sorted(group.per_dataset, key=dataset_order)
    shown = [
        c for c in columns if c in ALWAYS_SHOWN or len({column_value(r, c) for r in group.runs}) > 1
    ]
    rows, partial = [], []
    for run in group.runs:
        fields = {
            "domain": run.domain,
            "backbone": run.vit_type,
            "model": run.method,
            **{TITLES.get(c, c): column_value(run, c) for c in columns},
            "weights": short_sha(run.settings.get("fingerprint")),
            "fingerprint": str(run.settings.get("fingerprint")),
            "checkpoint": str(run.settings.get("checkpoint")),
            "folder": run.folder,
        }
        values: dict[str, float | None] = {d: run.miou.get(d) for d in datasets}
        values[MEAN] = mean_of(values, datasets)
        marks = partial_marks(run, datasets, values[MEAN] is not None)
        rows.append(Row(fields, values, (run.domain, run.vit_type), partial=marks))
        note = partial_note(f"{run.method} {run.vit_type} ({run.folder})", run, datasets)
        partial += [note] if note else []
    mark_best(rows, [*datasets, MEAN])
    hidden = {c for c in columns if c not in shown}  # equal in every row: a table setting
    common = {
        k: v
        for k, v in group.runs[0].settings.items()
        if k in hidden and k not in NOT_COMPARED and k not in IDENTITY
    }
    settings = settings_line({**group.shared, **common})
    # per-dataset settings, equal in every row (a --column one that does not vary included)
    per_dataset = {
        d: next(r.per_dataset[d] for r in group.runs if d in r.per_dataset) for d in datasets
    }
    keys = {k for v in per_dataset.values() for k in v if k not in shown}
    details = [
        (k, [_per_dataset_text(k, per_dataset[d].get(k)) for d in datasets])
        for k in sorted(keys, key=_per_dataset_rank)
    ]
    n = len(rows)
    return Table(
        kind="runs",
        title=f"Table {number}: {n} run{'s' if n != 1 else ''}",
        notes=[f"settings: {settings}", *partial],
        label_keys=["domain", "backbone", "model", *(TITLES.get(c, c) for c in shown), "weights"],
        columns=[*datasets, MEAN],
        rows=rows,
        details=details,
        settings=settings,
    )


def _differences(first: Group, other: Group) -> list[str]:
    """Setting names in which table ``other`` differs from the first table."""
    keys = set(first.shared) | set(other.shared)
    found = {k for k in keys if key_of(first.shared.get(k)) != key_of(other.shared.get(k))}
    for d in set(first.per_dataset) & set(other.per_dataset):
        a, b = first.per_dataset[d], other.per_dataset[d]
        found |= {k for k in set(a) | set(b) if key_of(a.get(k)) != key_of(b.get(k))}
    return sorted(found, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k))


def run_tables(
    runs: Sequence[Run], columns: Sequence[str] = DEFAULT_COLUMNS
) -> tuple[list[Group], list[Table]]:
    """Our tables, biggest first (table n shows ``groups[n - 1]``)."""
    groups = group_runs(runs, columns)
    tables = []
    for number, group in enumerate(groups, 1):
        table = runs_table(number, group, columns)
        if number > 1:
            diff = _differences(groups[0], group)
            table.notes.insert(1, f"differs from table 1 in: {', '.join(diff) or 'datasets only'}")
        tables.append(table)
    return groups, tables


def check_columns(runs: Sequence[Run], columns: Sequence[str]) -> None:
    """A --column must name a recorded setting (a typo would otherwise silently do nothing)."""
    known = {k for r in runs for k in r.settings} | {
        k for r in runs for v in r.per_dataset.values() for k in v
    }
    unknown = [c for c in columns if c not in known and c not in DEFAULT_COLUMNS]
    if unknown:
        raise ResultsError(
            f"--column {', '.join(unknown)}: no run records such a setting; recorded: "
            f"{', '.join(sorted(known - set(IDENTITY) - set(NOT_COMPARED)))}"
        )
