"""Finished runs side by side, the way the published figure shows them (tools/compare_runs.py).

Reads what ``eval_customized.py`` wrote in each result folder: ``datasets/<DatasetType>.json``,
plus ``ovss_results.json`` for a dataset without a file of its own. Every record carries the
settings that produced its number, and the tables are honest by construction:

- a setting that changes a number is every recorded setting except the run's identity
  (method, vit type, weights fingerprint) and ``ovss.settings.NOT_COMPARED``; a setting a new
  model family records is therefore compared with no edit here;
- runs differing in such a setting are never merged: the difference is a column of the table
  for the ``columns`` keys (attention, precision, QuickGELU, LongCLIP, and ``--column``),
  otherwise the runs go to separate tables, each stating its settings and how it differs;
- a dataset missing from a run is shown as missing; the mean is over all of a table's datasets
  and only for runs that have every one of them (never over a subset).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from foundation.datasets import DEFAULT_DATASETS, SEGEARTH_EXTRA_DATASETS
from foundation.errors import ResultsError
from foundation.zoo import MODEL_ZOO

from . import published, results
from .config import ROOT
from .settings import DATASET_KEYS, NOT_COMPARED, ORDER, RECORD_ONLY, comparable

IDENTITY = ("method", "vit_type", "fingerprint")
PER_DATASET = tuple(
    k for k in (*DATASET_KEYS, *RECORD_ONLY) if k != "dataset" and k not in NOT_COMPARED
)
# Settings shown as a column when they vary within a table (precision: always shown).
DEFAULT_COLUMNS = ("model_type", "precision", "quick_gelu", "long_clip")
ALWAYS_SHOWN = ("precision",)
TITLES = {"model_type": "attention", "vit_type": "backbone", "fingerprint": "weights"}
DOMAINS = ("general", "remote sensing")  # the published figure's order; unknown: "other"
OTHER = "other"
MEAN = "mean"
DECIMALS = 2  # as the published figure; the CSV keeps 4
MISSING = "–"
SKIP_DIRS = frozenset({"logs", "text_cache", results.DATASET_DIR})


# ------------------------------------------------------------------ reading result folders
@dataclass
class Run:
    """One row: the records of one folder that share every run-level setting."""

    folder: str
    settings: dict  # run-level settings (of its first record)
    per_dataset: dict[str, dict] = field(default_factory=dict)
    miou: dict[str, float] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return str(self.settings.get("method"))

    @property
    def vit_type(self) -> str:
        return str(self.settings.get("vit_type"))

    @property
    def domain(self) -> str:
        return domain_of(self.method)


def domain_of(method: str) -> str:
    entry = MODEL_ZOO.get(method)
    return entry.domain if entry is not None else OTHER


def find_result_folders(paths: Sequence[str]) -> list[str]:
    """Every result folder under the given work dirs / result folders, each once."""
    found: dict[str, str] = {}
    for path in paths:
        if not os.path.isdir(path):
            raise ResultsError(
                f"{path}: no such folder (give an eval_customized.py --work-dir or a result "
                "folder <work-dir>/<vit-type>/<method>/)"
            )
        here = []
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            records_dir = os.path.join(folder, results.DATASET_DIR)
            if results.JSON_FILE in files or os.path.isdir(records_dir):
                here.append(folder)
        if not here:
            raise ResultsError(
                f"{path}: no results found (eval_customized.py writes <work-dir>/<vit-type>/"
                f"<method>/datasets/<DatasetType>.json and {results.JSON_FILE})"
            )
        for folder in here:
            found.setdefault(os.path.realpath(folder), folder)
    return list(found.values())


def _read_json(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise ResultsError(
            f"{path}: not readable as JSON ({type(err).__name__}); move it away or rerun that "
            "dataset with eval_customized.py"
        ) from None


def _check_record(record: object, path: str) -> dict:
    """A record as eval_customized.py writes it, or one line saying what is missing."""
    problem = None
    if not isinstance(record, dict) or not isinstance(record.get("dataset"), str):
        problem = "no 'dataset'"
    elif not isinstance(record.get("settings"), dict) or not all(
        k in record["settings"] for k in ("method", "vit_type")
    ):
        problem = "no 'settings' with method and vit_type"
    elif not isinstance(record.get("metrics"), dict) or not isinstance(
        record["metrics"].get("mIoU"), int | float
    ):
        problem = "no numeric metrics.mIoU"
    if problem:
        raise ResultsError(
            f"{path}: not a result record of eval_customized.py ({problem}); rerun that dataset"
        )
    return record


def load_records(folder: str) -> list[dict]:
    """A folder's records: ``datasets/*.json`` (written the moment a dataset finishes), then
    datasets only the summary ``ovss_results.json`` holds."""
    records: dict[str, dict] = {}
    ds_dir = os.path.join(folder, results.DATASET_DIR)
    if os.path.isdir(ds_dir):
        for name in sorted(os.listdir(ds_dir)):
            if name.endswith(".json") and not name.startswith("."):  # .*.part: being written
                path = os.path.join(ds_dir, name)
                record = _check_record(_read_json(path), path)
                records[record["dataset"]] = record
    summary = os.path.join(folder, results.JSON_FILE)
    if os.path.isfile(summary):
        payload = _read_json(summary)
        datasets = payload.get("datasets") if isinstance(payload, dict) else None
        if not isinstance(datasets, dict):
            raise ResultsError(
                f"{summary}: no 'datasets' (not written by eval_customized.py?); rerun the run"
            )
        for record in datasets.values():
            record = _check_record(record, summary)
            records.setdefault(record["dataset"], record)
    return sorted(records.values(), key=lambda r: dataset_order(r["dataset"]))


def runs_of(folder: str, records: Iterable[dict]) -> list[Run]:
    """Split a folder's records into runs: records share a run only if every run-level
    setting that can change a number is equal (an earlier invocation may have left others)."""
    runs: dict[str, Run] = {}
    for record in records:
        s = record["settings"]
        run_level = {k: v for k, v in s.items() if k not in PER_DATASET and k != "dataset"}
        key = _key(comparable(run_level))
        run = runs.setdefault(key, Run(folder, run_level))
        run.per_dataset[record["dataset"]] = {k: s[k] for k in PER_DATASET if k in s}
        run.miou[record["dataset"]] = float(record["metrics"]["mIoU"])
    return list(runs.values())


def collect_runs(paths: Sequence[str]) -> list[Run]:
    runs = []
    for folder in find_result_folders(paths):
        records = load_records(folder)
        if records:
            runs += runs_of(folder, records)
    if not runs:
        raise ResultsError(
            f"{', '.join(paths)}: result folders found but no finished dataset in them "
            "(datasets/<DatasetType>.json); let a run finish at least one dataset"
        )
    return runs


# ------------------------------------------------------------------ tables
@dataclass
class Row:
    fields: dict[str, str]  # identity (and, for the CSV, where it came from)
    values: dict[str, float | None]  # dataset type or MEAN -> value
    group: tuple[str, str]  # (domain, backbone): rules between groups
    best: set[str] = field(default_factory=set)


@dataclass
class Table:
    kind: str  # "runs" | "published" | "difference"
    title: str
    notes: list[str]
    label_keys: list[str]  # the fields shown as label columns
    columns: list[str]  # dataset types, then MEAN
    rows: list[Row]
    details: list[tuple[str, list[str]]] = field(default_factory=list)  # per-dataset settings
    settings: str = ""  # the settings line (also in the CSV)
    signed: bool = False


def dataset_order(name: str) -> tuple[int, str]:
    known = [*DEFAULT_DATASETS, *SEGEARTH_EXTRA_DATASETS]
    return (known.index(name), name) if name in known else (len(known), name)


def short_name(dataset: str) -> str:
    if dataset == MEAN:
        return MEAN
    return published.SHORT_NAMES.get(dataset, dataset.removesuffix("Dataset"))


def _natural(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def _row_order(domain: str, vit_type: str, method: str) -> tuple:
    methods = list(MODEL_ZOO)
    domains = list(DOMAINS)
    return (
        domains.index(domain) if domain in domains else len(domains) + (domain == OTHER),
        domain,
        _natural(vit_type),
        methods.index(method) if method in methods else len(methods),
        method,
    )


def _key(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _text(value: object) -> str:
    if value is None:
        return MISSING
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return str(value)


def _short_sha(value: object) -> str:
    text = str(value)
    return text.split(":", 1)[1][:12] if text.startswith("sha256:") else text


def _settings_line(settings: dict) -> str:
    keys = [k for k in ORDER if k in settings] + sorted(k for k in settings if k not in ORDER)
    return ", ".join(f"{k}={_text(settings[k])}" for k in keys)


@dataclass
class _Group:
    key: str
    shared: dict
    per_dataset: dict[str, dict]
    runs: list[Run] = field(default_factory=list)


def group_runs(runs: Sequence[Run], columns: Sequence[str]) -> list[_Group]:
    """Runs that may share a table: equal run-level settings (but identity and ``columns``)
    and, on every dataset they share, equal per-dataset settings (but ``columns``)."""
    groups: list[_Group] = []

    def order(run: Run) -> tuple:
        varying = tuple(_column_value(run, c) for c in columns)
        return (*_row_order(run.domain, run.vit_type, run.method), varying, run.folder)

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
        key = _key(shared)
        for group in groups:
            if group.key == key and all(
                _key(group.per_dataset[d]) == _key(v)
                for d, v in per_dataset.items()
                if d in group.per_dataset
            ):
                break
        else:
            group = _Group(key, shared, {})
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
    return _short_sha(value) if key.endswith("_sha") else _text(value)


def _column_value(run: Run, key: str) -> str:
    """A row's value of a column setting: run-level, or per dataset (one value if uniform)."""
    if key in run.settings or not any(key in v for v in run.per_dataset.values()):
        return _text(run.settings.get(key))
    values = {d: _text(v.get(key)) for d, v in run.per_dataset.items()}
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    return "; ".join(f"{short_name(d)}={v}" for d, v in values.items())


def _mark_best(rows: Sequence[Row], columns: Sequence[str]) -> None:
    """Bold = the highest value of a column at the decimals shown (ties all bold)."""
    for column in columns:
        shown = [
            round(r.values[column], DECIMALS)
            for r in rows
            if r.values.get(column) is not None and math.isfinite(r.values[column])
        ]
        if not shown:
            continue
        top = max(shown)
        for r in rows:
            v = r.values.get(column)
            if v is not None and math.isfinite(v) and round(v, DECIMALS) == top:
                r.best.add(column)


def _mean(values: dict[str, float | None], datasets: Sequence[str]) -> float | None:
    got = [values.get(d) for d in datasets]
    return None if any(v is None for v in got) else sum(got) / len(got)


def runs_table(number: int, group: _Group, columns: Sequence[str]) -> Table:
    datasets = sorted(group.per_dataset, key=dataset_order)
    shown = [
        c
        for c in columns
        if c in ALWAYS_SHOWN or len({_column_value(r, c) for r in group.runs}) > 1
    ]
    rows = []
    for run in group.runs:
        fields = {
            "domain": run.domain,
            "backbone": run.vit_type,
            "method": run.method,
            **{TITLES.get(c, c): _column_value(run, c) for c in columns},
            "weights": _short_sha(run.settings.get("fingerprint")),
            "fingerprint": str(run.settings.get("fingerprint")),
            "checkpoint": str(run.settings.get("checkpoint")),
            "folder": run.folder,
        }
        values: dict[str, float | None] = {d: run.miou.get(d) for d in datasets}
        values[MEAN] = _mean(values, datasets)
        rows.append(Row(fields, values, (run.domain, run.vit_type)))
    _mark_best(rows, [*datasets, MEAN])
    hidden = {c for c in columns if c not in shown}  # equal in every row: a table setting
    common = {
        k: v
        for k, v in group.runs[0].settings.items()
        if k in hidden and k not in NOT_COMPARED and k not in IDENTITY
    }
    settings = _settings_line({**group.shared, **common})
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
        notes=[f"settings: {settings}"],
        label_keys=["domain", "backbone", "method", *(TITLES.get(c, c) for c in shown), "weights"],
        columns=[*datasets, MEAN],
        rows=rows,
        details=details,
        settings=settings,
    )


def _differences(first: _Group, other: _Group) -> list[str]:
    """Setting names in which table ``other`` differs from the first table."""
    keys = set(first.shared) | set(other.shared)
    found = {k for k in keys if _key(first.shared.get(k)) != _key(other.shared.get(k))}
    for d in set(first.per_dataset) & set(other.per_dataset):
        a, b = first.per_dataset[d], other.per_dataset[d]
        found |= {k for k in set(a) | set(b) if _key(a.get(k)) != _key(b.get(k))}
    return sorted(found, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k))


def published_table() -> Table:
    rows = []
    for p in published.PUBLISHED:
        domain = domain_of(p.method)
        values: dict[str, float | None] = dict(zip(published.DATASETS, p.miou, strict=True))
        values[MEAN] = p.mean
        fields = {"domain": domain, "backbone": p.vit_type, "method": p.label}
        rows.append(Row(fields, values, (domain, p.vit_type)))
    rows.sort(key=lambda r: _row_order(r.group[0], r.group[1], r.fields["method"].split()[0]))
    columns = [*published.DATASETS, MEAN]
    _mark_best(rows, columns)
    return Table(
        kind="published",
        title="Published (SPEC §10, reference)",
        notes=[f"{published.PROTOCOL_TEXT}; mean as published (over the eight datasets)"],
        label_keys=["domain", "backbone", "method"],
        columns=columns,
        rows=rows,
        settings=published.PROTOCOL_TEXT,
    )


@functools.cache
def published_class_files() -> dict[str, str]:
    """Dataset type -> sha256 of its class file in configs/ (the names the table used)."""
    from mmengine.config import Config

    from foundation.files import file_fingerprint

    from .config import dataset_configs

    found = {}
    for dataset, path in dataset_configs().items():
        if dataset in published.DATASETS:
            name_path = Config.fromfile(path, import_custom_modules=False).model.name_path
            found[dataset] = file_fingerprint(os.path.join(ROOT, name_path))
    return found


def difference_table(tables: Sequence[tuple[int, _Group]]) -> tuple[Table | None, list[str]]:
    """Ours - published for every run that is a published (method, vit type) under the
    published protocol; the reasons for those that are not."""
    rows, skipped = [], []
    columns = [*published.DATASETS, MEAN]
    for number, group in tables:
        for run in group.runs:
            ref = published.find(run.method, run.vit_type)
            if ref is None:
                continue
            name = f"{run.method} {run.vit_type} (table {number}, {run.folder})"
            reasons = published.mismatches(run.settings, run.per_dataset, published_class_files())
            if reasons:
                skipped.append(f"not compared: {name}: {'; '.join(reasons)}")
                continue
            ours: dict[str, float | None] = {d: run.miou.get(d) for d in published.DATASETS}
            values: dict[str, float | None] = {
                d: None if ours[d] is None else ours[d] - v
                for d, v in zip(published.DATASETS, ref.miou, strict=True)
            }
            mean = _mean(ours, published.DATASETS)
            values[MEAN] = None if mean is None else mean - ref.mean
            fields = {
                "table": str(number),
                "backbone": run.vit_type,
                "method": run.method,
                "precision": _text(run.settings.get("precision")),
                "weights": _short_sha(run.settings.get("fingerprint")),
                "fingerprint": str(run.settings.get("fingerprint")),
                "checkpoint": str(run.settings.get("checkpoint")),
                "folder": run.folder,
            }
            rows.append(Row(fields, values, (run.domain, run.vit_type)))
    if not rows:
        return None, skipped
    notes = [
        f"ours - published, mIoU points; published: {published.PROTOCOL_TEXT}",
        "mean: only for runs with all eight datasets (ours over the eight - published mean)",
        *skipped,
    ]
    table = Table(
        kind="difference",
        title="Reproduction check: ours - published",
        notes=notes,
        label_keys=["table", "backbone", "method", "precision", "weights"],
        columns=columns,
        rows=rows,
        settings=notes[0],
        signed=True,
    )
    return table, []


def build_tables(
    runs: Sequence[Run], columns: Sequence[str] = DEFAULT_COLUMNS, with_published: bool = False
) -> list[Table]:
    """Our tables (biggest first), then, with ``with_published``, the published rows and the
    difference of every run that reproduces one of them."""
    groups = group_runs(runs, columns)
    tables = []
    for number, group in enumerate(groups, 1):
        table = runs_table(number, group, columns)
        if number > 1:
            diff = _differences(groups[0], group)
            table.notes.append(f"differs from table 1 in: {', '.join(diff) or 'datasets only'}")
        tables.append(table)
    if with_published:
        reference = published_table()
        diff, skipped = difference_table(list(enumerate(groups, 1)))
        if diff is None:
            reference.notes += skipped or [
                "no run is a published (method, vit type): no differences to show"
            ]
        tables += [reference] + ([diff] if diff is not None else [])
    return tables


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


# ------------------------------------------------------------------ renderers
GENERAL_NOTES = (
    "mIoU (%). Mean: over all datasets of its table, and only for a run that has every one of "
    f"them; a missing dataset shows {MISSING} and leaves the mean empty. Bold: best of its "
    f"column within the table (at the {DECIMALS} decimals shown). Runs whose number-changing "
    "settings differ are in separate tables (each states its settings) or differ in a column."
)


def _fmt(value: float | None, signed: bool, decimals: int = DECIMALS) -> str:
    if value is None:
        return MISSING
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def markdown(tables: Sequence[Table]) -> str:
    lines = ["# RS-OVSS: runs compared (mIoU %)", "", GENERAL_NOTES]
    for t in tables:
        lines += ["", f"## {t.title}", ""]
        lines += [f"{note}  " for note in t.notes[:-1]] + t.notes[-1:] + [""]
        header = [*t.label_keys, *(short_name(c) for c in t.columns)]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(t.label_keys) + "---:|" * len(t.columns))
        for r in t.rows:
            cells = [r.fields[k] for k in t.label_keys]
            for c in t.columns:
                text = _fmt(r.values.get(c), t.signed)
                cells.append(f"**{text}**" if c in r.best else text)
            lines.append("| " + " | ".join(cells) + " |")
        if t.details:
            datasets = [c for c in t.columns if c != MEAN]
            lines += ["", "Per-dataset settings:", ""]
            lines.append("| setting | " + " | ".join(short_name(d) for d in datasets) + " |")
            lines.append("|---|" + "---|" * len(datasets))
            lines += [f"| {k} | " + " | ".join(v) + " |" for k, v in t.details]
        if t.kind == "runs":
            lines += ["", "Result folders:", ""]
            for r in t.rows:
                f = r.fields
                shown = ", ".join(f"{k} {f[k]}" for k in t.label_keys[3:])
                lines.append(
                    f"- {f['method']} {f['backbone']} ({shown}): `{f['folder']}`, "
                    f"checkpoint `{f['checkpoint']}`"
                )
    return "\n".join(lines) + "\n"


def csv_text(tables: Sequence[Table]) -> str:
    """One line per row of every table: its identity, where it came from, 4 decimals."""
    fields: dict[str, None] = {}
    datasets: dict[str, None] = {}
    for t in tables:
        fields.update(dict.fromkeys(k for r in t.rows for k in r.fields))
        datasets.update(dict.fromkeys(c for c in t.columns if c != MEAN))
    ordered = sorted(datasets, key=dataset_order)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        ["table", "kind", *(f for f in fields if f != "table"), *map(short_name, ordered)]
        + [MEAN, "best", "settings"]
    )
    for number, t in enumerate(tables, 1):
        for r in t.rows:
            values = [
                "" if r.values.get(c) is None else _fmt(r.values[c], t.signed, 4)
                for c in (*ordered, MEAN)
            ]
            best = ";".join(short_name(c) for c in t.columns if c in r.best)
            writer.writerow(
                [r.fields.get("table", str(number)), t.kind]
                + [r.fields.get(f, "") for f in fields if f != "table"]
                + values
                + [best, t.settings]
            )
    return buf.getvalue()


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "–": "--",
    "§": r"\S{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex(tables: Sequence[Table]) -> str:
    """One booktabs ``table`` per table (needs ``\\usepackage{booktabs}``)."""
    out = [
        "% RS-OVSS runs compared (mIoU %), written by tools/compare_runs.py",
        "% needs \\usepackage{booktabs}",
    ]
    for t in tables:
        spec = "l" * len(t.label_keys) + "r" * len(t.columns)
        caption = latex_escape(f"{t.title}. " + "; ".join(t.notes))
        header = [*t.label_keys, *(short_name(c) for c in t.columns)]
        out += [
            "",
            r"\begin{table}[htbp]",
            r"\centering",
            r"\footnotesize",
            rf"\caption{{{caption}}}",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            " & ".join(latex_escape(h) for h in header) + r" \\",
            r"\midrule",
        ]
        previous: Row | None = None
        for r in t.rows:
            if previous is not None and previous.group != r.group:
                out.append(r"\midrule")
            cells = []
            for k in t.label_keys:
                repeated = previous is not None and k in ("domain", "backbone")
                same = repeated and (
                    previous.group[0] == r.group[0] if k == "domain" else previous.group == r.group
                )
                cells.append("" if same else latex_escape(r.fields[k]))
            for c in t.columns:
                text = latex_escape(_fmt(r.values.get(c), t.signed))
                if t.signed:  # a typeset sign, not a hyphen
                    text = re.sub(r"^([+-])(?=\d)", r"$\1$", text)
                cells.append(rf"\textbf{{{text}}}" if c in r.best else text)
            out.append(" & ".join(cells) + r" \\")
            previous = r
        out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


# Heatmap layout, in pixels at HEATMAP_DPI: a fixed label margin, one cell per value column,
# one cell row per table row; each table's panel has a title band above its cells.
HEATMAP_DPI = 100
LABEL_PX, CELL_W_PX, CELL_H_PX = 420, 80, 28
TITLE_PX, GAP_PX, MARGIN_PX = 60, 30, 20


def heatmap_size(tables: Sequence[Table]) -> tuple[int, int]:
    """(width, height) in pixels of the PNG ``heatmap`` writes for these tables."""
    width = LABEL_PX + CELL_W_PX * max(len(t.columns) for t in tables) + MARGIN_PX
    panels = sum(TITLE_PX + CELL_H_PX * len(t.rows) for t in tables)
    return width, panels + GAP_PX * (len(tables) - 1) + 2 * MARGIN_PX


def heatmap(tables: Sequence[Table], path: str) -> None:
    """A heatmap panel per table: mIoU (viridis) or differences (RdBu, centred on 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    width, height = heatmap_size(tables)
    fig = plt.figure(figsize=(width / HEATMAP_DPI, height / HEATMAP_DPI), dpi=HEATMAP_DPI)
    top = MARGIN_PX
    for t in tables:
        n_rows, n_cols = len(t.rows), len(t.columns)
        cells_top = top + TITLE_PX
        ax = fig.add_axes(
            (
                LABEL_PX / width,
                1 - (cells_top + CELL_H_PX * n_rows) / height,
                CELL_W_PX * n_cols / width,
                CELL_H_PX * n_rows / height,
            )
        )
        data = np.array(
            [
                [np.nan if r.values.get(c) is None else r.values[c] for c in t.columns]
                for r in t.rows
            ],
            dtype=float,
        ).reshape(n_rows, n_cols)
        finite = data[np.isfinite(data)]
        if t.signed:
            span = float(np.abs(finite).max()) if finite.size else 1.0
            cmap, vmin, vmax = "RdBu", -span or -1.0, span or 1.0
        else:
            cmap = "viridis"
            vmin = float(finite.min()) if finite.size else 0.0
            vmax = float(finite.max()) if finite.size else 1.0
        colours = matplotlib.colormaps[cmap].copy()
        colours.set_bad("#d9d9d9")
        norm = matplotlib.colors.Normalize(vmin, vmax if vmax > vmin else vmin + 1)
        ax.imshow(np.ma.masked_invalid(data), cmap=colours, norm=norm, aspect="auto")
        for i, r in enumerate(t.rows):
            for j, c in enumerate(t.columns):
                red, green, blue, _ = (
                    colours(norm(data[i, j])) if np.isfinite(data[i, j]) else (1,) * 4
                )
                ax.text(
                    j,
                    i,
                    _fmt(r.values.get(c), t.signed),
                    ha="center",
                    va="center",
                    fontsize=8,
                    fontweight="bold" if c in r.best else "normal",
                    color="black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white",
                )
        for i in range(1, n_rows):  # a rule between (domain, backbone) groups
            if t.rows[i].group != t.rows[i - 1].group:
                ax.axhline(i - 0.5, color="white", linewidth=3)
        labels = [" | ".join(r.fields[k] for k in t.label_keys if k != "domain") for r in t.rows]
        ax.set_yticks(range(n_rows), [label[:84] for label in labels], fontsize=7)
        ax.set_xticks(range(n_cols), [short_name(c) for c in t.columns], fontsize=8)
        ax.xaxis.tick_top()
        ax.set_title(t.title, fontsize=9, loc="left", pad=18)
        top = cells_top + CELL_H_PX * n_rows + GAP_PX
    fig.savefig(path, dpi=HEATMAP_DPI)
    plt.close(fig)


FORMATS = {
    "md": "comparison.md",
    "csv": "comparison.csv",
    "tex": "comparison.tex",
    "png": "comparison.png",
}


def write_outputs(tables: Sequence[Table], out_dir: str, formats: Sequence[str]) -> list[str]:
    """Write the chosen formats to ``out_dir``; returns the paths written."""
    from foundation.files import write_atomic

    written = []
    for fmt in formats:
        path = os.path.join(out_dir, FORMATS[fmt])
        if fmt == "png":
            os.makedirs(out_dir, exist_ok=True)
            heatmap(tables, path)
        else:
            render = {"md": markdown, "csv": csv_text, "tex": latex}[fmt]
            write_atomic(path, render(tables))
        written.append(path)
    return written
