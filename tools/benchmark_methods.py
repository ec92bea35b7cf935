"""``tools/benchmark.py methods``: windows/s and peak memory of each dense method relative to
SegEarth on the same backbone, each row in a fresh process (see ``tools/benchmark.py``)."""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg)

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import open_clip
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from bench_cases import ATTENTION_CASES, CASES, METHOD_CASES, REFERENCE, Case
from bench_common import random_overrides, random_weights, sync_for
from bench_memory import memory_now, peak_memory, reset_peak
from customized_segmentor import CustomizedSegmentation
from dense.proxies import create_proxy
from dense.simfeatup import SimFeatUp
from foundation.errors import UserError
from foundation.files import write_atomic
from foundation.model_configs import vision_shape
from foundation.proxies import PROXIES
from ovss.config import BASE_CONFIG, hide_gpus_for_cpu_runs, load_config
from ovss.evaluate import prepare
from ovss.flags import config_overrides

BENCHMARK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmark.py")


def selected_cases(args: argparse.Namespace) -> dict[str, Case]:
    """The rows to measure, SegEarth (the reference) first, in the table's order."""
    wanted = set(args.cases or METHOD_CASES) | {REFERENCE}
    if args.all_attentions:
        wanted |= set(ATTENTION_CASES)
    return {label: case for label, case in CASES.items() if label in wanted}


def upsampler_shape(args: argparse.Namespace) -> tuple[int, bool]:
    """(feature size of the random SimFeatUp file, whether it must be forced): its published
    weights are for patch-16, 512-d CLIPs (``--force-upsampler`` elsewhere)."""
    shape = vision_shape(args.vit_type or "ViT-B-16", args.model_config)
    dim = shape["embed_dim"] if shape else 512
    published = shape is not None and (shape["patch_size"], dim) == (16, 512)
    return dim, bool(args.force_upsampler) or not published


def case_overrides(args: argparse.Namespace, case: Case, folder: str) -> dict:
    """The config keys of one row: the flags, the random files of ``folder``, its method."""
    overrides = {**config_overrides(args), **random_overrides(args, folder)}
    overrides.pop("model.upsampler", None)
    overrides.pop("model.force_upsampler", None)
    overrides |= {
        "model.name_path": os.path.abspath(args.classes),
        "model.text_cache_dir": os.path.join(folder, "text_cache"),
        "model.model_type": case.model_type,
        "model.window_batch": args.window_batch,
    }
    if case.proxy:
        overrides["model.method_options.proxy"] = case.proxy
        overrides["model.method_options.proxy_pretrained"] = proxy_file(folder, case.proxy)
    if case.upsampler:
        overrides["model.upsampler"] = args.upsampler or os.path.join(folder, "simfeatup.ckpt")
        overrides["model.force_upsampler"] = upsampler_shape(args)[1]
    return overrides


def proxy_file(folder: str, name: str) -> str:
    return os.path.join(folder, f"proxy_{name}.pth")


def random_proxy(name: str, path: str) -> None:
    """A proxy's weights in timm's layout, random (normal 0.02; norms 1, biases 0; DINOv2's
    LayerScale 1e-5 as timm initialises it), loaded by the method through its strict path."""
    torch.manual_seed(0)
    state = {}
    for key, meta in create_proxy(PROXIES[name]).state_dict().items():
        if key.endswith(".gamma"):
            state[key] = torch.full(meta.shape, 1e-5)
        elif "norm" in key:
            state[key] = (
                torch.ones(meta.shape) if key.endswith("weight") else torch.zeros(meta.shape)
            )
        elif key.endswith("bias"):
            state[key] = torch.zeros(meta.shape)
        else:
            state[key] = torch.randn(meta.shape) * 0.02
    torch.save(state, path)


def random_simfeatup(dim: int, path: str) -> None:
    """A seeded SimFeatUp in the published PyTorch-Lightning layout (``upsampler.`` keys)."""
    torch.manual_seed(0)
    weights = {f"upsampler.{k}": v for k, v in SimFeatUp(dim).state_dict().items()}
    torch.save({"epoch": 0, "pytorch-lightning_version": "1.9.4", "state_dict": weights}, path)


def prepare_files(args: argparse.Namespace, cases: dict[str, Case], folder: str) -> None:
    """Every file the rows load (random CLIP, proxies, upsampler) and the text features in
    the disk cache, so that no row pays for them."""
    for path in args.model_config:
        open_clip.add_model_config(path)
    random_weights(args, folder)
    for name in sorted({c.proxy for c in cases.values() if c.proxy}):
        random_proxy(name, proxy_file(folder, name))
    if any(c.upsampler for c in cases.values()) and not args.upsampler:
        random_simfeatup(upsampler_shape(args)[0], os.path.join(folder, "simfeatup.ckpt"))
    cfg = load_config(BASE_CONFIG, case_overrides(args, CASES[REFERENCE], folder), args.cfg_options)
    hide_gpus_for_cpu_runs(cfg)
    prepare({"benchmark": cfg})
    MODELS.build(cfg.model)  # fills the text cache
    if cfg.model.device.startswith("cuda"):
        torch.cuda.empty_cache()


def smooth_windows(count: int, size: int, device: str, seed: int = 0) -> Tensor:
    """Normalised-looking windows with structure (a coarse random grid, bilinear)."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randn(count, 3, max(size // 16, 2), max(size // 16, 2), generator=gen)
    return F.interpolate(coarse, size=(size, size), mode="bilinear").to(device)


def measure_case(args: argparse.Namespace) -> dict:
    """One row in this process: build the segmentor, one warm-up call and ``repeats`` timed
    calls of ``window_logits`` on ``windows`` windows; the peak memory of the timed calls."""
    case = CASES[args.child]
    cfg = load_config(BASE_CONFIG, case_overrides(args, case, args.files), args.cfg_options)
    hide_gpus_for_cpu_runs(cfg)
    prepare({"benchmark": cfg})
    device = cfg.model.device
    seg = MODELS.build(cfg.model).to(device).eval()
    windows = smooth_windows(args.windows, args.window_size, device)
    sync = sync_for(device)
    with torch.no_grad():
        touch_weights(seg)
        before = memory_now(device)
        seg.window_logits(windows)  # warm-up
        sync()
        whole_process = not reset_peak(device)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            seg.window_logits(windows)
            sync()
            times.append(time.perf_counter() - start)
        peak = peak_memory(device)
    return {
        "case": args.child,
        "pid": os.getpid(),
        "model": f"{cfg.model.model_name} {cfg.model.vit_type}",
        "model_type": case.model_type,
        "options": dict(cfg.model.method_options),
        "upsampler": bool(seg.upsampler is not None),
        "seconds": times,
        "windows_per_s": args.windows / statistics.median(times),
        "best_windows_per_s": args.windows / min(times),
        "load_after": os.getloadavg()[0],
        "peak_mb": peak / 2**20,
        "working_mb": (peak - before) / 2**20,
        "peak_scope": "whole process" if whole_process else "timed calls",
        "device": device,
        "device_name": device_name(device),
        "precision": cfg.model.precision,
        "queries": len(seg.queries),
        "facts": seg.method.facts(),
    }


def touch_weights(seg: CustomizedSegmentation) -> None:
    """Read every weight once, so that weights loaded memory-mapped (a proxy's) are resident
    before the first call and count as the model's memory, not as the calls'."""
    owners = [seg, *(v for v in vars(seg.method).values() if isinstance(v, torch.nn.Module))]
    for module in owners:
        for tensor in [*module.parameters(), *module.buffers()]:
            tensor.sum()


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"{os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads"


def run_child(argv: list[str], label: str, folder: str) -> dict:
    """One row in a fresh process (its peak memory is its own); its one-line error (exit 2)
    is re-raised as this row's, anything else ends the benchmark with its traceback."""
    command = [sys.executable, BENCHMARK, *argv, "--child", label]
    done = subprocess.run(command + ["--files", folder], capture_output=True, text=True)
    if done.returncode == 2:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no message"
        raise UserError(f"row {label}: {last.removeprefix('error: ')}")
    if done.returncode != 0:
        sys.exit(f"benchmark row {label} failed:\n{done.stderr.strip()[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def methods_table(results: dict[str, dict]) -> list[str]:
    """The rows with their ratios to SegEarth's (speed: windows/s; memory: MiB)."""
    ref = results[REFERENCE]
    columns = (("windows/s", "windows_per_s", ".2f"), ("best", "best_windows_per_s", ".2f"))
    columns += (("peak MiB", "peak_mb", ".0f"), ("working MiB", "working_mb", ".0f"))
    head = "".join(f" {name:>11} {'x ' + REFERENCE:>10}" for name, _, _ in columns)
    lines = [f"{'method':<26}{head}  load  s/call (timed calls)"]
    for label, row in results.items():
        cells = "".join(
            f" {row[key]:>11{form}} {row[key] / max(ref[key], 1e-9):>10.2f}"
            for _, key, form in columns
        )
        times = " ".join(f"{t:.3f}" for t in row["seconds"])
        lines.append(f"{label:<26}{cells}  {row['load_after']:>4.1f}  {times}")
    return lines


def methods_notes(args: argparse.Namespace, results: dict[str, dict], loads: list) -> list[str]:
    """What the table's columns measured, the machine's load, the extension if any."""
    ref = results[REFERENCE]
    cuda = ref["device"].startswith("cuda")
    scope = "during the timed calls"
    if ref["peak_scope"] == "whole process":
        scope = "over the whole process (loading included: the kernel refused a reset)"
    notes = [
        "windows/s: from the median timed call; best: from the fastest (the least disturbed "
        "by other processes); load: 1-minute load average when the row ended",
        "load average (1, 5, 15 min) before / after the rows: "
        + " / ".join(" ".join(f"{x:.2f}" for x in load) for load in loads),
        f"peak MiB: {'CUDA max_memory_allocated' if cuda else 'resident-set high-water mark'} "
        f"{scope}, weights included; working MiB: that peak minus what was in use before the "
        "first call",
    ]
    if any(r["upsampler"] for r in results.values()) and upsampler_shape(args)[1]:
        notes.append("SimFeatUp forced onto a model it was not trained for (an extension)")
    return notes


def methods(args: argparse.Namespace, argv: list[str]) -> dict:
    """Every row in its own process, then the table; returns what it printed, as data."""
    if args.child:
        print(json.dumps(measure_case(args)))
        return {}
    cases = selected_cases(args)
    with tempfile.TemporaryDirectory(prefix="ovss-bench-") as folder:
        started = time.perf_counter()
        prepare_files(args, cases, folder)
        loads = [os.getloadavg()]
        results = {label: run_child(argv, label, folder) for label in cases}
        again = run_child(argv, REFERENCE, folder)  # did the machine's speed change?
        loads.append(os.getloadavg())
    ref = results[REFERENCE]
    weights = "random weights" if random_overrides(args, "") else "given weights"
    setting = (
        f"methods: {ref['model']} ({weights}), {ref['precision']} on "
        f"{ref['device']} ({ref['device_name']}); {args.windows} window(s) {args.window_size}x"
        f"{args.window_size} per call, window_batch {args.window_batch}, 1 warm-up + "
        f"{args.repeats} timed calls (median); {ref['queries']} queries ({args.classes}); "
        f"one fresh process per row; {time.perf_counter() - started:.0f} s in all"
    )
    notes = methods_notes(args, results, loads)
    drift = again["windows_per_s"] / ref["windows_per_s"]
    notes.append(
        f"{REFERENCE} measured again after the rows: {again['windows_per_s']:.2f} windows/s "
        f"({drift:.2f}x the first)"
        + ("" if 0.9 <= drift <= 1.1 else ": the machine's speed changed, run again")
    )
    print("\n".join([setting, *methods_table(results), *notes]))
    report = {"settings": setting, "notes": notes, "rows": results, "again": again, "argv": argv}
    if args.json:
        write_atomic(args.json, json.dumps(report, indent=1) + "\n")
    return report
