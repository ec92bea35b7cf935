"""Segment one image with any model and class list: a label PNG and a colour overlay.

    .venv/bin/python tools/segment_image.py photo.png --classes configs/cls_loveda.txt \\
        --method FarSLIP1 --vit-type ViT-B-16 --out photo_pred.png

The same flags, config resolution, model, image pipeline and post-processing as
eval_customized.py (``--config`` picks a dataset config for its class file and protocol
values; default ``configs/base_config.py``). Writes OUT (class indices) and OUT with
``_overlay`` added (with a class legend).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mmcv_compat  # noqa: E402,F401  (before mmseg)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.dataset import Compose  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402

from foundation.errors import UserError  # noqa: E402
from ovss.config import BASE_CONFIG, hide_gpus_for_cpu_runs, load_config  # noqa: E402
from ovss.evaluate import prepare  # noqa: E402
from ovss.flags import add_model_flags, add_protocol_flag, config_overrides  # noqa: E402
from ovss.visualize import draw_legend, palette_for  # noqa: E402


def segment(image_path: str, cfg) -> tuple[np.ndarray, list[str]]:
    """(H, W) uint8 class indices at the image's own size, and the class names."""
    pipeline = Compose([t for t in cfg.test_pipeline if t["type"] != "LoadAnnotations"])
    seg = MODELS.build(cfg.model)
    data = pipeline(dict(img_path=image_path))
    batch = seg.data_preprocessor({k: [v] for k, v in data.items()}, False)
    with torch.no_grad():
        sample = seg.predict(batch["inputs"], batch["data_samples"])[0]
    names = [seg.queries[seg.query_idx.tolist().index(c)] for c in range(seg.num_classes)]
    return sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8), names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("image")
    p.add_argument("--classes", help="class file: one class per line, synonyms by comma")
    p.add_argument("--config", default=BASE_CONFIG, help="base or dataset config (cfg_*.py)")
    add_protocol_flag(p)
    p.add_argument("--out", help="label PNG (default: <image stem>_pred.png)")
    add_model_flags(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, config_overrides(args), args.cfg_options)
        hide_gpus_for_cpu_runs(cfg)
        prepare({"image": cfg})
        labels, names = segment(args.image, cfg)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = args.out or os.path.splitext(args.image)[0] + "_pred.png"
    cv2.imwrite(out, labels)
    palette = np.asarray(palette_for(len(names)), dtype=np.uint8)[:, ::-1]  # RGB -> BGR
    image = cv2.imread(args.image, cv2.IMREAD_COLOR)
    overlay = cv2.addWeighted(image, 0.4, palette[labels], 0.6, 0)
    overlay = draw_legend(overlay[..., ::-1], names, palette_for(len(names)))[..., ::-1]
    cv2.imwrite(os.path.splitext(out)[0] + "_overlay.png", overlay)
    counts = np.bincount(labels.ravel(), minlength=len(names)) / labels.size * 100
    print(f"{out}: " + ", ".join(f"{n} {c:.1f}%" for n, c in zip(names, counts, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
