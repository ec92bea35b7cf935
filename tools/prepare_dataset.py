"""From the official downloads to a checked data root: one command per dataset.

    python tools/prepare_dataset.py NAME RAW [RAW ...] [--data-root ROOT] [--nproc N]
    python tools/prepare_dataset.py check [ROOT]
    python tools/prepare_dataset.py list

NAME is one of the seventeen datasets (``list`` prints them with what RAW is); RAW the
downloaded zip(s), their folder, or the extracted folder. The output goes into the layout
of ``configs/cfg_*.py`` under ROOT (default: ``test_data_root`` of
``configs/base_config.py``). A rerun skips finished files (``--overwrite`` redoes them). At
the end every label is read back (``ovss.data_check.check_labels``, the check the ``check``
command runs on an existing root): the image count against the protocol's, the per-class
pixel histogram, and one error line (exit 2) for broken labels.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mmcv_compat  # noqa: E402,F401  (before mmseg)

from mmengine.config import Config  # noqa: E402

import custom_datasets  # noqa: E402,F401  (registers the datasets mmseg lacks)
from dataset_converters import BY_DATASET, CONVERTERS, find  # noqa: E402
from dataset_converters.common import Converter, Out, index_raw, run_jobs  # noqa: E402
from foundation.errors import ConfigError, DataError, UserError  # noqa: E402
from ovss.config import BASE_CONFIG, dataset_configs  # noqa: E402
from ovss.data_check import (  # noqa: E402
    DatasetLayout,
    LabelReport,
    check_dataset,
    check_labels,
    dataset_layout,
)

SIZE_OPTIONS = {
    "clip_size": "crop size of Potsdam/Vaihingen/Inria tiling",
    "stride_size": "stride of Potsdam/Vaihingen/Inria tiling (sets the crop count)",
    "patch_width": "patch width of iSAID/UAVid tiling",
    "patch_height": "patch height of iSAID/UAVid tiling",
    "overlap_area": "overlap of iSAID/UAVid patches",
}


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


def _bar(desc: str, total: int):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="file")


def report_labels(layout: DatasetLayout, nproc: int, expected: int | None) -> LabelReport:
    """The full check of one converted dataset, printed: count (vs the protocol's) and the
    per-class pixel histogram; raises a DataError line for broken data."""
    count = check_dataset(layout)
    with _bar(f"{layout.name}: reading labels", count) as bar:
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


def warn(message: str) -> None:
    bar = "!" * min(len(message) + 11, 100)
    print(f"{bar}\n!! WARNING: {message}\n{bar}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------
# prepare


def parse_prepare(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="prepare_dataset.py",
        description="Convert a dataset's official download into the layout of configs/ "
        "and check it ('list' shows the names, 'check ROOT' checks a prepared root).",
    )
    p.add_argument("name", help="dataset name (see 'prepare_dataset.py list')")
    p.add_argument(
        "raw", nargs="+", help="downloaded zip(s), their folder, or the extracted folder"
    )
    p.add_argument("--data-root", help="output root (default: test_data_root of base_config.py)")
    p.add_argument("--nproc", type=int, default=os.cpu_count() or 1, help="worker processes")
    p.add_argument("--overwrite", action="store_true", help="redo files that already exist")
    p.add_argument("--tmp-dir", help="where nested zips are unpacked (default: system temp)")
    for key, help_text in SIZE_OPTIONS.items():
        flag = key.replace("_", "-")
        p.add_argument(f"--{flag}", f"--{key}", dest=key, type=int, help=help_text)
    return p.parse_args(argv)


def converter_options(converter: Converter, args: argparse.Namespace) -> tuple[dict, bool]:
    """The converter's size options (defaults filled in) and whether they are the defaults."""
    given = {k: getattr(args, k) for k in SIZE_OPTIONS if getattr(args, k) is not None}
    foreign = sorted(set(given) - set(converter.options))
    if foreign:
        flags = ", ".join("--" + k.replace("_", "-") for k in foreign)
        known = ", ".join("--" + k.replace("_", "-") for k in converter.options) or "none"
        raise ConfigError(f"{converter.name} has no option {flags} (its size options: {known})")
    for key, value in given.items():
        if value <= 0 and not (key == "overlap_area" and value == 0):
            raise ConfigError(f"--{key.replace('_', '-')} must be positive, got {value}")
    options = {**converter.options, **given}
    return options, options == converter.options


def prepare(args: argparse.Namespace) -> int:
    converter = find(args.name)
    options, default_tiling = converter_options(converter, args)
    if args.nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, got {args.nproc}")
    data_root = args.data_root or default_data_root()
    layout = layout_for(converter.dataset, data_root)
    out = Out.of(layout)
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
    report_labels(layout, args.nproc, converter.expected if default_tiling else None)
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
# check / list


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


def check_root(data_root: str, nproc: int) -> int:
    """The full check of every dataset found under ``data_root``; 2 if any fails."""
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


def list_converters() -> None:
    for converter in CONVERTERS.values():
        count = f", {converter.expected} images" if converter.expected is not None else ""
        print(f"{converter.name:<14} {converter.dataset}{count}\n{'':<15}RAW: {converter.raw}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        if argv[:1] == ["list"]:
            list_converters()
            return 0
        if argv[:1] == ["check"]:
            p = argparse.ArgumentParser(prog="prepare_dataset.py check")
            p.add_argument("root", nargs="?", help="data root (default: test_data_root)")
            p.add_argument("--nproc", type=int, default=os.cpu_count() or 1)
            args = p.parse_args(argv[1:])
            return check_root(args.root or default_data_root(), max(args.nproc, 1))
        return prepare(parse_prepare(argv))
    except KeyboardInterrupt:
        print("interrupted: finished files are kept; rerun to continue", file=sys.stderr)
        return 130
    except UserError as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - an unexpected failure: its last line, unless --debug
        if debug:
            raise
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        print(
            f"error: {type(err).__name__}: {lines[-1] if lines else ''} "
            "(rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
