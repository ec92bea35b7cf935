"""ovss.config / protocols / flags: one resolved config from file + flags + options + zoo."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from foundation.datasets import select as select_datasets
from foundation.errors import CheckpointError, ConfigError, UserError, ZooError
from ovss.config import BASE_CONFIG, dataset_configs, load_config
from ovss.flags import FLAG_KEYS, add_model_flags, add_protocol_flag, config_overrides
from ovss.protocols import PROTOCOLS
from ovss.runtime import resolve_device


def cfg_for(dataset="UDD5Dataset", argv=(), **extra):
    parser = add_model_flags(argparse.ArgumentParser())
    add_protocol_flag(parser)
    args = parser.parse_args(list(argv))
    overrides = {**config_overrides(args), **extra}
    return load_config(dataset_configs()[dataset], overrides, args.cfg_options)


@pytest.fixture
def ckpt(tmp_path):
    path = tmp_path / "w.pt"
    path.write_bytes(b"weights")
    return str(path)


def test_flags_are_shorthands_for_config_keys(ckpt):
    cfg = cfg_for(
        argv=["--method", "CLIP", "--vit-type", "ViT-B-32", "--pretrained", ckpt, "--fqg"]
        + ["--model-type", "NACLIP", "--device", "cpu", "--precision", "bf16"]
    )
    m = cfg.model
    assert (m.model_name, m.vit_type, m.pretrained, m.fqg) == ("CLIP", "ViT-B-32", ckpt, True)
    assert (m.model_type, m.device, m.precision) == ("NACLIP", "cpu", "bf16")
    assert set(FLAG_KEYS.values()) >= {"model.model_name", "protocol", "checkpoint_dir"}


def test_flags_not_given_leave_the_config_defaults(ckpt):
    cfg = cfg_for(argv=["--pretrained", ckpt])
    base = load_config(BASE_CONFIG, {"model.pretrained": ckpt, "model.name_path": ckpt})
    assert cfg.model.model_name == base.model.model_name == "FarSLIP1"
    assert cfg.model.model_type == "SegEarth"  # None: the published dense path
    assert cfg.model.slide_stride == 112 and cfg.model.device is None


def test_cfg_options_edit_any_key_and_win_over_flags(ckpt):
    cfg = cfg_for(
        argv=["--pretrained", ckpt, "--model-type", "NACLIP", "--cfg-options"]
        + ["model.slide_stride=56", "model.model_type=GAV", "test_dataloader.num_workers=0"]
    )
    assert cfg.model.slide_stride == 56 and cfg.model.model_type == "GAV"
    resolve_device(cfg)  # the run's loader settings follow the worker count
    assert cfg.test_dataloader.num_workers == 0 and cfg.test_dataloader.persistent_workers is False


def test_zoo_is_folded_in(tmp_path):
    (tmp_path / "FarSLIP2_ViT-B-16.pt").write_bytes(b"w")
    cfg = cfg_for(argv=["--method", "FarSLIP2", "--checkpoint-dir", str(tmp_path)])
    m = cfg.model
    assert m.pretrained == os.path.join(str(tmp_path), "FarSLIP2_ViT-B-16.pt")
    assert (m.fqg, m.long_clip, m.family, m.hub_tag) == (
        True,
        "load_from_scratch",
        "openclip",
        None,
    )
    assert os.path.isabs(m.name_path) and m.name_path.endswith("cls_udd5.txt")
    hub = cfg_for(argv=["--method", "CLIP"]).model
    assert hub.pretrained is None and hub.hub_tag == "openai" and hub.fqg is False


@pytest.mark.parametrize(
    "protocol,dataset,expected",
    [
        ("farslip", "UDD5Dataset", (0.0, 0, 0.0)),
        ("segearth", "UDD5Dataset", (0.4, 4, -0.3)),
        ("segearth", "PotsdamDataset", (0.1, 5, -0.3)),
    ],
)
def test_protocols_are_data(ckpt, protocol, dataset, expected):
    cfg = cfg_for(dataset, ["--pretrained", ckpt, "--protocol", protocol])
    m = cfg.model
    assert (m.prob_thd, m.bg_idx, m.cls_token_lambda) == expected
    assert PROTOCOLS[protocol].cls_token_lambda == expected[2]
    assert cfg.protocol_overrides == []


def test_explicit_threshold_wins_and_is_recorded(ckpt):
    cfg = cfg_for(argv=["--pretrained", ckpt, "--cfg-options", "model.prob_thd=0.25"])
    assert cfg.model.prob_thd == 0.25 and cfg.model.cls_token_lambda == 0.0
    assert cfg.protocol_overrides == ["prob_thd"]
    cfg = cfg_for(argv=["--pretrained", ckpt, "--cfg-options", "protocol=segearth"])
    assert cfg.model.cls_token_lambda == -0.3


@pytest.mark.parametrize(
    "argv,error,text",
    [
        (["--method", "Nope"], ZooError, "unknown --method 'Nope'"),
        (["--method", "LRSCLIP", "--vit-type", "ViT-B-32"], ZooError, "published for ViT-B-16"),
        (["--method", "FarSLIP1", "--checkpoint-dir", "/nope"], CheckpointError, "not found"),
        (["--pretrained", "/nope.pt"], CheckpointError, "checkpoint not found: /nope.pt"),
        (["--cfg-options", "protocol=mine"], ConfigError, "--protocol 'mine'"),
        (["--model-config", "/nope.json", "--method", "CLIP"], ConfigError, "--model-config"),
    ],
)
def test_bad_flags_are_one_line_user_errors(argv, error, text):
    with pytest.raises(error) as info:
        cfg_for(argv=argv)
    assert text in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, UserError)


def test_select_datasets():
    available = dataset_configs()
    assert select_datasets("VDDDataset,UDD5Dataset,VDDDataset", available) == [
        "VDDDataset",
        "UDD5Dataset",
    ]
    assert len(select_datasets(None, available)) == 8
    with pytest.raises(ConfigError, match="unknown dataset 'MarsDataset'"):
        select_datasets("MarsDataset", available)


def test_dataset_names_forgive():
    """Converter names, published names, any case; near misses get a suggestion."""
    available = dataset_configs()
    assert select_datasets("potsdam,Vaihingen,udd5", available) == [
        "PotsdamDataset",
        "ISPRSDataset",
        "UDD5Dataset",
    ]
    assert select_datasets("OEM, whu-sat.ii ,iSAIDDataset", available) == [
        "OpenEarthMapDataset",
        "WHUSatIIDataset",
        "iSAIDDataset",
    ]
    with pytest.raises(ConfigError, match="did you mean vaihingen") as info:
        select_datasets("vaihingn", available)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "argv,text",
    [
        (["--method", "FarSLIP1", "--checkpoint-dir", "/nope"], "checkpoint not found"),
        (["--method", "Nope"], "unknown --method"),
        (["--method", "CLIP", "--pretrained", BASE_CONFIG, "--data-root", "/nope"], "data root"),
    ],
)
def test_cli_fails_fast_without_heavy_imports(argv, text):
    """Flag, path and zoo errors come before torch/mmseg/open_clip are imported."""
    code = (
        "import sys, eval_customized\n"
        f"rc = eval_customized.main({argv!r})\n"
        "heavy = [m for m in ('torch', 'mmseg', 'open_clip') if m in sys.modules]\n"
        "print('HEAVY', heavy, 'RC', rc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "HEAVY [] RC 2" in done.stdout, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and text in errors[0], done.stderr
