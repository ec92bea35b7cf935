"""Segment one image with any model and class list: a label PNG and a colour overlay.

    .venv/bin/python tools/segment_image.py photo.png --classes configs/cls_loveda.txt \\
        --method FarSLIP1 --vit-type ViT-B-16 --out photo_pred.png

Same model, image pipeline and post-processing as eval_customized.py (base_config.py's test
pipeline without the labels); writes OUT (class indices) and OUT with ``_overlay`` added.
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
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import Compose  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402

import customized_segmentor  # noqa: E402,F401  (registers the segmentor)
from eval_customized import CONFIG_DIR  # noqa: E402


def segment(image_path: str, model_cfg: dict) -> tuple[np.ndarray, list[str]]:
    """(H, W) uint8 class indices at the image's own size, and the class names."""
    cfg = Config.fromfile(os.path.join(CONFIG_DIR, "base_config.py"))
    init_default_scope("mmseg")
    pipeline = Compose([t for t in cfg.test_pipeline if t["type"] != "LoadAnnotations"])
    seg = MODELS.build({**cfg.model, **model_cfg})
    data = pipeline(dict(img_path=image_path))
    batch = seg.data_preprocessor({k: [v] for k, v in data.items()}, False)
    with torch.no_grad():
        sample = seg.predict(batch["inputs"], batch["data_samples"])[0]
    names = [seg.queries[seg.query_idx.tolist().index(c)] for c in range(seg.num_classes)]
    return sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8), names


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("image")
    p.add_argument(
        "--classes", required=True, help="class file: one class per line, synonyms by comma"
    )
    p.add_argument("--method", default="CLIP")
    p.add_argument("--vit-type", default="ViT-B-16")
    p.add_argument("--pretrained", default=None)
    p.add_argument("--checkpoint-dir", default="checkpoints")
    p.add_argument("--model-type", default="SegEarth")
    p.add_argument("--long-clip", choices=("disable", "load_from_scratch"), default=None)
    p.add_argument("--fqg", action="store_true")
    p.add_argument("--prob-thd", type=float, default=0.0)
    p.add_argument("--bg-idx", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--model-config", default=None, help="extra OpenCLIP model-config JSON")
    p.add_argument("--out", default=None, help="label PNG (default: <image stem>_pred.png)")
    args = p.parse_args()
    if args.model_config:
        import open_clip

        open_clip.add_model_config(args.model_config)
    model_cfg = dict(
        name_path=args.classes,
        model_name=args.method,
        vit_type=args.vit_type,
        pretrained=args.pretrained,
        checkpoint_dir=args.checkpoint_dir,
        model_type=args.model_type,
        long_clip=args.long_clip,
        fqg=args.fqg,
        prob_thd=args.prob_thd,
        bg_idx=args.bg_idx,
        device=args.device or "cpu",
    )
    labels, names = segment(args.image, model_cfg)
    out = args.out or os.path.splitext(args.image)[0] + "_pred.png"
    cv2.imwrite(out, labels)
    palette = np.random.default_rng(0).integers(0, 256, size=(len(names), 3), dtype=np.uint8)
    image = cv2.imread(args.image, cv2.IMREAD_COLOR)
    overlay = cv2.addWeighted(image, 0.4, palette[labels], 0.6, 0)
    cv2.imwrite(os.path.splitext(out)[0] + "_overlay.png", overlay)
    counts = np.bincount(labels.ravel(), minlength=len(names)) / labels.size * 100
    print(f"{out}: " + ", ".join(f"{n} {c:.1f}%" for n, c in zip(names, counts, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
