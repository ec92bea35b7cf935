"""The general-domain zoo rows (docs/models.md): published file names, companions, aliases, flags
that do not apply, the published dense path by default and the settings label; MetaCLIP by
tag or from a local file. No model is built except in the MetaCLIP end-to-end test."""

from __future__ import annotations

import argparse
import json
import os

import pytest
import torch

import eval_customized
from conftest import TINY, cli_args, out_dir
from foundation.errors import CheckpointError, ZooError
from foundation.zoo import MODEL_ZOO, check_checkpoint_exists, dense_path_label, resolve_source
from model_families import FAMILIES, load_model
from ovss.config import dataset_configs, load_config
from ovss.flags import add_model_flags, config_overrides
from synthetic import make_dataset, random_state_dict, save_checkpoint


@pytest.mark.parametrize(
    "method,vit,file,family",
    [
        ("CLIPSelf", "ViT-B-16", "eva_vitb16_coco_clipself_proposals.pt", "eva02"),
        ("CLIPSelf", "ViT-L-14", "eva_vitl14_coco_clipself_proposals.pt", "eva02"),
        ("FineCLIP", "ViT-B-16", "FineCLIP_coco_vitb16.pt", "eva02"),
        ("FineCLIP", "ViT-L-14", "FineCLIP_coco_vitl14.pt", "eva02"),
        ("COSMOS", "ViT-B-16", "cosmos_vitb16_merged30m.pt", "cosmos"),
        ("FLAIR", "ViT-B-16", "flair-cc3m-recap.pt", "flair"),
        ("TIPS", "ViT-B-14", "tips_oss_b14_highres_distilled_vision.npz", "tips"),
        ("TIPS", "ViT-L-14", "tips_oss_l14_highres_distilled_vision.npz", "tips"),
    ],
)
def test_published_file_names(method, vit, file, family):
    s = resolve_source(method, vit, checkpoint_dir="ck")
    assert s.checkpoint == os.path.join("ck", file) and s.family == family and s.tag is None
    entry = MODEL_ZOO[method]
    assert entry.domain == "general" and entry.cuda_precision == "fp32" and family in FAMILIES


def test_every_general_row_has_a_published_dense_path():
    for method in ("CLIPSelf", "FineCLIP", "COSMOS", "FLAIR", "TIPS"):
        model_type, residual = MODEL_ZOO[method].dense_path
        assert model_type in ("MaskCLIP", "SCLIP", "SegEarth") and isinstance(residual, bool)
    assert MODEL_ZOO["MetaCLIP"].dense_path is None and MODEL_ZOO["FarSLIP1"].dense_path is None


def test_cosmos_accepts_the_seed_file_name_too(tmp_path):
    (tmp_path / "cosmos_vitb16_merged30m_2.pt").write_bytes(b"w")
    s = resolve_source("COSMOS", "ViT-B-16", checkpoint_dir=str(tmp_path))
    assert s.checkpoint == str(tmp_path / "cosmos_vitb16_merged30m_2.pt")
    missing = resolve_source("COSMOS", "ViT-B-16", checkpoint_dir=str(tmp_path / "none"))
    with pytest.raises(CheckpointError) as info:
        check_checkpoint_exists(missing)
    msg = str(info.value)
    assert "cosmos_vitb16_merged30m.pt (also accepted: cosmos_vitb16_merged30m_2.pt)" in msg
    assert "huggingface.co/sankim2/cosmos" in msg and "\n" not in msg


def test_pretrained_may_be_a_file_or_a_folder_of_published_files(tmp_path):
    path = tmp_path / "eva_vitb16_coco_clipself_proposals.pt"
    path.write_bytes(b"w")
    by_file = resolve_source("CLIPSelf", "ViT-B-16", pretrained=str(path))
    by_folder = resolve_source("CLIPSelf", "ViT-B-16", pretrained=str(tmp_path))
    assert by_file.checkpoint == by_folder.checkpoint == str(path)


def test_published_spellings_and_flags_that_do_not_apply():
    assert resolve_source("tips", "ViT-B-14").method == "TIPS"
    assert resolve_source("cosmos", "ViT-B-16").family == "cosmos"
    with pytest.raises(ZooError, match="--fqg: --method TIPS is not an OpenCLIP architecture"):
        resolve_source("TIPS", "ViT-B-14", fqg=True)
    with pytest.raises(ZooError, match="--long-clip: --method CLIPSelf has no LongCLIP"):
        resolve_source("CLIPSelf", "ViT-B-16", long_clip="load_from_scratch")
    with pytest.raises(ZooError, match="published for ViT-B-14 / ViT-L-14"):
        resolve_source("TIPS", "ViT-B-16")
    assert resolve_source("COSMOS", "ViT-B-16", fqg=True).quick_gelu is True  # open_clip ViT


def test_dense_path_label_says_published_or_extension():
    assert dense_path_label("FarSLIP1", "SegEarth", True, 0.0) is None
    assert dense_path_label("CLIPSelf", "MaskCLIP", False, 0.0).startswith("published (")
    ext = dense_path_label("CLIPSelf", "MaskCLIP", True, 0.0)
    assert ext.startswith("extension: MaskCLIP attention, ignore_residual=True on the CLIPSelf")
    assert "CLS term is an extension" in dense_path_label("COSMOS", "SCLIP", False, -0.3)
    assert "extension" not in dense_path_label("TIPS", "SegEarth", True, -0.3)


def cfg_for(argv, dataset="UDD5Dataset"):
    parser = add_model_flags(argparse.ArgumentParser())
    parser.add_argument("--protocol")
    args = parser.parse_args(argv)
    return load_config(dataset_configs()[dataset], config_overrides(args), args.cfg_options)


def test_resolve_model_uses_the_published_path_unless_a_model_type_is_given(tmp_path):
    (tmp_path / "FineCLIP_coco_vitb16.pt").write_bytes(b"w")
    base = ["--method", "FineCLIP", "--checkpoint-dir", str(tmp_path)]
    cfg = cfg_for(base)
    assert (cfg.model.model_type, cfg.model.ignore_residual) == ("MaskCLIP", False)
    assert cfg.dense_path.startswith("published") and cfg.model.family == "eva02"
    cfg = cfg_for(base + ["--model-type", "NACLIP", "--protocol", "segearth"])
    assert (cfg.model.model_type, cfg.model.ignore_residual) == ("NACLIP", True)
    assert cfg.dense_path.startswith("extension: NACLIP") and "CLS term" in cfg.dense_path
    cfg = cfg_for(base + ["--model-type", "GEM", "--cfg-options", "model.ignore_residual=False"])
    assert (cfg.model.model_type, cfg.model.ignore_residual) == ("GEM", False)
    ckpt = tmp_path / "own.pt"
    ckpt.write_bytes(b"w")
    openclip = cfg_for(["--method", "CLIP", "--pretrained", str(ckpt)])
    assert openclip.model.model_type == "SegEarth" and "dense_path" not in openclip


def test_metaclip_by_tag_or_from_a_local_file(tmp_path, capsys):
    """MetaCLIP's release (b16_fullcc2.5b.pt) is an open_clip training checkpoint; a random
    tiny one in that format runs end to end with QuickGELU, as the tag would."""
    assert resolve_source("MetaCLIP", "ViT-B-16").tag == "metaclip_fullcc"
    sd = random_state_dict(TINY, seed=41)
    path = save_checkpoint(sd, str(tmp_path / "b16_fullcc2.5b.pt"), "state_dict_module")
    src = resolve_source("MetaCLIP", TINY, pretrained=path)
    assert (src.checkpoint, src.tag, src.quick_gelu, src.long_clip) == (path, None, True, False)
    model = load_model(src)
    assert type(model.clip.visual.transformer.resblocks[0].mlp.gelu).__name__ == "QuickGELU"
    assert torch.equal(model.clip.visual.proj, sd["visual.proj"])
    root = str(tmp_path / "data")
    make_dataset(root, "VDDDataset", count=1, seed=23)
    argv = cli_args(path, root, tmp_path / "w", method="MetaCLIP")
    assert eval_customized.main(argv + ["--datasets", "VDDDataset"]) == 0
    settings = json.load(open(os.path.join(out_dir(tmp_path / "w", "MetaCLIP"), "settings.json")))
    assert settings["quick_gelu"] is True and settings["model_type"] == "SegEarth"
    assert "dense_path" not in settings and "dense_path" not in capsys.readouterr().out
