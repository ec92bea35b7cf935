"""Speed ratios of RS-OVSS's paths against their plain alternatives, measured in one run.

    .venv/bin/python tools/benchmark.py --vit-type ViT-B-16 --device cpu

1. sliding window: all windows of an image as one batch vs one window at a time;
2. text features: encoding up to the end-of-text token vs all context positions, and the
   cache (memory, disk) vs encoding the 80-template ensemble again.
Random weights (or --pretrained) and a synthetic 448x448 image; nothing is downloaded.
Results are ratios of medians from the same run; absolute times depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mmcv_compat  # noqa: E402,F401  (before mmseg)

import open_clip  # noqa: E402
import torch  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402

from customized_segmentor import slide_windows  # noqa: E402
from model_families import clear_memory_cache, encode_queries, query_features  # noqa: E402
from ovss.config import BASE_CONFIG, hide_gpus_for_cpu_runs, load_config  # noqa: E402
from ovss.evaluate import prepare  # noqa: E402
from ovss.flags import add_model_flags, config_overrides  # noqa: E402


def median_time(fn, repeats: int, sync) -> float:
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_flags(p)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--size", type=int, nargs=2, default=(448, 448), metavar=("H", "W"))
    args = p.parse_args()

    tmp = tempfile.mkdtemp()
    overrides = config_overrides(args)
    if args.pretrained is None and args.method is None:  # random weights, nothing downloaded
        vit_type = args.vit_type or "ViT-B-16"
        ckpt = os.path.join(tmp, "random.pt")
        torch.save(open_clip.create_model(vit_type).state_dict(), ckpt)
        overrides.update({"model.model_name": "CLIP", "model.pretrained": ckpt})
    cls_file = os.path.join(tmp, "cls.txt")
    with open(cls_file, "w") as f:
        f.write("background\nbuilding,roof,house\nroad\ntree,forest\nwater\ncar\nclutter\n")
    overrides.update({"model.name_path": cls_file, "model.text_cache_dir": os.path.join(tmp, "c")})
    cfg = load_config(BASE_CONFIG, overrides, args.cfg_options)
    hide_gpus_for_cpu_runs(cfg)
    prepare({"benchmark": cfg})
    device = cfg.model.device
    seg = MODELS.build(cfg.model).to(device)
    model = seg.model
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
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
    cache = os.path.join(tmp, "cache")
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


if __name__ == "__main__":
    main()
