"""Cost of the SimFeatUp upsampler per 224 window, next to a ViT-B/16 forward of the same windows.

    .venv/bin/python tools/bench_simfeatup.py                          # CPU fp32 (+ CUDA if any)
    .venv/bin/python tools/bench_simfeatup.py --device cuda --dtype float16 --batch-sizes 1 16

For each device and batch size it times the upsampler (512-d features 14x14 -> 224x224, guided
by the 224 window) and a randomly initialised open_clip ViT-B-16 image tower on the same
windows, and reports seconds per window (the best of the timed calls, the one least disturbed
by other processes, and their median), windows/s (from the best), the upsampler/ViT ratio of
the best times, and peak memory. Each (model, batch) case runs in its own child process, so
that its peak is its own: on a CPU, the peak resident set during the timed calls (VmHWM,
reset through /proc/self/clear_refs; where that is not allowed, the peak of the warm-up call)
minus the resident set before the first call; on CUDA, torch.cuda.max_memory_allocated minus
what was allocated before. Random weights; nothing is downloaded. Absolute times depend on
the machine and on what else runs on it; the ratio is the number to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("upsampler", "vit")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: the CPU, and CUDA too when available (default)",
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--size", type=int, default=224, help="window side in px (default 224)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per case (median)")
    parser.add_argument(
        "--dtype",
        choices=("float32", "float16", "bfloat16"),
        default="float32",
        help="on CUDA (the CPU always runs float32); SegEarth-OV runs float16",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--child", nargs=3, metavar=("MODEL", "BATCH", "DEVICE"), help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(run_case(args, args.child[0], int(args.child[1]), args.child[2])))
        return
    for device in devices(args.device):
        dtype = "float32" if device == "cpu" else args.dtype
        print(f"\n{device} {dtype}, {args.size}x{args.size} windows, {describe(device, args)}")
        print(
            f"{'batch':>5}  {'model':<9}  {'s/window':>9}  {'(median)':>9}  {'windows/s':>9}  "
            f"{'peak MiB':>9}"
        )
        for batch in args.batch_sizes:
            results = {model: child(args, model, batch, device) for model in MODELS}
            for model, result in results.items():
                best, median = result["best"] / batch, result["median"] / batch
                print(
                    f"{batch:>5}  {model:<9}  {best:>9.4f}  {median:>9.4f}  {1 / best:>9.2f}  "
                    f"{result['peak_mib']:>9.0f}"
                )
            ratio = results["upsampler"]["best"] / results["vit"]["best"]
            print(f"{batch:>5}  upsampler / ViT time: {ratio:.2f}")


def devices(choice: str) -> list[str]:
    if choice != "auto":
        return [choice]
    # lazy: torch/open_clip only in the measuring child (--help and the parent stay light)
    import torch

    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def describe(device: str, args: argparse.Namespace) -> str:
    # lazy: torch/open_clip only in the measuring child (--help and the parent stay light)
    import torch

    if device == "cuda":
        return torch.cuda.get_device_name()
    threads = args.threads or torch.get_num_threads()
    return f"{os.cpu_count()} CPUs, {threads} torch threads"


def child(args: argparse.Namespace, model: str, batch: int, device: str) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", model, str(batch), device]
    command += ["--size", str(args.size), "--repeats", str(args.repeats), "--dtype", args.dtype]
    if args.threads:
        command += ["--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"error: {model} batch {batch} on {device} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_case(args: argparse.Namespace, model: str, batch: int, device: str) -> dict:
    """Best and median seconds of one call on ``batch`` windows, and its peak memory (MiB)."""
    # lazy: torch/open_clip only in the measuring child (--help and the parent stay light)
    import torch

    sys.path.insert(0, ROOT)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype) if device == "cuda" else torch.float32
    torch.manual_seed(0)
    image = torch.randn(batch, 3, args.size, args.size, device=device, dtype=dtype)
    if model == "upsampler":
        # lazy: torch/open_clip only in the measuring child (--help and the parent stay light)
        from dense.simfeatup import SimFeatUp

        net = SimFeatUp().to(device)
        grid = args.size // 16
        features = torch.randn(batch, 512, grid, grid, device=device, dtype=dtype)

        def call():
            return net(features, image)
    else:
        # lazy: torch/open_clip only in the measuring child (--help and the parent stay light)
        import open_clip

        net = open_clip.create_model("ViT-B-16").visual.to(device, dtype).eval()

        def call():
            return net(image)

    # lazy: torch only in the measuring child (--help and the parent stay light)
    from bench_memory import memory_now, peak_memory, reset_peak

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    with torch.inference_mode():
        before = memory_now(device)
        call()  # warm-up; its peak is the fallback measure on a CPU
        sync()
        first_peak = peak_memory(device)
        reset = reset_peak(device)
        times = []
        for _ in range(args.repeats):
            sync()
            start = time.perf_counter()
            call()
            sync()
            times.append(time.perf_counter() - start)
        peak = peak_memory(device) if reset else first_peak
    peak_mib = (peak - before) / 2**20
    return {"best": min(times), "median": statistics.median(times), "peak_mib": peak_mib}


if __name__ == "__main__":
    main()
