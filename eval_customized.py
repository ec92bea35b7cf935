"""RS-OVSS command line: evaluate one CLIP-family model on the RS datasets, explained.

    python eval_customized.py --method FarSLIP1 --vit-type ViT-B-16

Parses, resolves (``configs/base_config.py`` + one ``configs/cfg_<dataset>.py`` per dataset
+ flags + ``--cfg-options`` + protocol + zoo, see ``ovss.config``), runs (``ovss.evaluate``)
and reports; results go to the run's own folder ``<work-dir>/<vit-type>/<method>/<run-name>/``
(``ovss.run_folder``; docs/runs.md).
"""

from __future__ import annotations

import argparse
import os
import sys

from foundation import datasets, profile
from foundation.errors import UserError
from foundation.zoo import ROOT, prefetch_source_fingerprint
from ovss import listing, preflight
from ovss.config import (
    BASE_CONFIG,
    check_data_root,
    dataset_configs,
    fingerprint_index,
    hide_gpus_for_cpu_runs,
    load_config,
    model_source,
)
from ovss.config_files import own_dataset_configs, share_custom_imports
from ovss.flags import (
    add_classes_flag,
    add_model_flags,
    add_protocol_flag,
    class_overrides,
    config_overrides,
)

DEMO_METHOD, DEMO_VIT_TYPE = "DemoCLIP", "DemoCLIP-ViT-T-16"
DEMO_DATA = os.path.join(ROOT, "demo", "data")
DEMO_NOTE = (
    "DEMO: a toy CLIP (6M parameters) trained by tools/train_demo_clip.py on generated "
    "scenes, evaluated on generated demo scenes. It checks the installation and shows the "
    "tool at work; its numbers say nothing about remote-sensing models."
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Training-free open-vocabulary segmentation benchmark on RS datasets. "
        f"What exists: --list {{{','.join(listing.KINDS)}}}.",
    )
    p.add_argument(
        "--list",
        choices=listing.KINDS,
        help="print the methods (model zoo, where the weights are published), attentions "
        "(--model-type), datasets (which are present under the data root) or protocols, "
        "and stop",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="check the flags, data, checkpoint and folders (about a second), and stop",
    )
    add_model_flags(p)
    add_protocol_flag(p)
    p.add_argument(
        "--datasets",
        help="comma list of dataset names and groups in any case, e.g. potsdam,vaihingen,udd5 "
        "or segearth-all (--list datasets; default: the eight of the FarSLIP table, or the "
        "--dataset-config ones)",
    )
    p.add_argument(
        "--dataset-config",
        action="append",
        metavar="FILE",
        help="your own dataset's mmengine config, anywhere (docs/extending.md; repeatable)",
    )
    add_classes_flag(p)
    p.add_argument("--data-root", help="overrides test_data_root of base_config.py")
    p.add_argument(
        "--work-dir",
        default="./work_dir",
        help="results go to WORK_DIR/<vit>/<method>/<run-name>/ (one folder per distinct run)",
    )
    p.add_argument("--pred-dir", help="save predictions as PNGs in DIR/<dataset>/")
    p.add_argument("--show-dir", help="save label/prediction drawings in DIR/<dataset>/")
    p.add_argument("--num-workers", type=int, help="dataloader workers per dataset")
    p.add_argument(
        "--resume", action="store_true", help="skip datasets finished with the same settings"
    )
    p.add_argument(
        "--text-cache-dir", help="text-feature cache (default WORK_DIR/text_cache; safe to delete)"
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="the bundled toy model on the bundled demo scenes (checks an installation)",
    )
    p.add_argument(
        "--launcher",
        choices=("none", "pytorch"),
        help="pytorch: one process per device, started by torchrun --nproc_per_node N",
    )
    p.add_argument("--profile", action="store_true", help="print where the time went")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def use_demo(args: argparse.Namespace) -> None:
    """``--demo``: the bundled toy model and scenes, drawings on (flags given still win)."""
    args.method = args.method or DEMO_METHOD
    args.vit_type = args.vit_type or DEMO_VIT_TYPE
    args.data_root = args.data_root or DEMO_DATA
    args.show_dir = args.show_dir or os.path.join(args.work_dir, "demo_drawings")


def resolve(args: argparse.Namespace) -> dict:
    """Dataset type -> its fully resolved Config. No heavy import: errors come in < 1 s."""
    if args.demo:
        use_demo(args)
    if args.text_cache_dir is None:
        args.text_cache_dir = os.path.join(args.work_dir, "text_cache")
    own = own_dataset_configs(args.dataset_config)
    available = {**dataset_configs(), **own}
    use_own = own and not args.datasets
    names = list(own) if use_own else datasets.select(args.datasets, available)
    overrides = config_overrides(args)
    classes = class_overrides(args.classes, names)
    cfgs = {
        name: load_config(available[name], {**overrides, **classes.get(name, {})}, args.cfg_options)
        for name in names
    }
    share_custom_imports(cfgs)
    check_data_root(cfgs)  # every missing dataset in one line, before anything runs
    outputs = {
        "--work-dir": args.work_dir,
        "--text-cache-dir": args.text_cache_dir,
        "--pred-dir": args.pred_dir,
        "--show-dir": args.show_dir,
    }
    preflight.check_run(cfgs, outputs)  # device, folders, checkpoint kind, hub weights
    first = cfgs[names[0]]
    hide_gpus_for_cpu_runs(first)
    # the checkpoint's sha256 is computed in a thread while torch and mmseg are imported
    prefetch_source_fingerprint(model_source(first), fingerprint_index(first))
    return cfgs


def checked(cfgs: dict, work_dir: str) -> str:
    """What ``--check`` checked, in one line."""
    first = next(iter(cfgs.values()))
    shown = ", ".join(datasets.display_name(n) for n in cfgs)
    root = first.test_dataloader.dataset.get("data_root")
    return (
        f"checked: {len(cfgs)} dataset(s) ({shown}) under {root}; weights "
        f"{model_source(first).label}; --model-type {first.model.model_type}; work dir "
        f"{work_dir}. Nothing was run (drop --check to run)."
    )


def main(argv: list[str] | None = None) -> int:
    return run(argv)[0]


def run(argv: list[str] | None = None) -> tuple[int, str | None]:
    """``main``'s work; also returns the run folder (None if no run started), for callers
    in this process such as ``tools/run_study.py``."""
    args = parse_args(argv)
    folder = None
    try:
        if args.list:
            if args.demo:
                use_demo(args)
            own = own_dataset_configs(args.dataset_config)
            configs = {**dataset_configs(), **own}
            print(listing.render(args.list, configs, args.data_root, BASE_CONFIG))
            return 0, None
        with profile.stage("start-up + config (light)"):
            cfgs = resolve(args)
        if args.check:
            print(checked(cfgs, args.work_dir))
            return 0, None
        if args.demo:
            print(DEMO_NOTE, flush=True)
        with profile.stage("imports (torch, mmseg, open_clip)"):
            # lazy: imported only now (measured: ~5-10 s of torch/mmseg imports on 2 CPU
            # cores), so that flag, path and zoo errors above come in well under a second.
            from ovss.evaluate import RunOptions, evaluate

        options = RunOptions(args.work_dir, args.resume, args.pred_dir, args.show_dir)
        folder = evaluate(cfgs, options).folder
        if args.demo:
            print(DEMO_NOTE, flush=True)
        if args.profile:
            print(profile.report())
        return 0, folder
    except KeyboardInterrupt:
        print("interrupted: finished datasets are saved; rerun with --resume", file=sys.stderr)
        return 130, folder
    except UserError as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2, folder
    except Exception as err:  # noqa: BLE001 - an unexpected failure: its last line, unless --debug
        if args.debug:
            raise
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        print(
            f"error: {type(err).__name__}: {last} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1, folder


if __name__ == "__main__":
    sys.exit(main())
