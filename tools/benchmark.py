"""Speed of RS-OVSS's paths, as ratios measured in one run (random weights, nothing downloaded).

    .venv/bin/python tools/benchmark.py end-to-end --device cuda            # 800 x 896x896
    .venv/bin/python tools/benchmark.py end-to-end --device cpu --num-images 8 --size 448
    .venv/bin/python tools/benchmark.py components --vit-type ViT-B-16 --device cpu
    .venv/bin/python tools/benchmark.py methods --device cpu --all-attentions

end-to-end: generates N images of size S in one dataset layout (default iSAID, 16 classes)
and times the CLI's own path (config resolution, Runner, loader, segmentor, metric) in one
process: time to the first evaluated image with its breakdown, steady-state images/s,
achieved TFLOP/s of the image tower next to a matmul rate measured in the same run, peak
memory, and the ratio against the one-window-at-a-time mode (batch 1, window_batch 1).

components: all windows of an image in one batch vs one at a time; text encoding up to the
end-of-text token vs all positions; the text cache (memory, disk) vs encoding again.

methods: windows/s and peak memory of each dense method (SC-CLIP, ProxyCLIP with each proxy,
ResCLIP, SegEarth + the SimFeatUp upsampler; with --all-attentions the other last-layer
attentions) relative to SegEarth on the same backbone, each in a fresh process so that its
peak memory is its own, through the segmentor's window path (``window_logits``: windows
batched ``--window-batch`` at a time; with the upsampler ``pixel_logits``).
Absolute times depend on the machine; compare the ratios.
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tools")]

from bench_cases import CASES, METHOD_CASES, PER_ROW_FLAGS, REFERENCE  # noqa: E402
from ovss.flags import add_model_flags, add_protocol_flag, config_overrides  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    e2e = add_model_flags(sub.add_parser("end-to-end", help="the CLI path on generated data"))
    e2e.add_argument("--num-images", type=int, default=800, help="generated images")
    e2e.add_argument("--size", type=int, default=896, help="side of the square images")
    e2e.add_argument("--layout", default="iSAIDDataset", help="dataset type (16 classes)")
    e2e.add_argument(
        "--baseline-images", type=int, default=50, help="images for the one-at-a-time mode"
    )
    add_protocol_flag(e2e)
    parts = add_model_flags(sub.add_parser("components", help="window batching, text cache"))
    parts.add_argument("--repeats", type=int, default=3, help="timings per measurement (median)")
    parts.add_argument(
        "--size", type=int, nargs=2, default=(448, 448), metavar=("H", "W"), help="image size"
    )
    rows = add_model_flags(sub.add_parser("methods", help="each dense method vs SegEarth"))
    rows.add_argument("--windows", type=int, default=8, help="windows per timed call")
    rows.add_argument("--window-size", type=int, default=224, help="side of the windows")
    rows.add_argument("--window-batch", type=int, default=8, help="windows per forward pass")
    rows.add_argument("--repeats", type=int, default=3, help="timed calls (median), + 1 warm-up")
    rows.add_argument(
        "--all-attentions", action="store_true", help="also the other eight attentions"
    )
    rows.add_argument(
        "--cases",
        nargs="+",
        choices=tuple(CASES),
        metavar="ROW",
        help=f"rows to measure ({REFERENCE} always; default: {' '.join(METHOD_CASES)})",
    )
    rows.add_argument(
        "--classes",
        default=os.path.join("configs", "cls_openearthmap.txt"),
        help="class file (its queries set the text side's share of the cost)",
    )
    rows.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    rows.add_argument("--child", choices=tuple(CASES), help=argparse.SUPPRESS)
    rows.add_argument("--files", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.command == "methods":
        given = [f"--{f.replace('_', '-')}" for f in PER_ROW_FLAGS if getattr(args, f)]
        if given:
            p.error(f"methods: {', '.join(given)} is set per row; choose rows with --cases")
        if min(args.windows, args.window_batch, args.repeats) < 1:
            p.error("methods: --windows, --window-batch and --repeats must be at least 1")
        given = args.classes  # a path typed from here, else the repository's
        if not os.path.isfile(given):
            args.classes = os.path.join(ROOT, given)
        if not os.path.isfile(args.classes):
            p.error(f"methods: --classes {given}: no such file here or in the repository")
    return args


if __name__ == "__main__":  # --help and flag errors answer before the heavy imports below
    parse_args()

# heavy: torch, mmseg, open_clip (~10 s on 2 CPU cores)

import mmcv_compat  # noqa: E402,F401  (before mmseg)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import benchmark_methods  # noqa: E402
from bench_common import median_time, random_weights, sync_for  # noqa: E402
from customized_segmentor import CustomizedSegmentation, slide_windows  # noqa: E402
from foundation import profile  # noqa: E402
from foundation.builders import DTYPES  # noqa: E402
from foundation.errors import UserError  # noqa: E402
from model_families import clear_memory_cache, encode_queries, query_features  # noqa: E402
from ovss.config import (  # noqa: E402
    BASE_CONFIG,
    dataset_configs,
    hide_gpus_for_cpu_runs,
    load_config,
)
from ovss.data_check import dataset_layout  # noqa: E402
from ovss.evaluate import RunOptions, evaluate, prepare  # noqa: E402


# ----------------------------------------------------------------------------- end-to-end
def write_dataset(cfg, root: str, count: int, size: int, seed: int = 0) -> None:
    """``count`` smooth random images with random labels in the dataset config's layout."""
    layout = dataset_layout(cfg.test_dataloader.dataset)
    rng = np.random.default_rng(seed)
    img_dir = os.path.join(root, os.path.relpath(layout.img_dir, layout.root))
    seg_dir = os.path.join(root, os.path.relpath(layout.seg_dir, layout.root))
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(seg_dir, exist_ok=True)
    high = len(layout.classes) + (1 if layout.reduce_zero_label else 0)
    for i in range(count):
        small = rng.integers(0, 256, (size // 32, size // 32, 3), dtype=np.uint8)
        image = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
        label = cv2.resize(
            rng.integers(0, high, (size // 64, size // 64), dtype=np.uint8),
            (size, size),
            interpolation=cv2.INTER_NEAREST,
        )
        cv2.imwrite(os.path.join(img_dir, f"b{i:05d}{layout.img_suffix}"), image)
        cv2.imwrite(os.path.join(seg_dir, f"b{i:05d}{layout.seg_suffix}"), label)


class Timeline(Hook):
    """Start and end of every test iteration (images/s once the first batches are done)."""

    priority = "LOWEST"

    def __init__(self, sync) -> None:
        self.sync, self.starts, self.times, self.counts = sync, [], [], []

    def before_test_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.starts.append(time.perf_counter())

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.sync()
        self.times.append(time.perf_counter())
        self.counts.append(len(outputs))

    def steady_rate(self) -> float:
        """Images/s over the second half of the iterations (start-up excluded), from the
        start of the first of them (so the loader's wait counts) to the end of the last."""
        half = len(self.times) // 2
        seconds = self.times[-1] - self.starts[half]
        return sum(self.counts[half:]) / seconds


def run_once(cfg, name: str, work_dir: str, sync) -> tuple[Timeline, float, float]:
    """One evaluation through the CLI path; returns (timeline, tower seconds, tower FLOPs)."""
    timeline = Timeline(sync)
    cfg.custom_hooks = []
    tower = {"seconds": 0.0, "windows": 0}
    original = CustomizedSegmentation.grid_logits

    def timed(self, inputs):
        sync()
        start = time.perf_counter()
        out = original(self, inputs)
        sync()
        tower["seconds"] += time.perf_counter() - start
        tower["windows"] += len(inputs)
        return out

    CustomizedSegmentation.grid_logits = timed
    try:
        evaluate({name: cfg}, RunOptions(work_dir=work_dir, hooks=(timeline,)))
    finally:
        CustomizedSegmentation.grid_logits = original
    return timeline, tower["seconds"], tower["windows"]


def window_flops(cfg) -> float:
    """FLOPs of one window through the image tower (counted by torch, not estimated)."""
    seg = MODELS.build(cfg.model)
    size = seg.model.image_size
    x = torch.zeros(1, 3, *size, device=cfg.model.device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        seg.grid_logits(x)
    return float(counter.get_total_flops())


def matmul_rate(device: str, dtype: torch.dtype, sync, n: int = 2048) -> float:
    """Dense matmul TFLOP/s in the run's precision on this device (the same run's yardstick)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    seconds = median_time(lambda: a @ b, 5, sync)
    return 2 * n**3 / seconds / 1e12


def peak_memory(device: str) -> str:
    if device.startswith("cuda"):
        return f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB (CUDA, allocated)"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return f"{rss:.2f} GiB (process RSS)"


def end_to_end(args: argparse.Namespace) -> None:
    imports = time.perf_counter() - profile.START  # process start -> here: the imports
    folder = tempfile.mkdtemp(prefix="ovss-bench-")
    overrides = {**config_overrides(args), **random_weights(args, folder)}
    overrides["test_dataloader.dataset.data_root"] = os.path.join(folder, "data")
    overrides["model.text_cache_dir"] = os.path.join(folder, "text_cache")
    configs = dataset_configs()
    cfg = load_config(configs[args.layout], overrides, args.cfg_options)
    hide_gpus_for_cpu_runs(cfg)
    prepare({args.layout: cfg})
    write_dataset(cfg, overrides["test_dataloader.dataset.data_root"], args.num_images, args.size)
    device = cfg.model.device
    sync = sync_for(device)

    started = time.perf_counter()
    profile.reset(skip=started - profile.START - imports)
    timeline, tower_s, windows = run_once(copy.deepcopy(cfg), args.layout, folder, sync)
    first_image = timeline.times[0] - profile.START  # imports + run, data generation left out
    breakdown = profile.report()
    rate = timeline.steady_rate()
    flops = window_flops(cfg)
    peak = matmul_rate(device, DTYPES[cfg.model.precision], sync)
    achieved = flops * windows / tower_s / 1e12

    slow = copy.deepcopy(cfg)
    slow.model.window_batch = 1
    slow.test_dataloader.batch_size = 1
    subset = min(args.num_images, args.baseline_images)
    slow_root = os.path.join(folder, "data_subset")
    write_dataset(slow, slow_root, subset, args.size)
    slow.test_dataloader.dataset.data_root = slow_root
    slow_timeline, _, _ = run_once(slow, args.layout, os.path.join(folder, "slow"), sync)
    slow_rate = slow_timeline.steady_rate()

    m = cfg.model
    print()
    print(
        f"end-to-end: {args.num_images} images {args.size}x{args.size}, {args.layout}, "
        f"{m.model_name} {m.vit_type}, {m.model_type}, {m.precision} on {device}, "
        f"batch {cfg.test_dataloader.batch_size}, window_batch {m.window_batch}, "
        f"workers {cfg.test_dataloader.num_workers}"
    )
    print(
        f"time to first evaluated batch: {first_image:.2f} s from process start "
        f"(imports {imports:.2f} s, then the run; data generation excluded)"
    )
    print(breakdown)
    print(f"steady state: {rate:.2f} images/s ({args.num_images / rate:.1f} s for the set)")
    print(
        f"image tower: {flops / 1e9:.1f} GFLOP/window, {windows} windows in {tower_s:.2f} s "
        f"-> {achieved:.3f} TFLOP/s; matmul {peak:.3f} TFLOP/s ({achieved / peak:.0%} of it)"
    )
    print(f"peak memory: {peak_memory(device)}")
    print(
        f"one-window-at-a-time mode ({subset} images): {slow_rate:.2f} images/s -> "
        f"batched is {rate / slow_rate:.2f}x"
    )


# ----------------------------------------------------------------------------- components
def components(args: argparse.Namespace) -> None:
    folder = tempfile.mkdtemp(prefix="ovss-bench-")
    overrides = {**config_overrides(args), **random_weights(args, folder)}
    cls_file = os.path.join(folder, "cls.txt")
    with open(cls_file, "w") as f:
        f.write("background\nbuilding,roof,house\nroad\ntree,forest\nwater\ncar\nclutter\n")
    overrides["model.name_path"] = cls_file
    overrides["model.text_cache_dir"] = os.path.join(folder, "c")
    cfg = load_config(BASE_CONFIG, overrides, args.cfg_options)
    hide_gpus_for_cpu_runs(cfg)
    prepare({"benchmark": cfg})
    device = cfg.model.device
    seg = MODELS.build(cfg.model).to(device)
    model = seg.model
    sync = sync_for(device)
    image = torch.randn(1, 3, *args.size, device=device)
    boxes = slide_windows(*args.size, seg.slide_crop, seg.slide_stride)

    def one_at_a_time():
        for y1, y2, x1, x2 in boxes:
            seg.window_logits(image[:, :, y1:y2, x1:x2])

    with torch.no_grad():
        seg.slide_logits(image, args.size)  # warm-up
        batched = median_time(lambda: seg.slide_logits(image, args.size), args.repeats, sync)
        looped = median_time(one_at_a_time, args.repeats, sync)
    queries = seg.queries
    cold = median_time(lambda: encode_queries(model, queries), 1, sync)
    model.encode_text = lambda tokens: model.clip.encode_text(tokens)  # all positions
    try:
        full = median_time(lambda: encode_queries(model, queries), 1, sync)
    finally:
        del model.encode_text
    warm = median_time(lambda: query_features(model, queries), args.repeats, sync)
    cache = os.path.join(folder, "cache")
    query_features(model, queries, cache)
    disk = median_time(
        lambda: (clear_memory_cache(), query_features(model, queries, cache)), args.repeats, sync
    )
    print(
        f"device={device} precision={cfg.model.precision} vit_type={cfg.model.vit_type} "
        f"image={args.size[0]}x{args.size[1]} windows={len(boxes)} queries={len(queries)}"
    )
    print(
        f"sliding window: batched {batched * 1e3:.1f} ms vs one-at-a-time {looped * 1e3:.1f} ms"
        f" -> {looped / batched:.2f}x"
    )
    print(
        f"text encoding: up to end-of-text {cold * 1e3:.0f} ms vs all "
        f"{model.context_length} positions {full * 1e3:.0f} ms -> {full / cold:.2f}x"
    )
    print(
        f"text features: encode {cold * 1e3:.1f} ms vs memory cache {warm * 1e3:.3f} ms "
        f"({cold / warm:.0f}x) vs disk cache {disk * 1e3:.1f} ms ({cold / disk:.0f}x)"
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    try:
        if args.command == "methods":
            benchmark_methods.methods(args, argv)
        else:
            end_to_end(args) if args.command == "end-to-end" else components(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
