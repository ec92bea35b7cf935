"""From the official downloads to a checked data root: one command per dataset.

    python tools/prepare_dataset.py NAME RAW [RAW ...] [--data-root ROOT] [--nproc N]
    python tools/prepare_dataset.py check [ROOT]
    python tools/prepare_dataset.py list

NAME is one of the seventeen datasets, in any case or spelling ``list`` shows (``potsdam``,
``Vaihingen``, ``ISPRSDataset``, ...); RAW the downloaded zip(s), their folder, or the
extracted folder. The output goes into the layout of ``configs/cfg_*.py`` under ROOT
(default: ``test_data_root`` of ``configs/base_config.py``). A rerun skips finished files
(``--overwrite`` redoes them). At the end every label is read back
(``ovss.data_check.check_labels``, the check the ``check`` command runs on an existing root):
the image count against the protocol's, the per-class pixel histogram, and one error line
(exit 2) for broken labels.

Every argument is checked before the dataset registry (mmseg) is imported, so ``--help``,
``list`` and a mistyped name or option answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dataset_converters import CONVERTERS, find  # noqa: E402
from dataset_converters.converter import Converter  # noqa: E402
from dataset_converters.raw_index import check_raw  # noqa: E402
from foundation.datasets import normalise  # noqa: E402
from foundation.errors import ConfigError, UserError  # noqa: E402

SIZE_OPTIONS = {
    "clip_size": "crop size of Potsdam/Vaihingen/Inria tiling",
    "stride_size": "stride of Potsdam/Vaihingen/Inria tiling (sets the crop count)",
    "patch_width": "patch width of iSAID/UAVid tiling",
    "patch_height": "patch height of iSAID/UAVid tiling",
    "overlap_area": "overlap of iSAID/UAVid patches",
}
USAGE = "prepare_dataset.py {NAME RAW [RAW ...] [options] | check [ROOT] | list}"


# ----------------------------------------------------------------------------------------
# prepare


def parse_prepare(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="prepare_dataset.py",
        usage=USAGE,
        description="Convert a dataset's official download into the layout of configs/ and "
        "check every label ('list' shows the datasets and their downloads, 'check [ROOT]' "
        "checks a prepared root).",
    )
    p.add_argument(
        "name",
        help=f"dataset, any case or alias: {', '.join(CONVERTERS)} "
        "('prepare_dataset.py list' shows the accepted names)",
    )
    p.add_argument(
        "raw", nargs="+", help="downloaded zip(s), their folder, or the extracted folder"
    )
    p.add_argument("--data-root", help="output root (default: test_data_root of base_config.py)")
    p.add_argument(
        "--nproc",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (default: the CPU count)",
    )
    p.add_argument("--overwrite", action="store_true", help="redo files that already exist")
    p.add_argument("--tmp-dir", help="where nested zips are unpacked (default: system temp)")
    p.add_argument(
        "--split",
        help="convert another labelled split of the release instead of the protocol's "
        "(uavid: val); it goes next to the protocol's folders, with a note that it is not "
        "the protocol's split",
    )
    for key, help_text in SIZE_OPTIONS.items():
        flag = key.replace("_", "-")
        p.add_argument(
            f"--{flag}",
            f"--{key}",
            dest=key,
            type=int,
            help=f"{help_text} (default: the published one)",
        )
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


def check_split(converter: Converter, split: str | None) -> None:
    if split is not None and split not in converter.other_splits:
        others = ", ".join(converter.other_splits) or "none"
        raise ConfigError(
            f"{converter.name} has no --split {split} (its other splits: {others}); without "
            "--split it converts the protocol's split"
        )


# ----------------------------------------------------------------------------------------
# check / list


def parse_check(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="prepare_dataset.py check",
        description="Check every dataset found under a data root: image count against the "
        "protocol's, label values, the per-class pixel histogram (exit 2 if one is broken).",
    )
    p.add_argument("root", nargs="?", help="data root (default: test_data_root of base_config.py)")
    p.add_argument(
        "--nproc",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes reading the labels (default: the CPU count)",
    )
    return p.parse_args(argv)


def parse_list(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="prepare_dataset.py list",
        description="Every dataset: its name, the other names accepted, the protocol's image "
        "count, where it is published and what RAW is.",
    )
    return p.parse_args(argv)


def accepted_names(converter: Converter) -> list[str]:
    """The dataset type and the other spellings worth showing, each once (matching ignores
    case, '-', '_', '.' and a 'Dataset' ending)."""
    info = converter.info
    names = [converter.dataset]
    seen = {normalise(info.name), normalise(converter.dataset)}
    for name in (info.short, *info.aliases):
        if normalise(name) not in seen:
            seen.add(normalise(name))
            names.append(name)
    return names


def list_datasets() -> None:
    print(
        f"{len(CONVERTERS)} datasets (names match in any case; '-', '_', '.' and a 'Dataset' "
        "ending are ignored):"
    )
    for name, converter in CONVERTERS.items():
        info = converter.info
        count = "not fixed by the protocol" if info.images is None else f"{info.images} (protocol)"
        print(f"\n{name:<14} {info.title}")
        print(f"{'':<15}also: {', '.join(accepted_names(converter))}")
        print(f"{'':<15}images: {count}")
        print(f"{'':<15}published: {info.published}")
        print(f"{'':<15}RAW: {converter.raw}")
        for split, note in converter.other_splits.items():
            print(f"{'':<15}--split {split}: {note}")


# ----------------------------------------------------------------------------------------
# main


def registry_half():
    """``dataset_converters.convert`` (the conversion and the check), imported only once
    every argument has been checked."""
    # lazy: both read the dataset registry (ovss.data_check pulls in mmseg and open_clip:
    # 5.3 s to import, measured on this machine); --help and list take ~0.3 s without it.
    from dataset_converters import convert

    return convert


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        if argv[:1] == ["list"]:
            parse_list(argv[1:])
            list_datasets()
            return 0
        if argv[:1] == ["check"]:
            args = parse_check(argv[1:])
            return registry_half().check_root(args.root, max(args.nproc, 1))
        args = parse_prepare(argv)
        converter = find(args.name)
        options, default_tiling = converter_options(converter, args)
        check_split(converter, args.split)
        if args.nproc < 1:
            raise ConfigError(f"--nproc must be at least 1, got {args.nproc}")
        check_raw(args.raw)
        return registry_half().prepare(converter, args, options, default_tiling)
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
