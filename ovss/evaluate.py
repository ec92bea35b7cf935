"""The run loop: check the data, evaluate each dataset with mmengine's Runner, save, resume.

Takes the resolved per-dataset configs (``ovss.config``); each finished dataset is saved
atomically the moment it finishes, so an interrupted run loses at most the dataset in
progress and ``--resume`` computes only the rest.
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from mmengine.dist import get_world_size, is_main_process
from mmengine.model import is_model_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from foundation.profile import stage
from foundation.zoo import prefetch_source_fingerprint, source_fingerprint

from . import results, visualize  # noqa: F401  (visualize: registers our two visualizers)
from .config import fingerprint_index, model_source
from .data_check import check_data
from .progress import OVSSProgressHook
from .runtime import (
    init_distributed,
    register_modules,
    resolve_device,
    use_device,
    versions,
    warn_slow_precision,
)
from .settings import comparable, record_settings, settings_line, summary_settings


@dataclass(frozen=True)
class RunOptions:
    """Where results go and what else to write (not settings: they change no number)."""

    work_dir: str = "./work_dir"
    resume: bool = False
    pred_dir: str | None = None
    show_dir: str | None = None
    hooks: tuple = ()  # extra mmengine hooks for every dataset's Runner (e.g. a benchmark's)


def prepare(cfgs: dict) -> None:
    """Register our modules, resolve device/precision for every config (identically)."""
    first = next(iter(cfgs.values()))
    register_modules(first)
    init_default_scope(first.get("default_scope", "mmseg"))
    for cfg in cfgs.values():
        resolve_device(cfg)
    init_distributed(first)
    warn_slow_precision(first)
    use_device(first.model.device)


def output_dir(work_dir: str, cfg) -> str:
    return os.path.join(work_dir, cfg.model.vit_type, cfg.model.model_name)


def evaluate(cfgs: dict, options: RunOptions) -> list[dict]:
    """Evaluate every dataset config in order; returns the finished records.

    In a distributed run (torchrun) every process runs this loop on its shard of each
    dataset; only the main process prints and writes files.
    """
    with stage("register + device"):
        prepare(cfgs)
    first = next(iter(cfgs.values()))
    main = is_main_process()
    say = print if main else (lambda *a, **k: None)
    index = fingerprint_index(first)
    prefetch_source_fingerprint(model_source(first), index)  # hashed while the data is checked
    with stage("data check"):
        num_images = {name: check_data(cfg) for name, cfg in cfgs.items()}
    with stage("checkpoint hash (waiting)"):
        fingerprint = source_fingerprint(model_source(first), index)
    stack = versions()
    wanted = {
        name: record_settings(cfg, fingerprint, stack, num_images[name])
        for name, cfg in cfgs.items()
    }
    out_dir = output_dir(options.work_dir, first)
    label = f"{first.model.vit_type} {first.model.model_name}"
    planned = summary_settings([{"dataset": n, "settings": s} for n, s in wanted.items()])
    say(settings_line(planned), flush=True)

    records: list[dict] = []
    for name, cfg in cfgs.items():
        old = results.load_dataset(out_dir, name) if options.resume else None
        if old is not None and comparable(old["settings"]) == comparable(wanted[name]):
            say(f"{name}: finished earlier with the same settings, skipped (--resume)")
            records.append(old)
            if main:
                if not os.path.isfile(results.chart_path(out_dir, name)):
                    save_chart(out_dir, old, label)
                results.write_summary(out_dir, label, summary_settings(records), records)
            continue
        start = time.time()
        metrics, loaded = run_dataset(cfg, name, out_dir, num_images[name], options)
        record = {
            "dataset": name,
            "settings": {
                **wanted[name],
                **loaded,
                "finished": datetime.now(timezone.utc).isoformat(),
            },
            "seconds": round(time.time() - start, 2),
            "metrics": metrics,
        }
        records.append(record)
        if main:
            results.save_dataset(out_dir, record)
            save_chart(out_dir, record, label)
            results.write_summary(out_dir, label, summary_settings(records), records)
        say(f"{name}: mIoU {metrics['mIoU']:.4f} ({results.describe_post(record)})", flush=True)

    say()
    say(settings_line(summary_settings(records)))
    say(results.text_table(label, records))
    say(f"results: {os.path.join(out_dir, results.TOTAL_FILE)} (+ per-class csv/json/md)")
    return records


def save_chart(out_dir: str, record: dict, label: str) -> None:
    """The dataset's per-class IoU chart. matplotlib is imported here, when the first dataset
    is done, not at start-up (measured: +0.5 s before the first image on 2 CPU cores)."""
    from .charts import save_iou_chart

    save_iou_chart(out_dir, record, label)


def run_dataset(
    cfg, name: str, out_dir: str, num_images: int, options: RunOptions
) -> tuple[dict, dict]:
    """Evaluate one dataset with mmengine's Runner; returns (metrics, facts of the loaded
    model, e.g. whether LongCLIP weights were found)."""
    cfg.work_dir = os.path.join(out_dir, "logs")
    # unique per run: mmengine keys its logger/visualizer instances by this name
    cfg.experiment_name = f"{name}_{datetime.now().strftime('%Y%m%d_%H%M%S_%f')}"
    if options.pred_dir:
        cfg.test_evaluator.pred_dir = os.path.join(options.pred_dir, name)
    if options.show_dir:  # mmseg's hook, our drawing (with a legend), one per image
        cfg.visualizer = dict(
            type="OVSSVisualizer",
            vis_backends=[
                dict(type="LocalVisBackend", save_dir=os.path.join(options.show_dir, name))
            ],
            alpha=0.6,
        )
        cfg.default_hooks.visualization = dict(type="SegVisualizationHook", draw=True, interval=1)
    elif cfg.get("visualizer") is None:  # nothing to draw: no matplotlib canvas at start-up
        cfg.visualizer = dict(type="LogOnlyVisualizer")
    shard = -(-num_images // get_world_size())  # images of this process (sampler padding)
    progress = OVSSProgressHook(name=name, total=shard)
    cfg.custom_hooks = []
    cfg.model_wrapper_cfg = dict(type="OVSSInferenceWrapper")  # used by distributed runs
    try:
        with stage("runner set-up (incl. model, text)"):
            runner = Runner.from_cfg(cfg)
        runner.register_hook(progress, priority="VERY_LOW")
        for hook in options.hooks:
            runner.register_hook(hook)
        with stage("evaluation (runner.test)"):
            metrics = runner.test()
    finally:
        progress.close()
    metrics = {k.split("/")[-1]: v for k, v in metrics.items()}
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    return metrics, dict(model.model.loaded)
