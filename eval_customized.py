"""RS-OVSS command line: evaluate one CLIP-family model on the RS datasets, explained.

    python eval_customized.py --method FarSLIP1 --vit-type ViT-B-16

Parses, resolves (``configs/base_config.py`` + one ``configs/cfg_<dataset>.py`` per dataset
+ flags + ``--cfg-options`` + protocol + zoo, see ``ovss.config``), runs (``ovss.evaluate``)
and reports; results go to ``<work-dir>/<vit-type>/<method>/`` (README, "Outputs").
"""

from __future__ import annotations

import argparse
import os
import sys

from foundation import datasets, profile
from foundation.errors import UserError
from foundation.zoo import ROOT, prefetch_source_fingerprint
from ovss.config import (
    check_data_root,
    dataset_configs,
    fingerprint_index,
    hide_gpus_for_cpu_runs,
    load_config,
    model_source,
)
from ovss.flags import add_model_flags, add_protocol_flag, config_overrides

DEMO_METHOD, DEMO_VIT_TYPE = "DemoCLIP", "DemoCLIP-ViT-T-16"
DEMO_DATA = os.path.join(ROOT, "demo", "data")
DEMO_NOTE = (
    "DEMO: a toy CLIP (6M parameters) trained by tools/train_demo_clip.py on generated "
    "scenes, evaluated on generated demo scenes. It checks the installation and shows the "
    "tool at work; its numbers say nothing about remote-sensing models."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Training-free open-vocabulary segmentation benchmark on RS datasets."
    )
    add_model_flags(p)
    add_protocol_flag(p)
    p.add_argument(
        "--datasets",
        help="comma list of dataset types and groups, e.g. UDD5Dataset,VDDDataset or "
        "segearth-all (default: the eight of the FarSLIP table)",
    )
    p.add_argument("--data-root", help="overrides test_data_root of base_config.py")
    p.add_argument(
        "--work-dir", default="./work_dir", help="results go to WORK_DIR/<vit>/<method>/"
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
    return p.parse_args(argv)


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
    available = dataset_configs()
    names = datasets.select(args.datasets, available)
    overrides = config_overrides(args)
    cfgs = {name: load_config(available[name], overrides, args.cfg_options) for name in names}
    for cfg in cfgs.values():
        check_data_root(cfg)
    first = cfgs[names[0]]
    hide_gpus_for_cpu_runs(first)
    # the checkpoint's sha256 is computed in a thread while torch and mmseg are imported
    prefetch_source_fingerprint(model_source(first), fingerprint_index(first))
    return cfgs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with profile.stage("start-up + config (light)"):
            cfgs = resolve(args)
        if args.demo:
            print(DEMO_NOTE, flush=True)
        with profile.stage("imports (torch, mmseg, open_clip)"):
            # lazy: imported only now (measured: ~5-10 s of torch/mmseg imports on 2 CPU
            # cores), so that flag, path and zoo errors above come in well under a second.
            from ovss.evaluate import RunOptions, evaluate

        evaluate(cfgs, RunOptions(args.work_dir, args.resume, args.pred_dir, args.show_dir))
        if args.demo:
            print(f"{DEMO_NOTE}\ndrawings: {args.show_dir}/<dataset>/vis_image/", flush=True)
        if args.profile:
            print(profile.report())
        return 0
    except KeyboardInterrupt:
        print("interrupted: finished datasets are saved; rerun with --resume", file=sys.stderr)
        return 130
    except UserError as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - an unexpected failure: its last line, unless --debug
        if args.debug:
            raise
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        print(
            f"error: {type(err).__name__}: {last} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
