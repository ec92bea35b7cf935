"""The heavy half of ``tools/prepare_dataset.py``: a conversion run and the label check.

Both read the dataset configs' folders and the registered classes' suffixes and label
settings (``ovss.data_check.dataset_layout``), which needs mmseg's registry; the entry point
imports this module only for those two commands, so that ``--help`` and ``list`` stay fast.
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg)

import dataclasses
import functools
import os
import sys
import tempfile
from argparse import Namespace

from mmengine.config import Config
from tqdm import tqdm

import custom_datasets  # noqa: F401  (registers the datasets mmseg lacks)
from foundation.errors import DataError, UserError
from ovss.config import BASE_CONFIG, dataset_configs
from ovss.data_check import (
    DatasetLayout,
    LabelReport,
    check_dataset,
    check_labels,
    dataset_layout,
)

from . import BY_DATASET
from .converter import Converter
from .pool import run_jobs
from .raw_index import index_raw
from .writing import Out


def default_data_root() -> str:
    return Config.fromfile(BASE_CONFIG, import_custom_modules=False).test_data_root


@functools.lru_cache(maxsize=1)
def configs() -> dict[str, str]:
    """Dataset type -> config file (read once: parsing the 17 configs takes a moment)."""
    return dataset_configs()


def layout_for(dataset: str, data_root: str) -> DatasetLayout:
    """The dataset config's folders and suffixes under ``data_root``."""
    cfg = Config.fromfile(configs()[dataset], import_custom_modules=False)
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = data_root
    return dataset_layout(ds_cfg)


def warn(message: str) -> None:
    bar = "!" * min(len(message) + 11, 100)
    print(f"{bar}\n!! WARNING: {message}\n{bar}", file=sys.stderr, flush=True)


def report_labels(layout: DatasetLayout, nproc: int, expected: int | None) -> LabelReport:
    """The full check of one converted dataset, printed: count (vs the protocol's) and the
    per-class pixel histogram; raises a DataError line for broken data."""
    count = check_dataset(layout)
    with tqdm(total=count, desc=f"{layout.name}: reading labels", unit="file") as bar:
        report = check_labels(layout, nproc, bar.update)
    where = os.path.relpath(layout.img_dir, layout.root) if layout.root else layout.img_dir
    wanted = f" (protocol: {expected})" if expected is not None else ""
    print(f"{layout.name}: {report.count} images{wanted} in {where}")
    print(report.table())
    if expected is not None and report.count != expected:
        warn(
            f"{layout.name} has {report.count} images but the protocol has {expected}: "
            "a partial download, or data prepared differently, gives other numbers"
        )
    return report


# ----------------------------------------------------------------------------------------
# prepare


def split_note(converter: Converter, split: str, data_root: str, out: Out) -> str:
    """One line: the split is not the protocol's, where it goes and how to evaluate it."""
    img, seg = (os.path.relpath(d, data_root) for d in (out.img_dir, out.seg_dir))
    config = os.path.basename(configs()[converter.dataset])
    return (
        f"note: --split {split}: {converter.other_splits[split]}; written to {img} + {seg}, "
        f"which {config} does not read (evaluate it with --datasets {converter.name} "
        f"--cfg-options test_dataloader.dataset.data_prefix.img_path={img} "
        f"test_dataloader.dataset.data_prefix.seg_map_path={seg})"
    )


def prepare(converter: Converter, args: Namespace, options: dict, default_tiling: bool) -> int:
    """Convert RAW into the dataset's layout under the data root, then check every label.
    ``options`` are the checked size options; ``args.split`` one of ``other_splits``."""
    data_root = args.data_root or default_data_root()
    layout = layout_for(converter.dataset, data_root)
    out = Out.of(layout)
    expected = converter.expected if default_tiling else None
    if args.split is not None:
        out = out.for_split(args.split)
        layout = dataclasses.replace(layout, img_dir=out.img_dir, seg_dir=out.seg_dir)
        options, expected = {**options, "split": args.split}, None
        print(split_note(converter, args.split, data_root, out), flush=True)
    print(f"{converter.title} -> {layout.img_dir} + {layout.seg_dir}", flush=True)
    with tempfile.TemporaryDirectory(dir=args.tmp_dir, prefix="prepare-") as tmp:
        entries = index_raw(args.raw, tmp)
        jobs = converter.plan(entries, out, options)
        result = run_jobs(jobs, args.nproc, args.overwrite, converter.name)
    if result.errors:
        more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
        raise DataError(result.errors[0] + more)
    print(
        f"{converter.name}: {len(jobs)} source file(s): {result.written} converted, "
        f"{result.skipped} already done (--overwrite redoes them)"
    )
    strays = stray_files(out, result.outputs)
    if strays:
        warn(
            f"{len(strays)} file(s) in the output folders were not written by this conversion "
            f"(first: {strays[0]}); an earlier run with other options? They are counted below"
        )
    report_labels(layout, args.nproc, expected)
    return 0


def stray_files(out: Out, produced: set[str]) -> list[str]:
    """Files with the dataset's suffixes in the output folders that this run did not make."""
    found = []
    for folder, suffix in ((out.img_dir, out.img_suffix), (out.seg_dir, out.seg_suffix)):
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                if name.endswith(suffix) and not name.startswith(".") and path not in produced:
                    found.append(path)
    return found


# ----------------------------------------------------------------------------------------
# check


def dataset_folders(data_root: str) -> dict[str, str]:
    """Dataset type -> its own top folder under ``data_root``: the shortest prefix of its
    image folder that no other dataset shares (``potsdam``,
    ``GlobalRoadSet_Val/SpaceNet_test_567``)."""
    prefixes = {}
    for dataset in configs():
        layout = layout_for(dataset, "")
        prefixes[dataset] = layout.img_dir.strip("/").split("/")
    folders = {}
    for dataset, parts in prefixes.items():
        others = [p for d, p in prefixes.items() if d != dataset]
        for n in range(1, len(parts) + 1):
            if all(o[:n] != parts[:n] for o in others):
                break
        folders[dataset] = os.path.join(data_root, *parts[:n])
    return folders


def check_root(data_root: str | None, nproc: int) -> int:
    """The full check of every dataset found under ``data_root`` (default: the base config's
    test_data_root); 2 if any fails."""
    data_root = data_root or default_data_root()
    found = {d: f for d, f in dataset_folders(data_root).items() if os.path.isdir(f)}
    if not found:
        raise UserError(
            f"no dataset folder under {data_root} (expected e.g. {data_root}/potsdam); "
            "see README 'Prepare the data'"
        )
    failures = []
    for dataset in found:
        converter = BY_DATASET.get(dataset)
        try:
            report_labels(layout_for(dataset, data_root), nproc, converter and converter.expected)
        except UserError as err:
            failures.append(str(err))
            print(f"error: {err}", file=sys.stderr, flush=True)
    missing = [d for d in configs() if d not in found]
    good = len(found) - len(failures)
    print(f"checked {len(found)} dataset(s): {good} good, {len(failures)} broken")
    if missing:
        print(f"not found under {data_root}: {', '.join(missing)}")
    return 2 if failures else 0
