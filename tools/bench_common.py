"""What the benchmark's modes share: timing, device sync and the random checkpoint."""

from __future__ import annotations

import argparse
import os
import statistics
import time

import open_clip
import torch


def median_time(fn, repeats: int, sync) -> float:
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def random_overrides(args: argparse.Namespace, folder: str) -> dict:
    """Without --method/--pretrained: the config keys of a random OpenCLIP checkpoint."""
    if args.pretrained is not None or args.method is not None:
        return {}
    vit_type = args.vit_type or "ViT-B-16"
    path = os.path.join(folder, f"random_{vit_type}.pt")
    return {"model.model_name": "CLIP", "model.vit_type": vit_type, "model.pretrained": path}


def random_weights(args: argparse.Namespace, folder: str) -> dict:
    """Without --method/--pretrained: a seeded random OpenCLIP checkpoint (nothing downloaded)."""
    overrides = random_overrides(args, folder)
    if overrides:
        torch.manual_seed(0)
        model = open_clip.create_model(overrides["model.vit_type"])
        torch.save(model.state_dict(), overrides["model.pretrained"])
    return overrides


def sync_for(device: str):
    return torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
