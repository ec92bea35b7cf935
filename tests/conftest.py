"""Shared fixtures: tiny OpenCLIP architectures, random checkpoints in the real formats,
synthetic datasets in the real layouts. Nothing is downloaded."""

from __future__ import annotations

import os
import sys

# Tests never touch the network; set before huggingface_hub (via open_clip) reads it.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mmcv_compat  # noqa: E402,F401  (before mmseg)

import synthetic  # noqa: E402

synthetic.register_tiny_models()

TINY = "ViT-T-16-test"
TINY32 = "ViT-T-32-test"


def cli_args(pretrained, data_root, work_dir, *extra, method="CLIP", vit_type=TINY) -> list[str]:
    """The CLI's arguments for a CPU run of one model on generated data (no loader workers)."""
    return [
        "--method", method, "--vit-type", vit_type, "--pretrained", str(pretrained),
        "--data-root", str(data_root), "--work-dir", str(work_dir),
        "--num-workers", "0", "--device", "cpu", *extra,
    ]  # fmt: skip


def out_dir(work_dir, method="CLIP", vit_type=TINY) -> str:
    """The run folder the CLI wrote last for this method and vit type
    (``<work-dir>/<vit-type>/<method>/<run-name>/``, ``ovss.run_folder``)."""
    method_dir = os.path.join(str(work_dir), vit_type, method)
    runs = [
        os.path.join(method_dir, name)
        for name in (os.listdir(method_dir) if os.path.isdir(method_dir) else [])
        if os.path.isfile(os.path.join(method_dir, name, "settings.json"))
    ]
    assert runs, f"no run folder in {method_dir}"
    return max(runs, key=lambda run: os.stat(os.path.join(run, "settings.json")).st_mtime_ns)


@pytest.fixture(scope="session")
def tiny_state_dict():
    return synthetic.random_state_dict(TINY, seed=1)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_state_dict):
    """The tiny ViT-T/16 saved as a SkyCLIP-style training run ({'state_dict': module.*})."""
    path = tmp_path_factory.mktemp("ckpt") / "tiny16.pt"
    return synthetic.save_checkpoint(tiny_state_dict, str(path), "state_dict_module")


@pytest.fixture(scope="session")
def tiny_long_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "tiny16_long.pt"
    return synthetic.save_checkpoint(
        synthetic.random_state_dict(TINY, long_clip=True, seed=2), str(path)
    )


@pytest.fixture(scope="session")
def class_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cls") / "cls.txt"
    path.write_text("background\nbuilding,roof,house\nroad\nwater,river\n")
    return str(path)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    """All eight datasets, three images each, in their real folder layouts."""
    root = tmp_path_factory.mktemp("data")
    for i, dataset in enumerate(synthetic.LAYOUTS):
        synthetic.make_dataset(str(root), dataset, count=3, seed=i)
    return str(root)
