"""Results on disk: one atomic JSON per finished dataset, and the tables built from them.

``<out>/datasets/<DatasetType>.json`` is written the moment a dataset finishes; it holds
the dataset's metrics and the effective settings that produced them, so ``--resume`` can
tell whether it is still valid. The summary files are rebuilt from those JSONs.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence

from foundation.files import write_atomic

from .settings import settings_line

TOTAL_FILE = "ovss_results_total.txt"
CSV_FILE = "ovss_results_per_class.csv"
JSON_FILE = "ovss_results.json"
MD_FILE = "ovss_results.md"
SETTINGS_FILE = "settings.json"
CHART_DIR = "charts"  # per-dataset IoU charts (ovss/charts.py)
DATASET_DIR = "datasets"  # one record per finished dataset (what --resume and compare read)


def chart_path(out_dir: str, dataset: str) -> str:
    return os.path.join(out_dir, CHART_DIR, f"{dataset}.png")


def dataset_path(out_dir: str, dataset: str) -> str:
    return os.path.join(out_dir, DATASET_DIR, f"{dataset}.json")


def save_dataset(out_dir: str, record: dict) -> None:
    write_atomic(dataset_path(out_dir, record["dataset"]), json.dumps(record, indent=2) + "\n")


def load_dataset(out_dir: str, dataset: str) -> dict | None:
    """A finished dataset's record, or None if absent or unreadable (then it is rerun)."""
    try:
        with open(dataset_path(out_dir, dataset), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _fmt(value: float | None) -> str:
    return "nan" if value is None else f"{value:.4f}"


def mean_miou(records: Sequence[dict]) -> float:
    return sum(r["metrics"]["mIoU"] for r in records) / len(records)


def total_text(records: Sequence[dict]) -> str:
    """The seed's two-line format: dataset names + 'mean', then mIoU (%) with 4 decimals."""
    names = [r["dataset"] for r in records] + ["mean"]
    values = [r["metrics"]["mIoU"] for r in records] + [mean_miou(records)]
    return ",".join(names) + "\n" + ",".join(_fmt(v) for v in values) + "\n"


def per_class_csv(records: Sequence[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["dataset", "class", "IoU", "Acc"])
    for r in records:
        m = r["metrics"]
        for name, iou, acc in zip(m["classes"], m["IoU"], m["Acc"], strict=True):
            writer.writerow([r["dataset"], name, _fmt(iou), _fmt(acc)])
        writer.writerow([r["dataset"], "mean", _fmt(m["mIoU"]), _fmt(m["mAcc"])])
    return buf.getvalue()


def summary_rows(label: str, records: Sequence[dict]) -> tuple[list[str], list[list[str]]]:
    """Header + the mIoU row (backbone, method) + the post-processing each number used."""
    header = ["model"] + [r["dataset"] for r in records] + ["mean"]
    miou = [label] + [_fmt(r["metrics"]["mIoU"]) for r in records] + [_fmt(mean_miou(records))]
    post = (
        ["prob_thd/bg_idx"]
        + [f"{r['settings']['prob_thd']}/{r['settings']['bg_idx']}" for r in records]
        + [""]
    )
    return header, [miou, post]


def markdown(
    label: str, settings: dict, records: Sequence[dict], charts: dict[str, str] | None = None
) -> str:
    """The summary row and one per-class table per dataset (with its IoU chart, if any:
    ``charts`` maps a dataset to the chart's path relative to the Markdown file)."""
    header, rows = summary_rows(label, records)
    lines = ["# RS-OVSS results (mIoU %)", "", settings_line(settings), ""]
    lines += _md_table(header, rows)
    for r in records:
        m = r["metrics"]
        lines += ["", f"## {r['dataset']} (mIoU {_fmt(m['mIoU'])}, {describe_post(r)})", ""]
        if charts and r["dataset"] in charts:
            lines += [f"![per-class IoU of {r['dataset']}]({charts[r['dataset']]})", ""]
        per_class = zip(m["classes"], m["IoU"], m["Acc"], strict=True)
        lines += _md_table(
            ["class", "IoU", "Acc"], [[n, _fmt(i), _fmt(a)] for n, i, a in per_class]
        )
    return "\n".join(lines) + "\n"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(row) + " |" for row in rows]


def text_table(label: str, records: Sequence[dict]) -> str:
    """The terminal table: one row (backbone, method), one column per dataset + mean."""
    header, rows = summary_rows(label, records)
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join(fmt.format(*line) for line in (header, *rows))


def describe_post(record: dict) -> str:
    s = record["settings"]
    return (
        f"prob_thd={s['prob_thd']}, bg_idx={s['bg_idx']}, cls_token_lambda={s['cls_token_lambda']}"
    )


def write_summary(out_dir: str, label: str, settings: dict, records: Sequence[dict]) -> None:
    """Rebuild every summary file from the finished datasets' records."""
    write_atomic(os.path.join(out_dir, TOTAL_FILE), total_text(records))
    write_atomic(os.path.join(out_dir, CSV_FILE), per_class_csv(records))
    payload = {
        "settings": settings,
        "datasets": {r["dataset"]: r for r in records},
        "mean_mIoU": mean_miou(records),
    }
    write_atomic(os.path.join(out_dir, JSON_FILE), json.dumps(payload, indent=2) + "\n")
    charts = {
        r["dataset"]: f"{CHART_DIR}/{r['dataset']}.png"
        for r in records
        if os.path.isfile(chart_path(out_dir, r["dataset"]))
    }
    write_atomic(os.path.join(out_dir, MD_FILE), markdown(label, settings, records, charts))
    write_atomic(os.path.join(out_dir, SETTINGS_FILE), json.dumps(settings, indent=2) + "\n")
