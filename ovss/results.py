"""Results on disk: one atomic JSON per finished dataset, and the tables built from them.

``<run folder>/datasets/<DatasetType>.json`` is written the moment a dataset finishes; it
holds the dataset's metrics and the effective settings that produced them, so ``--resume``
can tell whether it is still valid. The summary files are rebuilt from those JSONs.

Every number says how much data it covers: each mIoU comes with its image count, a dataset
with fewer images than its protocol's split (``foundation.datasets.protocol_images``) is
marked ``partial``, and a mean over fewer datasets than requested says so. People read the
datasets by their display names; the files keep the dataset type as the key (JSON records,
the CSVs), as readers of the earlier files expect.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence

from foundation.datasets import DATASETS, display_name, protocol_images
from foundation.files import write_atomic

from .settings import settings_line

TOTAL_FILE = "ovss_results_total.txt"
CSV_FILE = "ovss_results_per_class.csv"
JSON_FILE = "ovss_results.json"
MD_FILE = "ovss_results.md"
SETTINGS_FILE = "settings.json"
CHART_DIR = "charts"  # per-dataset IoU charts (ovss/charts.py)
DATASET_DIR = "datasets"  # one record per finished dataset (what --resume and compare read)
PARTIAL = "partial"


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
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "settings" in record else None


def load_folder(out_dir: str) -> dict[str, dict]:
    """Every readable record of a run folder, by dataset type (hidden ``.part`` files are
    being written and skipped)."""
    folder = os.path.join(out_dir, DATASET_DIR)
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    found = {}
    for name in names:
        if name.endswith(".json") and not name.startswith("."):
            record = load_dataset(out_dir, name[: -len(".json")])
            if record is not None:
                found[record["dataset"]] = record
    return found


def table_order(datasets: Sequence[str]) -> list[str]:
    """The known datasets in their table order (the FarSLIP eight first), then the others."""
    known = list(DATASETS)
    return sorted(
        dict.fromkeys(datasets), key=lambda d: known.index(d) if d in known else len(known)
    )


# ------------------------------------------------------------------ coverage
def coverage(record: dict) -> tuple[int | None, int | None, bool]:
    """(images evaluated, images of the protocol's split, partial). Counts are None where
    not recorded / not fixed by the protocol; only a known shortfall is partial."""
    got = record.get("settings", {}).get("num_images")
    got = got if isinstance(got, int) else None
    want = protocol_images(record["dataset"])
    return got, want, got is not None and want is not None and got < want


def count_text(record: dict) -> str:
    """'3', or '3 of 1669' when partial, or '?' (not recorded)."""
    got, want, partial = coverage(record)
    if got is None:
        return "?"
    return f"{got} of {want}" if partial else str(got)


def images_text(record: dict) -> str:
    """The count, marked when partial: '3 of 1669 (partial)'."""
    return count_text(record) + (f" ({PARTIAL})" if coverage(record)[2] else "")


def on_images(record: dict) -> str:
    """'on 3 images', 'on 3 of 1669 images, partial' (after an mIoU)."""
    return f"on {count_text(record)} images" + (f", {PARTIAL}" if coverage(record)[2] else "")


def miou_cell(record: dict) -> str:
    return _fmt(record["metrics"]["mIoU"]) + (f" {PARTIAL}" if coverage(record)[2] else "")


def mean_note(records: Sequence[dict], requested: Sequence[str]) -> str:
    """What the mean is over: 'mean over 8 datasets', '... over 1 of 8 requested datasets
    (not finished: ...)', and how many of them are partial."""
    done = {r["dataset"] for r in records}
    wanted = table_order([*requested, *done])
    if len(done) < len(wanted):
        missing = ", ".join(display_name(d) for d in wanted if d not in done)
        text = (
            f"mean over {len(done)} of {len(wanted)} requested datasets (not finished: {missing})"
        )
    else:
        text = f"mean over {len(done)} dataset{'s' if len(done) != 1 else ''}"
    partial = [display_name(r["dataset"]) for r in records if coverage(r)[2]]
    if partial:
        text += f"; {len(partial)} of them {PARTIAL} ({', '.join(partial)})"
    return text


def partial_note(records: Sequence[dict]) -> str | None:
    shown = [f"{display_name(r['dataset'])} {count_text(r)}" for r in records if coverage(r)[2]]
    if not shown:
        return None
    return f"{PARTIAL}: fewer images than the protocol's split: {', '.join(shown)}"


# ------------------------------------------------------------------ tables and files
def _fmt(value: float | None) -> str:
    return "nan" if value is None else f"{value:.4f}"


def mean_miou(records: Sequence[dict]) -> float:
    return sum(r["metrics"]["mIoU"] for r in records) / len(records)


def _requested(records: Sequence[dict], requested: Sequence[str] | None) -> list[str]:
    return list(requested) if requested is not None else [r["dataset"] for r in records]


def total_text(records: Sequence[dict], requested: Sequence[str] | None = None) -> str:
    """The seed's two CSV lines (dataset types + 'mean', then mIoU (%) with 4 decimals),
    then '# ' lines a CSV reader skips: the images of each number, what the mean is over."""
    names = [r["dataset"] for r in records] + ["mean"]
    values = [r["metrics"]["mIoU"] for r in records] + [mean_miou(records)]
    images = ", ".join(f"{r['dataset']} {images_text(r)}" for r in records)
    return (
        ",".join(names)
        + "\n"
        + ",".join(_fmt(v) for v in values)
        + f"\n# images: {images}\n# {mean_note(records, _requested(records, requested))}\n"
    )


def per_class_csv(records: Sequence[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["dataset", "class", "IoU", "Acc", "images"])
    for r in records:
        m, images = r["metrics"], images_text(r)
        for name, iou, acc in zip(m["classes"], m["IoU"], m["Acc"], strict=True):
            writer.writerow([r["dataset"], name, _fmt(iou), _fmt(acc), images])
        writer.writerow([r["dataset"], "mean", _fmt(m["mIoU"]), _fmt(m["mAcc"]), images])
    return buf.getvalue()


def summary_rows(label: str, records: Sequence[dict]) -> tuple[list[str], list[list[str]]]:
    """Header + the mIoU row (backbone, method), the images of each number, and the
    post-processing each number used."""
    header = ["model"] + [display_name(r["dataset"]) for r in records] + ["mean"]
    miou = [label] + [miou_cell(r) for r in records] + [_fmt(mean_miou(records))]
    images = ["images"] + [images_text(r) for r in records] + [""]
    post = (
        ["prob_thd/bg_idx"]
        + [f"{r['settings'].get('prob_thd')}/{r['settings'].get('bg_idx')}" for r in records]
        + [""]
    )
    return header, [miou, images, post]


def notes(records: Sequence[dict], requested: Sequence[str] | None) -> list[str]:
    """The lines under every table: partial datasets, what the mean is over."""
    found = [partial_note(records), mean_note(records, _requested(records, requested))]
    return [n for n in found if n]


def markdown(
    label: str,
    settings: dict,
    records: Sequence[dict],
    charts: dict[str, str] | None = None,
    requested: Sequence[str] | None = None,
) -> str:
    """The summary row and one per-class table per dataset (with its IoU chart, if any:
    ``charts`` maps a dataset to the chart's path relative to the Markdown file)."""
    header, rows = summary_rows(label, records)
    lines = ["# RS-OVSS results (mIoU %)", "", settings_line(settings), ""]
    lines += _md_table(header, rows) + [""] + [f"- {n}" for n in notes(records, requested)]
    for r in records:
        m, name = r["metrics"], display_name(r["dataset"])
        lines += ["", f"## {name} (mIoU {_fmt(m['mIoU'])} {on_images(r)})"]
        lines += ["", describe_post(r), ""]
        if charts and r["dataset"] in charts:
            lines += [f"![per-class IoU of {name}]({charts[r['dataset']]})", ""]
        per_class = zip(m["classes"], m["IoU"], m["Acc"], strict=True)
        lines += _md_table(
            ["class", "IoU", "Acc"], [[n, _fmt(i), _fmt(a)] for n, i, a in per_class]
        )
    return "\n".join(lines) + "\n"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(row) + " |" for row in rows]


def text_table(label: str, records: Sequence[dict], requested: Sequence[str] | None = None) -> str:
    """The terminal table: one row (backbone, method), one column per dataset + mean, the
    images of each number, then the notes (partial datasets, what the mean is over)."""
    header, rows = summary_rows(label, records)
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    table = [fmt.format(*line) for line in (header, *rows)]
    return "\n".join(table + notes(records, requested))


def describe_post(record: dict) -> str:
    s = record["settings"]
    return (
        f"prob_thd={s.get('prob_thd')}, bg_idx={s.get('bg_idx')}, "
        f"cls_token_lambda={s.get('cls_token_lambda')}"
    )


def summary_payload(settings: dict, records: Sequence[dict], requested: Sequence[str]) -> dict:
    """``ovss_results.json``: the settings, each dataset's record with its coverage, the
    mean and what it is over."""
    datasets = {}
    for r in records:
        got, want, partial = coverage(r)
        datasets[r["dataset"]] = {
            **r,
            "display_name": display_name(r["dataset"]),
            "num_images": got,
            "protocol_images": want,
            PARTIAL: partial,
        }
    done = [r["dataset"] for r in records]
    wanted = table_order([*requested, *done])
    return {
        "settings": settings,
        "datasets": datasets,
        "mean_mIoU": mean_miou(records),
        "mean_over": done,
        "requested": wanted,
        "complete": len(done) == len(wanted),
        "mean_note": mean_note(records, requested),
    }


def write_summary(
    out_dir: str,
    label: str,
    settings: dict,
    records: Sequence[dict],
    requested: Sequence[str] | None = None,
) -> None:
    """Rebuild every summary file from the finished datasets' records. ``requested``: the
    datasets asked for (default: those of ``records``), so a mean over fewer says so."""
    wanted = _requested(records, requested)
    write_atomic(os.path.join(out_dir, TOTAL_FILE), total_text(records, wanted))
    write_atomic(os.path.join(out_dir, CSV_FILE), per_class_csv(records))
    payload = summary_payload(settings, records, wanted)
    write_atomic(os.path.join(out_dir, JSON_FILE), json.dumps(payload, indent=2) + "\n")
    charts = {
        r["dataset"]: f"{CHART_DIR}/{r['dataset']}.png"
        for r in records
        if os.path.isfile(chart_path(out_dir, r["dataset"]))
    }
    md = markdown(label, settings, records, charts, wanted)
    write_atomic(os.path.join(out_dir, MD_FILE), md)
    write_atomic(os.path.join(out_dir, SETTINGS_FILE), json.dumps(settings, indent=2) + "\n")
