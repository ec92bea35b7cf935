"""The run loop: check the data, evaluate each dataset with mmengine's Runner, save, resume.

Takes the resolved per-dataset configs (``ovss.config``). Results go to the run's own folder
(``ovss.run_folder``: one per distinct set of settings, so runs never replace each other);
each finished dataset is saved atomically the moment it finishes, so an interrupted run loses
at most the dataset in progress, its summary says how much it covers, and ``--resume``
computes only the rest.
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

from foundation.datasets import display_name
from foundation.profile import stage
from foundation.zoo import prefetch_source_fingerprint, source_fingerprint

from . import results, visualize
from .config import fingerprint_index, model_source
from .data_check import check_data
from .progress import OVSSProgressHook, QuietLogRunner
from .run_folder import RUN_LINE, old_layout_folder, run_folder
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


@dataclass(frozen=True)
class RunResult:
    """The run's folder, every finished record in it, and the datasets this call asked for."""

    folder: str
    records: list[dict]
    requested: list[str]


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


def evaluate(cfgs: dict, options: RunOptions) -> RunResult:
    """Evaluate every dataset config in order into the run's folder.

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
    folder = run_folder(options.work_dir, cfgs, fingerprint, stack)
    old_folder = old_layout_folder(options.work_dir, first)
    label = f"{first.model.vit_type} {first.model.model_name}"
    requested = list(cfgs)
    planned = summary_settings([{"dataset": n, "settings": s} for n, s in wanted.items()])
    say(settings_line(planned), flush=True)
    say(f"{RUN_LINE}{folder}", flush=True)

    finished: dict[str, dict] = results.load_folder(folder) if main else {}

    def save_summary() -> None:
        records = [finished[d] for d in results.table_order(list(finished))]
        results.write_summary(folder, label, summary_settings(records), records, requested)

    try:
        for name, cfg in cfgs.items():
            shown = display_name(name)
            earlier = earlier_record(folder, old_folder, name, wanted[name], options.resume)
            if earlier is not None:
                record, where = earlier
                finished[name] = record
                if where == folder:
                    say(f"{shown}: finished earlier with the same settings, skipped (--resume)")
                else:
                    say(
                        f"{shown}: finished earlier with the same settings in {where} (copied "
                        "into the run folder, --resume)"
                    )
                if main:
                    if where != folder:
                        results.save_dataset(folder, record)
                    if not os.path.isfile(results.chart_path(folder, name)):
                        save_iou_chart(folder, record, label)
                    save_summary()
                continue
            start = time.time()
            metrics, loaded = run_dataset(cfg, name, folder, num_images[name], options)
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
            finished[name] = record
            if main:
                results.save_dataset(folder, record)
                save_iou_chart(folder, record, label)
                save_summary()
            say(
                f"{shown}: mIoU {metrics['mIoU']:.4f} {results.on_images(record)} "
                f"({results.describe_post(record)})",
                flush=True,
            )
    except KeyboardInterrupt:
        done = sum(name in finished for name in requested)
        say(f"({done} of {len(requested)} requested datasets finished and saved)", flush=True)
        say(f"{RUN_LINE}{folder}", flush=True)
        raise

    records = [finished[d] for d in results.table_order(list(finished))]
    say()
    final = summary_settings(records)  # the long line was printed at the start
    added = settings_line({k: v for k, v in final.items() if planned.get(k) != v})
    added = added.removeprefix("settings: ")
    say(f"settings: as printed at the start{', and ' + added if added else ''}")
    say(results.text_table(label, records, requested))
    say(f"results: {os.path.join(folder, results.TOTAL_FILE)} (+ per-class csv/json/md)")
    if options.show_dir:
        say(visualize.drawings_line(options.show_dir, requested))
    say(f"{RUN_LINE}{folder}", flush=True)
    return RunResult(folder, records, requested)


def save_iou_chart(out_dir: str, record: dict, label: str) -> None:
    """The dataset's per-class IoU chart (``ovss.charts``)."""
    # lazy: matplotlib is imported when the first dataset is done, not at start-up
    # (measured: +0.5 s before the first image on 2 CPU cores)
    from .charts import save_iou_chart as save

    save(out_dir, record, label)


def earlier_record(
    folder: str, old_folder: str, name: str, settings: dict, resume: bool
) -> tuple[dict, str] | None:
    """With ``--resume``: the dataset's record finished with the same settings, from the run
    folder or else from the layout before run folders, and where it was found."""
    if not resume:
        return None
    for where in (folder, old_folder):
        old = results.load_dataset(where, name)
        if old is not None and comparable(old["settings"]) == comparable(settings):
            return old, where
    return None


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
    if options.show_dir:  # <show-dir>/<dataset>/<image stem>.png, nothing else there
        cfg.default_hooks.visualization = visualize.drawing_hook(
            options.show_dir, name, cfg.get("show_mode")
        )
    if cfg.get("visualizer") is None:  # draws nothing: no matplotlib canvas at start-up
        cfg.visualizer = dict(type="LogOnlyVisualizer")
    shard = -(-num_images // get_world_size())  # images of this process (sampler padding)
    progress = OVSSProgressHook(name=display_name(name), total=shard)
    cfg.custom_hooks = []
    cfg.model_wrapper_cfg = dict(type="OVSSInferenceWrapper")  # used by distributed runs
    try:
        with stage("runner set-up (incl. model, text)"):
            runner = QuietLogRunner.from_cfg(cfg)
        runner.register_hook(progress, priority="VERY_LOW")
        for hook in options.hooks:
            runner.register_hook(hook)
        with stage("evaluation (runner.test)"):
            metrics = runner.test()
    finally:
        progress.close()
    metrics = {k.split("/")[-1]: v for k, v in metrics.items()}
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    return metrics, dict(model.loaded)
