"""Segment one image with any model and class list: a label PNG and a drawing with a legend.

    .venv/bin/python tools/segment_image.py photo.png --classes building,road,tree \\
        --method FarSLIP1 --vit-type ViT-B-16 --out photo_pred.png

The same flags, config resolution, model, image pipeline and post-processing as
eval_customized.py (``--config`` picks a dataset config for its class file and protocol
values; default ``configs/base_config.py``). ``--classes`` is a class file (one class per
line, synonyms by comma) or a comma list of class names (written to OUT's ``_classes.txt``).
The image, classes, output folder and model are checked before the model is loaded. Writes
OUT (class indices) and OUT with ``_overlay`` added: [image | prediction] in the legend's
colours, the legend below; prints both paths.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from foundation.errors import ClassFileError, ConfigError, UserError  # noqa: E402
from ovss import preflight  # noqa: E402
from ovss.config import BASE_CONFIG, hide_gpus_for_cpu_runs, load_config  # noqa: E402
from ovss.flags import add_model_flags, add_protocol_flag, config_overrides  # noqa: E402

LABEL_SUFFIXES = (".png", ".bmp", ".tif", ".tiff")  # lossless: the labels are class indices


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("image", help="the image file (PNG, JPEG, TIFF)")
    p.add_argument(
        "--classes",
        metavar="FILE_OR_LIST",
        help="class file (one class per line, synonyms by comma) or a comma list of class "
        "names, e.g. building,road,tree (default: the --config's class file)",
    )
    p.add_argument("--config", default=BASE_CONFIG, help="base or dataset config (cfg_*.py)")
    add_protocol_flag(p)
    p.add_argument(
        "--out", help="label PNG of class indices (default: <image stem>_pred.png beside it)"
    )
    add_model_flags(p)
    return p.parse_args(argv)


def class_file(value: str, out: str) -> str:
    """``--classes``: an existing class file, or a comma list written beside ``out``."""
    if os.path.isfile(value):
        return os.path.abspath(value)
    if value.endswith(".txt") or os.sep in value or "/" in value:
        raise ClassFileError(
            f"--classes {value}: no such class file (or pass class names: --classes "
            "building,road,tree)"
        )
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise ClassFileError(f"--classes '{value}': names no class")
    path = os.path.splitext(out)[0] + "_classes.txt"
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(names) + "\n")
    return path


def check_inputs(args: argparse.Namespace) -> tuple[str, object]:
    """Everything but the model's forward pass, before the heavy imports: the image, the
    output name and folder, the classes, the flags and the weights; (out, config)."""
    preflight.check_image(args.image)
    out = args.out or os.path.splitext(args.image)[0] + "_pred.png"
    if not out.lower().endswith(LABEL_SUFFIXES):
        raise ConfigError(f"--out {out}: use a .png name (the labels must be stored lossless)")
    preflight.check_folder("--out", os.path.dirname(os.path.abspath(out)))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if args.classes:
        args.classes = class_file(args.classes, out)
    cfg = load_config(args.config, config_overrides(args), args.cfg_options)
    preflight.check_run({"image": cfg}, {})
    return out, cfg


def segment(image_path: str, cfg):
    """(H, W) uint8 class indices at the image's own size, and the class names."""
    # lazy: torch, mmseg and open_clip are imported after the inputs are checked (measured
    # ~10 s on 2 CPU cores), so a wrong path, class list or model is one line at once.
    import mmcv_compat  # noqa: F401  (before mmseg)

    import numpy as np
    import torch
    from mmengine.dataset import Compose
    from mmseg.registry import MODELS

    from ovss.evaluate import prepare

    prepare({"image": cfg})
    pipeline = Compose([t for t in cfg.test_pipeline if t["type"] != "LoadAnnotations"])
    seg = MODELS.build(cfg.model)
    data = pipeline(dict(img_path=image_path))
    batch = seg.data_preprocessor({k: [v] for k, v in data.items()}, False)
    with torch.no_grad():
        sample = seg.predict(batch["inputs"], batch["data_samples"])[0]
    names = [seg.queries[seg.query_idx.tolist().index(c)] for c in range(seg.num_classes)]
    return sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8), names


def write(out: str, image_path: str, labels, names: list[str], title: str) -> str:
    """The label PNG and the drawing (``ovss.visualize.compose``); the drawing's path."""
    # lazy: as in segment(): cv2 and ovss.visualize (mmseg) load after the checks.
    import cv2

    from ovss.visualize import compose, palette_for, read_rgb

    if not cv2.imwrite(out, labels):
        raise ConfigError(f"--out {out}: could not be written")
    drawing, _ = compose(read_rgb(image_path), labels, None, names, palette_for(len(names)), title)
    path = os.path.splitext(out)[0] + "_overlay.png"
    cv2.imwrite(path, drawing[..., ::-1])
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        out, cfg = check_inputs(args)
        hide_gpus_for_cpu_runs(cfg)
        labels, names = segment(args.image, cfg)
        m = cfg.model
        settings = (
            f"{m.model_name} {m.vit_type}, --model-type {m.model_type}, protocol "
            f"{cfg.protocol}, {m.device} {m.precision}, classes {m.name_path}"
        )
        title = f"{os.path.basename(args.image)}   {m.model_name} {m.vit_type}, {m.model_type}"
        drawing = write(out, args.image, labels, names, title)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    shares = [100 * float((labels == i).mean()) for i in range(len(names))]
    print(f"settings: {settings}")
    print("classes: " + ", ".join(f"{n} {c:.1f}%" for n, c in zip(names, shares, strict=True)))
    print(f"wrote: {out} (class indices 0-{len(names) - 1}) and {drawing} (drawing with legend)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
