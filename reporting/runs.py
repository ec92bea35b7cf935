"""Run folders on disk -> ``Run`` objects (one per distinct set of settings).

Reads what ``eval_customized.py`` wrote in each run folder: ``datasets/<DatasetType>.json``,
plus ``ovss_results.json`` for a dataset without a file of its own. A run folder may sit at any
depth below a work dir (``<work-dir>/<vit-type>/<method>/<run-name>/``, or the older
``<work-dir>/<vit-type>/<method>/`` holding the files itself); every one found is read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from foundation.datasets import DEFAULT_DATASETS, SEGEARTH_EXTRA_DATASETS, protocol_images
from foundation.errors import ResultsError
from foundation.zoo import MODEL_ZOO
from ovss import results
from ovss.settings import DATASET_KEYS, NOT_COMPARED, RECORD_ONLY, comparable

# A run's identity (which model), not a setting that changes a number: never splits a table.
# ``weights`` says where the weights came from ("published": the zoo's file or tag, "own").
IDENTITY = ("method", "vit_type", "fingerprint", "weights")
PER_DATASET = tuple(
    k for k in (*DATASET_KEYS, *RECORD_ONLY) if k != "dataset" and k not in NOT_COMPARED
)
OTHER = "other"  # the domain of a method the zoo does not know
# Folders that hold no run below them (logs, caches, drawings, a run's own record folder).
SKIP_DIRS = frozenset(
    {"logs", "text_cache", "demo_drawings", results.DATASET_DIR, results.CHART_DIR}
)


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

    def images(self, dataset: str) -> int | None:
        """How many images the dataset's number covers (None: not recorded)."""
        value = self.per_dataset.get(dataset, {}).get("num_images")
        return value if isinstance(value, int) else None

    def partial(self, dataset: str) -> tuple[int, int] | None:
        """(images, protocol's images) when the number covers fewer than the protocol's
        split, else None (also when the protocol fixes no count: it cannot be told)."""
        got, want = self.images(dataset), protocol_images(dataset)
        if got is None or want is None or got >= want:
            return None
        return got, want


def domain_of(method: str) -> str:
    entry = MODEL_ZOO.get(method)
    return entry.domain if entry is not None else OTHER


def dataset_order(name: str) -> tuple[int, str]:
    """The published figure's column order, then the single-class datasets, then others."""
    known = [*DEFAULT_DATASETS, *SEGEARTH_EXTRA_DATASETS]
    return (known.index(name), name) if name in known else (len(known), name)


def is_run_folder(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, results.JSON_FILE)) or os.path.isdir(
        os.path.join(folder, results.DATASET_DIR)
    )


def find_result_folders(paths: Sequence[str]) -> list[str]:
    """Every run folder at any depth below the given work dirs / run folders, each once."""
    found: dict[str, str] = {}
    for path in paths:
        if not os.path.isdir(path):
            raise ResultsError(
                f"{path}: no such folder (give an eval_customized.py --work-dir or a run folder "
                "below it)"
            )
        here = []
        for folder, dirs, _ in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            if is_run_folder(folder):
                here.append(folder)
        if not here:
            raise ResultsError(
                f"{path}: no results found (eval_customized.py writes datasets/"
                f"<DatasetType>.json and {results.JSON_FILE} in each run's folder below "
                "--work-dir); give the --work-dir of a run that finished a dataset"
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


def key_of(value: object) -> str:
    """A stable text key of a JSON-like value (settings compare by it)."""
    return json.dumps(value, sort_keys=True, default=str)


def runs_of(folder: str, records: Iterable[dict]) -> list[Run]:
    """Split a folder's records into runs: records share a run only if every run-level
    setting that can change a number is equal (an earlier invocation may have left others)."""
    runs: dict[str, Run] = {}
    for record in records:
        s = record["settings"]
        run_level = {k: v for k, v in s.items() if k not in PER_DATASET and k != "dataset"}
        key = key_of(comparable(run_level))
        run = runs.setdefault(key, Run(folder, run_level))
        run.per_dataset[record["dataset"]] = {k: s[k] for k in PER_DATASET if k in s}
        run.miou[record["dataset"]] = float(record["metrics"]["mIoU"])
    return list(runs.values())


def read_runs(folders: Sequence[str]) -> list[Run]:
    """The runs of exactly these run folders (nothing below them is searched); a folder
    without a finished dataset is an error naming it."""
    runs = []
    for folder in folders:
        if not is_run_folder(folder):
            raise ResultsError(
                f"{folder}: not a run folder (no datasets/ nor {results.JSON_FILE}); give the "
                "folder eval_customized.py printed for the run"
            )
        runs += runs_of(folder, load_records(folder))
    if not runs:
        raise ResultsError(
            f"{', '.join(folders)}: no finished dataset in these run folders "
            "(datasets/<DatasetType>.json); let a run finish at least one dataset"
        )
    return runs


def collect_runs(paths: Sequence[str]) -> list[Run]:
    """The runs of every run folder at any depth below ``paths`` (work dirs or run folders)."""
    folders = find_result_folders(paths)
    runs = [run for folder in folders for run in runs_of(folder, load_records(folder))]
    if not runs:
        raise ResultsError(
            f"{', '.join(paths)}: result folders found but no finished dataset in them "
            "(datasets/<DatasetType>.json); let a run finish at least one dataset"
        )
    return runs
