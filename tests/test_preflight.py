"""Every input checked before the heavy imports: the checkpoint read cheaply (foundation.peek),
device and precision, output folders, hub tags offline, names that forgive. Each mistake is
one ``error:`` line and exit 2 from eval_customized.main."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

import eval_customized
import synthetic
from conftest import ROOT, TINY32, cli_args
from foundation.errors import CheckpointError, ConfigError, ZooError
from foundation.peek import read_shapes, vision_tower
from foundation.zoo import ModelSource, resolve_source, zoo_method
from ovss import preflight


def cli_error(capsys, argv: list[str]) -> str:
    """The one error line of a CLI call that must fail with exit 2."""
    rc = eval_customized.main(argv)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: "), (rc, err)
    return err[0]


def udd5(tiny_checkpoint, data_root, work, *extra, **kw) -> list[str]:
    return cli_args(tiny_checkpoint, data_root, work, "--datasets", "udd5", *extra, **kw)


# ------------------------------------------------------------------ peek
def test_peek_gives_torchs_keys_and_shapes_without_loading(tiny_checkpoint, tiny_state_dict):
    shapes = read_shapes(tiny_checkpoint)  # {'state_dict': {'module.<key>': ...}} on disk
    assert shapes == {k: tuple(v.shape) for k, v in tiny_state_dict.items()}
    tower = vision_tower(shapes)
    assert (tower.patch, tower.width, tower.layers, tower.grid) == (16, 64, 2, 14)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit's deprecation
def test_peek_reads_compiled_and_npz_and_skips_what_only_torch_reads(tmp_path, tiny_state_dict):
    compiled = synthetic.save_checkpoint(tiny_state_dict, str(tmp_path / "c.pt"), "compiled")
    assert set(read_shapes(compiled)) == set(tiny_state_dict)
    np.savez(tmp_path / "t.npz", register_tokens=np.zeros((1, 4, 8)), pos=np.zeros(3))
    assert read_shapes(str(tmp_path / "t.npz")) == {"register_tokens": (1, 4, 8), "pos": (3,)}
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    assert read_shapes(str(legacy)) is None
    binary = tmp_path / "other.bin"  # an unknown binary format: torch judges it
    binary.write_bytes(bytes(range(129, 256)) * 3)
    assert read_shapes(str(binary)) is None
    scripted = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(scripted))
    assert read_shapes(str(scripted)) is None


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"my weights are elsewhere\n", "not a PyTorch checkpoint: a text file ('my weights"),
        (b"", "an empty file"),
        (b"<!DOCTYPE html><html>404</html>", "an HTML page (a failed download?)"),
        ((20).to_bytes(8, "little") + b'{"w": {"dtype": "F32"}}', "a safetensors file"),
    ],
)
def test_peek_names_what_a_non_checkpoint_is(tmp_path, content, expected):
    path = tmp_path / "file.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint") as info:
        read_shapes(str(path))
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_peek_never_runs_the_files_code(tmp_path):
    """A pickle whose objects would run a command: nothing runs, no tensors are found."""
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"w": Evil()}, protocol=2))
    assert read_shapes(str(path)) == {}
    assert not marker.exists()
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="a zip archive without data.pkl"):
        read_shapes(str(tmp_path / "other.zip"))


# ------------------------------------------------------------------ the checkpoint's kind
def test_a_file_of_another_vit_size_names_the_right_one(data_root, tmp_path, capsys):
    b32 = synthetic.save_checkpoint(
        synthetic.random_state_dict(TINY32, seed=3), str(tmp_path / "t32.pt")
    )
    line = cli_error(capsys, udd5(b32, data_root, tmp_path))  # given as ViT-T-16-test
    assert f"a {TINY32} checkpoint; pass --vit-type {TINY32}" in line
    assert "patch 32" in line and "patch 16" in line


def test_not_a_checkpoint_and_another_family_are_one_line(data_root, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("see the shared drive\n")
    line = cli_error(capsys, udd5(notes, data_root, tmp_path))
    assert "not a PyTorch checkpoint: a text file" in line
    eva = tmp_path / "eva.pt"
    torch.save({"visual.pos_embed": torch.zeros(1, 5, 8), "logit_scale": torch.zeros(())}, eva)
    line = cli_error(capsys, udd5(eva, data_root, tmp_path))
    assert "looks like an EVA02-CLIP" in line and "--method CLIPSelf or FineCLIP" in line
    other = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(2, 2)}, other)
    assert "not a CLIP checkpoint" in cli_error(capsys, udd5(other, data_root, tmp_path))


def test_longclip_files_and_methods_must_agree(
    tiny_checkpoint, tiny_long_checkpoint, data_root, tmp_path, capsys
):
    argv = udd5(tiny_long_checkpoint, data_root, tmp_path, "--long-clip", "disable")
    assert "LongCLIP weights (248 text positions)" in cli_error(capsys, argv)
    argv = udd5(tiny_checkpoint, data_root, tmp_path, method="FarSLIP2")
    assert "not LongCLIP weights" in cli_error(capsys, argv)


# ------------------------------------------------------------------ device, precision
def test_device_and_precision_are_checked_without_torch(
    tiny_checkpoint, data_root, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(preflight, "GPU_DEVICES", ())  # a machine without any GPU device
    argv = udd5(tiny_checkpoint, data_root, tmp_path)
    argv[argv.index("--device") + 1] = "cuda"
    assert "--device cuda: no GPU is visible here" in cli_error(capsys, argv)
    argv[argv.index("--device") + 1] = "gpu"
    assert "--device gpu: use cpu, cuda or cuda:N" in cli_error(capsys, argv)
    argv[argv.index("--device") + 1] = "cpu"
    assert "--precision fp16 needs CUDA" in cli_error(capsys, [*argv, "--precision", "fp16"])


def test_gpu_visibility_is_only_refused_when_clearly_absent(tmp_path, monkeypatch):
    device = tmp_path / "nvidia0"
    device.touch()
    monkeypatch.setattr(preflight, "GPU_DEVICES", (str(device),))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert preflight.visible_gpus()[0] is None  # present, count unknown: allowed
    preflight.check_device("cuda:3", "fp16")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    with pytest.raises(ConfigError, match="only 2 GPU"):
        preflight.check_device("cuda:2", None)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(ConfigError, match="hides every GPU"):
        preflight.check_device("cuda", None)
    with pytest.raises(ConfigError, match="fp16 needs CUDA and no GPU is visible"):
        preflight.check_device(None, "fp16")


# ------------------------------------------------------------------ output folders
def test_output_folders_must_be_writable_or_creatable(tiny_checkpoint, data_root, tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    line = cli_error(capsys, udd5(tiny_checkpoint, data_root, a_file / "runs"))
    assert f"--work-dir {a_file / 'runs'}: {a_file} is a file, not a folder" in line
    argv = udd5(tiny_checkpoint, data_root, tmp_path / "w", "--pred-dir", str(a_file))
    assert f"--pred-dir {a_file}: {a_file} is a file" in cli_error(capsys, argv)
    if os.geteuid() == 0:  # root writes anywhere but in kernel file systems
        locked = "/sys/rs-ovss-test"
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        locked = str(tmp_path / "ro" / "work")
    line = cli_error(capsys, udd5(tiny_checkpoint, data_root, locked))
    assert f"--work-dir {locked}: cannot create a folder in" in line
    assert not os.path.exists(tmp_path / "w")  # the checks leave nothing behind


# ------------------------------------------------------------------ hub weights and tags
def test_hub_weights_offline_fail_at_once_with_the_file_to_fetch(
    data_root, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    argv = ["--method", "CLIP", "--vit-type", "ViT-B-16", "--data-root", data_root]
    line = cli_error(capsys, [*argv, "--datasets", "udd5", "--work-dir", str(tmp_path / "w")])
    address = "https://huggingface.co/timm/vit_base_patch16_clip_224.openai/resolve/main/"
    assert address + "open_clip_pytorch_model.bin and pass --pretrained PATH --fqg" in line
    assert "HF_HUB_OFFLINE is set" in line
    cached = tmp_path / "hub" / "models--timm--vit_base_patch16_clip_224.openai" / "snapshots"
    (cached / "abc").mkdir(parents=True)
    (cached / "abc" / "open_clip_model.safetensors").write_bytes(b"0")
    preflight.check_hub(ModelSource("CLIP", "ViT-B-16", None, "openai", True, None))


def test_pretrained_takes_open_clip_tags_for_hub_methods(tmp_path):
    tagged = resolve_source("CLIP", "ViT-B-16", pretrained="laion2b_s34b_b88k")
    assert (tagged.checkpoint, tagged.tag) == (None, "laion2b_s34b_b88k")
    assert resolve_source("MetaCLIP", "ViT-B-16", pretrained="metaclip_400m").tag == "metaclip_400m"
    assert resolve_source("CLIP", "ViT-B-16", pretrained="no_such_tag").checkpoint == "no_such_tag"
    path = tmp_path / "openai"  # an existing file of a tag's name is a file
    path.write_bytes(b"0")
    assert resolve_source("CLIP", "ViT-B-16", pretrained=str(path)).checkpoint == str(path)
    with pytest.raises(CheckpointError, match="no 'laion2b_s13b_b90k' weights for --vit-type"):
        preflight.check_hub(ModelSource("CLIP", "ViT-B-16", None, "laion2b_s13b_b90k", False, None))


def test_reachable_is_quick_and_true_only_for_a_listening_host():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    assert preflight.reachable("127.0.0.1", port, seconds=1.0)
    server.close()
    assert not preflight.reachable("127.0.0.1", port, seconds=1.0)


# ------------------------------------------------------------------ names
def test_method_and_vit_type_names_forgive(tiny_checkpoint, data_root, tmp_path, capsys):
    assert zoo_method("farslip2vc") == "FarSLIP2-VC" and zoo_method("COSMOS") == "COSMOS"
    with pytest.raises(ZooError, match=r"unknown --method 'FarSlip' \(did you mean FarSLIP"):
        zoo_method("FarSlip")
    assert resolve_source("farslip1", "vit-b-16").vit_type == "ViT-B-16"
    line = cli_error(capsys, udd5(tiny_checkpoint, data_root, tmp_path, vit_type="ViT-T-16-tset"))
    assert "--vit-type 'ViT-T-16-tset' (did you mean ViT-T-16-test?)" in line


def test_check_stops_after_the_checks(tiny_checkpoint, data_root, tmp_path, capsys):
    argv = udd5(tiny_checkpoint, data_root, tmp_path / "w", "--check")
    assert eval_customized.main(argv) == 0
    out = capsys.readouterr().out
    assert "checked: 1 dataset(s) (UDD5)" in out and "Nothing was run" in out
    assert not os.path.exists(tmp_path / "w")


def test_errors_come_before_torch_is_imported(tmp_path):
    """In a fresh process, a wrong checkpoint is reported with torch never imported."""
    notes = tmp_path / "notes.txt"
    notes.write_text("x\n")
    code = (
        "import sys, eval_customized\n"
        f"rc = eval_customized.main({['--demo', '--pretrained', str(notes), '--method', 'CLIP', '--vit-type', 'ViT-B-16', '--work-dir', str(tmp_path)]!r})\n"
        "heavy = sorted(m for m in ('torch', 'mmseg', 'open_clip') if m in sys.modules)\n"
        "print('rc', rc, 'heavy', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert "rc 2 heavy []" in done.stdout, done.stdout + done.stderr
    assert "not a PyTorch checkpoint: a text file" in done.stderr
