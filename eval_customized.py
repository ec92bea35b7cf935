"""RS-OVSS command line: evaluate one CLIP-family model on the RS datasets, explained.

    python eval_customized.py --method FarSLIP1 --vit-type ViT-B-16

Reads ``configs/base_config.py`` and one ``configs/cfg_<dataset>.py`` per dataset, applies
the flags and the protocol (SPEC §9), checks the data, runs mmengine's Runner per dataset
and writes results to ``<work-dir>/<vit-type>/<method>/`` (see README, "Outputs").
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.abspath(__file__))
CONFIG_DIR = os.path.join(ROOT, "configs")
DEFAULT_DATASETS = (
    "OpenEarthMapDataset",
    "LoveDADataset",
    "PotsdamDataset",
    "ISPRSDataset",
    "UDD5Dataset",
    "VDDDataset",
    "UAVidDataset",
    "iSAIDDataset",
)
PROTOCOLS = ("farslip", "segearth")
SEGEARTH_CLS_TOKEN_LAMBDA = -0.3
# Effective settings that do not change a number: recorded, but not compared by --resume.
NOT_COMPARED = ("device", "versions", "checkpoint", "finished", "long_clip_loaded")


_progress_line_open = False  # a progress line without its newline yet (see ProgressHook)


class ConfigError(ValueError):
    """A flag or config value that cannot be used; the message is one line."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Training-free open-vocabulary segmentation benchmark on RS datasets."
    )
    p.add_argument(
        "--method", default=None, help="model zoo entry (default: base_config's model_name)"
    )
    p.add_argument("--vit-type", default=None, help="OpenCLIP model config, e.g. ViT-B-16")
    p.add_argument("--pretrained", default=None, help="checkpoint file instead of the zoo default")
    p.add_argument("--fqg", action="store_true", default=None, help="force QuickGELU")
    p.add_argument(
        "--long-clip",
        choices=("disable", "load_from_scratch"),
        default=None,
        help="LongCLIP text tower (default: detect from the weights)",
    )
    p.add_argument("--model-type", default=None, help="last-layer attention (default SegEarth)")
    p.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="farslip",
        help="farslip (prob_thd 0, no CLS bias) or segearth (per-dataset thresholds)",
    )
    p.add_argument(
        "--datasets",
        default=None,
        help="comma list of dataset types, e.g. UDD5Dataset,VDDDataset (default: all 8)",
    )
    p.add_argument("--data-root", default=None, help="overrides test_data_root of base_config.py")
    p.add_argument(
        "--work-dir", default="./work_dir", help="results go to WORK_DIR/<vit>/<method>/"
    )
    p.add_argument(
        "--checkpoint-dir", default=None, help="where zoo checkpoints live (checkpoints/)"
    )
    p.add_argument(
        "--device", default=None, help="cpu, cuda or cuda:N (default: cuda if available)"
    )
    p.add_argument(
        "--precision",
        choices=("fp32", "fp16", "bf16"),
        default=None,
        help="default: fp16 on cuda, fp32 on cpu",
    )
    p.add_argument("--pred-dir", default=None, help="save predictions as PNGs in DIR/<dataset>/")
    p.add_argument(
        "--show-dir",
        default=None,
        help="save mmseg's side-by-side label/prediction drawings in DIR/<dataset>/",
    )
    p.add_argument("--num-workers", type=int, default=None, help="dataloader workers per dataset")
    p.add_argument(
        "--resume",
        action="store_true",
        help="skip datasets already finished with the same effective settings",
    )
    p.add_argument(
        "--text-cache-dir",
        default=None,
        help="text-feature cache (default WORK_DIR/text_cache; safe to delete)",
    )
    p.add_argument(
        "--model-config",
        action="append",
        default=[],
        help="extra OpenCLIP model-config JSON file or folder (repeatable)",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- configs
def dataset_configs() -> dict[str, str]:
    """Dataset type -> its config file, read from configs/cfg_*.py."""
    from mmengine.config import Config

    found = {}
    for path in sorted(glob.glob(os.path.join(CONFIG_DIR, "cfg_*.py"))):
        found[Config.fromfile(path).test_dataloader.dataset.type] = path
    return found


def select_datasets(arg: str | None, available: dict[str, str]) -> list[str]:
    names = [n.strip() for n in arg.split(",") if n.strip()] if arg else list(DEFAULT_DATASETS)
    names = list(dict.fromkeys(names))  # each dataset once, in the order given
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ConfigError(
            f"--datasets: unknown {', '.join(unknown)}; known: {', '.join(available)}"
        )
    return names


def build_config(args: argparse.Namespace, path: str):
    """One dataset's mmengine Config with flags and protocol applied."""
    from mmengine.config import Config

    cfg = Config.fromfile(path)
    model = cfg.model
    flags = {
        "model_name": args.method,
        "vit_type": args.vit_type,
        "pretrained": args.pretrained,
        "fqg": args.fqg,
        "long_clip": args.long_clip,
        "model_type": args.model_type,
        "checkpoint_dir": args.checkpoint_dir,
        "device": args.device,
        "precision": args.precision,
    }
    model.update({k: v for k, v in flags.items() if v is not None})
    if args.protocol == "segearth":
        post = cfg.get("segearth_postprocess")
        if post is None:
            raise ConfigError(f"{path}: no segearth_postprocess = dict(prob_thd=..., bg_idx=...)")
        model.update(
            prob_thd=post.prob_thd, bg_idx=post.bg_idx, cls_token_lambda=SEGEARTH_CLS_TOKEN_LAMBDA
        )
    else:
        model.update(prob_thd=0.0, bg_idx=0, cls_token_lambda=0.0)
    if not os.path.isabs(model.name_path):
        model.name_path = os.path.normpath(os.path.join(ROOT, model.name_path))
    if args.data_root is not None:
        cfg.test_dataloader.dataset.data_root = args.data_root
    if args.num_workers is not None:
        cfg.test_dataloader.num_workers = args.num_workers
    if cfg.test_dataloader.num_workers == 0:
        cfg.test_dataloader.persistent_workers = False
    return cfg


def effective_settings(args: argparse.Namespace, cfg, source, fingerprint: str) -> dict:
    """Everything that defines a number, for printing, saving and --resume."""
    import mmcv
    import mmengine
    import mmseg
    import open_clip
    import torch

    from customized_segmentor import default_device, default_precision

    m = cfg.model
    device = m.device or default_device()
    return {
        "method": source.method,
        "vit_type": source.vit_type,
        "checkpoint": source.label,
        "fingerprint": fingerprint,
        "quick_gelu": source.quick_gelu,
        "long_clip": {None: "auto", True: "load_from_scratch", False: "disable"}[source.long_clip],
        "model_type": m.model_type,
        "protocol": args.protocol,
        "precision": m.precision or default_precision(device),
        "device": device,
        "ignore_residual": m.ignore_residual,
        "logit_scale": m.logit_scale,
        "resize": _resize_scale(cfg),
        "slide_crop": m.slide_crop,
        "slide_stride": m.slide_stride,
        "cls_token_lambda": m.cls_token_lambda,
        "templates": "openai_imagenet_80",
        "versions": {
            "torch": torch.__version__,
            "mmcv": mmcv.__version__,
            "mmengine": mmengine.__version__,
            "mmseg": mmseg.__version__,
            "open_clip": open_clip.__version__,
        },
    }


def _resize_scale(cfg) -> list | None:
    """The test pipeline's Resize scale, as configured (SPEC: 448 x 448, keep ratio)."""
    resize = [t for t in cfg.test_dataloader.dataset.pipeline if t["type"] == "Resize"]
    return list(resize[0]["scale"]) if resize else None


def dataset_settings(cfg, dataset: str, num_images: int) -> dict:
    from long_clip import file_fingerprint

    m = cfg.model
    return {
        "dataset": dataset,
        "num_images": num_images,
        "prob_thd": m.prob_thd,
        "bg_idx": m.bg_idx,
        "class_file": os.path.relpath(m.name_path, ROOT),
        "class_file_sha": file_fingerprint(m.name_path),
        "data_root": cfg.test_dataloader.dataset.data_root,
    }


def comparable(settings: dict) -> dict:
    return {k: v for k, v in settings.items() if k not in NOT_COMPARED}


# ----------------------------------------------------------------------------- checks
def check_data(cfg, dataset: str) -> int:
    """Layout, pairing and readability; class file vs dataset classes. Returns #images."""
    from mmengine.registry import init_default_scope

    from custom_datasets import check_dataset, dataset_layout
    from prompts import read_class_file

    init_default_scope(cfg.get("default_scope", "mmseg"))
    layout = dataset_layout(cfg.test_dataloader.dataset)
    n = check_dataset(layout)
    _, query_idx = read_class_file(cfg.model.name_path)
    n_cls = max(query_idx) + 1
    if n_cls != len(layout.classes):
        raise ConfigError(
            f"{cfg.model.name_path}: {n_cls} classes but {dataset} has {len(layout.classes)}; "
            "one line per class"
        )
    return n


# ----------------------------------------------------------------------------- running
def end_progress_line() -> None:
    global _progress_line_open
    if _progress_line_open:
        sys.stderr.write("\n")
        _progress_line_open = False


def make_progress_hook():
    from mmengine.hooks import Hook

    class ProgressHook(Hook):
        """One line per dataset on stderr: images done, images/s, ETA."""

        priority = "VERY_LOW"

        def __init__(self, name: str, total: int) -> None:
            self.name, self.total, self.done, self.start = name, total, 0, time.time()

        def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            global _progress_line_open
            _progress_line_open = True
            self.done += len(outputs) if outputs is not None else 1
            elapsed = max(time.time() - self.start, 1e-9)
            rate = self.done / elapsed
            eta = (self.total - self.done) / rate if rate else 0.0
            bar = "#" * int(20 * self.done / max(self.total, 1))
            sys.stderr.write(
                f"\r{self.name:<20} [{bar:<20}] {self.done}/{self.total} "
                f"{rate:.2f} img/s ETA {eta:.0f}s"
            )
            sys.stderr.flush()

        def after_test_epoch(self, runner, metrics=None) -> None:
            end_progress_line()

    return ProgressHook


def run_dataset(
    cfg, dataset: str, out_dir: str, num_images: int, pred_dir: str | None, show_dir: str | None
) -> tuple[dict, bool]:
    """Evaluate one dataset with mmengine's Runner; returns (metrics, LongCLIP loaded?)."""
    from mmengine.runner import Runner

    cfg.work_dir = os.path.join(out_dir, "logs")
    # unique per run: mmengine keys its logger/visualizer instances by this name
    cfg.experiment_name = f"{dataset}_{datetime.now().strftime('%Y%m%d_%H%M%S_%f')}"
    if pred_dir:
        cfg.test_evaluator.pred_dir = os.path.join(pred_dir, dataset)
    if show_dir:  # mmseg's own visualiser and hook, one drawing per image
        save_dir = os.path.join(show_dir, dataset)
        cfg.visualizer = dict(
            type="SegLocalVisualizer",
            vis_backends=[dict(type="LocalVisBackend", save_dir=save_dir)],
            alpha=0.6,
        )
        cfg.default_hooks.visualization = dict(type="SegVisualizationHook", draw=True, interval=1)
    cfg.custom_hooks = []
    runner = Runner.from_cfg(cfg)
    runner.register_hook(make_progress_hook()(dataset, num_images), priority="VERY_LOW")
    metrics = runner.test()
    return {k.split("/")[-1]: v for k, v in metrics.items()}, runner.model.clip.long_clip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # so mmengine's Runner keeps the model on CPU
    try:
        return evaluate(args)
    except KeyboardInterrupt:
        end_progress_line()
        print("interrupted: finished datasets are saved; rerun with --resume", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - every failure becomes one line unless --debug
        end_progress_line()
        if args.debug:
            raise
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2 if is_user_error(err) else 1


def is_user_error(err: Exception) -> bool:
    from custom_datasets import DataError
    from long_clip import CheckpointError, ZooError
    from prompts import ClassFileError

    return isinstance(err, (ConfigError, DataError, CheckpointError, ZooError, ClassFileError))


def one_line(err: Exception) -> str:
    """The message itself for our errors; for others the last line (e.g. from a worker)."""
    if is_user_error(err):
        return str(err)
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    return f"{type(err).__name__}: {last} (rerun with --debug for the traceback)"


def evaluate(args: argparse.Namespace) -> int:
    import mmcv_compat  # noqa: F401  (before mmseg)

    import open_clip

    import custom_datasets  # noqa: F401  (registers the datasets)
    import customized_segmentor  # noqa: F401  (registers the segmentor)
    import ovss_metric  # noqa: F401  (registers the metric)
    import ovss_results as results
    from long_clip import resolve_source, source_fingerprint

    for extra in args.model_config:
        if not os.path.exists(extra):
            raise ConfigError(f"--model-config {extra}: no such file or folder")
        open_clip.add_model_config(extra)

    available = dataset_configs()
    names = select_datasets(args.datasets, available)
    cfgs = {name: build_config(args, available[name]) for name in names}
    first = cfgs[names[0]].model
    source = resolve_source(
        first.model_name,
        first.vit_type,
        first.pretrained,
        first.checkpoint_dir,
        bool(first.fqg),
        first.long_clip,
    )
    settings = effective_settings(args, cfgs[names[0]], source, source_fingerprint(source))
    use_device(settings["device"], settings["precision"])
    label = f"{source.vit_type} {source.method}"
    out_dir = os.path.join(args.work_dir, source.vit_type, source.method)
    text_cache = args.text_cache_dir or os.path.join(args.work_dir, "text_cache")

    num_images = {name: check_data(cfgs[name], name) for name in names}
    print(results.settings_line(settings), flush=True)

    records = []
    for name in names:
        cfg = cfgs[name]
        cfg.model.text_cache_dir = text_cache
        wanted = {**settings, **dataset_settings(cfg, name, num_images[name])}
        old = results.load_dataset(out_dir, name) if args.resume else None
        if old is not None and comparable(old["settings"]) == comparable(wanted):
            print(f"{name}: finished earlier with the same settings, skipped (--resume)")
            records.append(old)
            results.write_summary(out_dir, label, _summary_settings(settings, records), records)
            continue
        start = time.time()
        metrics, long_loaded = run_dataset(
            cfg, name, out_dir, num_images[name], args.pred_dir, args.show_dir
        )
        finished = datetime.now(timezone.utc).isoformat()
        record = {
            "dataset": name,
            "settings": {**wanted, "long_clip_loaded": long_loaded, "finished": finished},
            "seconds": round(time.time() - start, 2),
            "metrics": metrics,
        }
        results.save_dataset(out_dir, record)
        records.append(record)
        results.write_summary(out_dir, label, _summary_settings(settings, records), records)
        print(f"{name}: mIoU {metrics['mIoU']:.4f} ({results.describe_post(record)})", flush=True)

    summary = _summary_settings(settings, records)  # as last written by the loop
    print()
    print(results.settings_line(summary))
    print(results.text_table(label, records))
    print(f"results: {os.path.join(out_dir, results.TOTAL_FILE)} (+ per-class csv/json/md)")
    return 0


def use_device(device: str, precision: str) -> None:
    """Validate device/precision; make mmengine's Runner (which moves the model to the
    current CUDA device) use the one asked for."""
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: CUDA is not available here; use --device cpu")
        if ":" in device:
            torch.cuda.set_device(torch.device(device))
    elif device != "cpu":
        raise ConfigError(f"--device {device}: use cpu, cuda or cuda:N")
    elif precision == "fp16":
        raise ConfigError("--precision fp16 needs CUDA; on CPU use fp32 (default) or bf16")


def _summary_settings(settings: dict, records: list[dict]) -> dict:
    """Global settings plus each dataset's post-processing, as saved in settings.json."""
    per_dataset = {
        r["dataset"]: {
            k: r["settings"][k] for k in ("prob_thd", "bg_idx", "class_file", "data_root")
        }
        for r in records
    }
    loaded = records[-1]["settings"].get("long_clip_loaded") if records else None
    return {**settings, "long_clip_loaded": loaded, "datasets": per_dataset}


if __name__ == "__main__":
    sys.exit(main())
