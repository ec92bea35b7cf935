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

import long_clip.text as text  # noqa: E402
from customized_segmentor import CustomizedSegmentation, slide_windows  # noqa: E402


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
    p.add_argument("--vit-type", default="ViT-B-16")
    p.add_argument("--pretrained", default=None, help="checkpoint (default: random weights)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--precision", default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--size", type=int, nargs=2, default=(448, 448), metavar=("H", "W"))
    args = p.parse_args()

    tmp = tempfile.mkdtemp()
    ckpt = args.pretrained
    if ckpt is None:
        ckpt = os.path.join(tmp, "random.pt")
        torch.save(open_clip.create_model(args.vit_type).state_dict(), ckpt)
    cls_file = os.path.join(tmp, "cls.txt")
    with open(cls_file, "w") as f:
        f.write("background\nbuilding,roof,house\nroad\ntree,forest\nwater\ncar\nclutter\n")
    seg = CustomizedSegmentation(
        name_path=cls_file,
        model_name="CLIP",
        vit_type=args.vit_type,
        pretrained=ckpt,
        device=args.device,
        precision=args.precision,
        text_cache_dir=os.path.join(tmp, "cache"),
    ).to(args.device)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    image = torch.randn(1, 3, *args.size, device=args.device)
    boxes = slide_windows(*args.size, seg.slide_crop, seg.slide_stride)

    def one_at_a_time():
        for y1, y2, x1, x2 in boxes:
            seg.window_logits(image[:, :, y1:y2, x1:x2])

    with torch.no_grad():
        seg.slide_logits(image, args.size)  # warm-up
        batched = median_time(lambda: seg.slide_logits(image, args.size), args.repeats, sync)
        looped = median_time(one_at_a_time, args.repeats, sync)
    queries = seg.queries
    cold = median_time(lambda: text.encode_queries(seg.clip, queries), 1, sync)
    upto_eot = text.encode_text_upto_eot
    text.encode_text_upto_eot = lambda model, tokens: model.encode_text(tokens)
    try:
        full = median_time(lambda: text.encode_queries(seg.clip, queries), 1, sync)
    finally:
        text.encode_text_upto_eot = upto_eot
    warm = median_time(lambda: text.query_features(seg.clip, queries), args.repeats, sync)
    text._MEMORY.clear()
    disk = median_time(
        lambda: (
            text._MEMORY.clear(),
            text.query_features(seg.clip, queries, os.path.join(tmp, "cache")),
        ),
        args.repeats,
        sync,
    )

    print(
        f"device={args.device} precision={seg.precision} vit_type={args.vit_type} "
        f"image={args.size[0]}x{args.size[1]} windows={len(boxes)} queries={len(queries)}"
    )
    print(
        f"sliding window: batched {batched * 1e3:.1f} ms vs one-at-a-time {looped * 1e3:.1f} ms"
        f" -> {looped / batched:.2f}x"
    )
    print(
        f"text encoding: up to end-of-text {cold * 1e3:.0f} ms vs all "
        f"{seg.clip.context_length} positions {full * 1e3:.0f} ms -> {full / cold:.2f}x"
    )
    print(
        f"text features: encode {cold * 1e3:.1f} ms vs memory cache {warm * 1e3:.3f} ms "
        f"({cold / warm:.0f}x) vs disk cache {disk * 1e3:.1f} ms ({cold / disk:.0f}x)"
    )


if __name__ == "__main__":
    main()
