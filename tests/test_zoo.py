"""ovss.zoo: each method's weights, text settings and the missing-file line (no torch)."""

from __future__ import annotations

import os

import pytest

from foundation.errors import CheckpointError, ZooError
from foundation.zoo import MODEL_ZOO, check_checkpoint_exists, resolve_source


@pytest.mark.parametrize(
    "method,vit,file,qg",
    [
        ("FarSLIP1", "ViT-B-16", "FarSLIP1_ViT-B-16.pt", True),
        ("FarSLIP2", "ViT-B-32", "FarSLIP2_ViT-B-32.pt", True),
        ("FarSLIP2-VC", "ViT-B-16", "FarSLIP2_VC_ViT-B-16.pt", True),
        ("RemoteCLIP", "ViT-L-14", "RemoteCLIP-ViT-L-14.pt", False),
        ("GeoRSCLIP", "ViT-H-14", "RS5M_ViT-H-14.pt", False),
        ("SkyCLIP", "ViT-B-32", "SkyCLIP_ViT-B-32.pt", False),
        ("LRSCLIP", "ViT-B-16", "LRSCLIP_ViT-B-16.pt", True),
    ],
)
def test_zoo_rows(method, vit, file, qg):
    s = resolve_source(method, vit, checkpoint_dir="ck")
    assert s.checkpoint == os.path.join("ck", file) and s.quick_gelu is qg and s.tag is None
    assert s.long_clip is (method in ("FarSLIP2", "LRSCLIP"))


def test_zoo_clip_and_flags():
    assert resolve_source("CLIP", "ViT-B-16").tag == "openai"
    assert resolve_source("CLIP", "ViT-B-16").quick_gelu is False
    assert resolve_source("CLIP", "ViT-B-16", fqg=True).quick_gelu is True
    assert resolve_source("CLIP", "ViT-B-16").long_clip is None  # detect from weights
    assert resolve_source("CLIP", "ViT-B-16", long_clip="load_from_scratch").long_clip is True
    assert resolve_source("MetaCLIP", "ViT-B-32").tag == "metaclip_fullcc"
    assert resolve_source("MetaCLIP", "ViT-B-32").quick_gelu is True
    with pytest.raises(ZooError, match="unknown --method"):
        resolve_source("NoSuchCLIP", "ViT-B-16")
    with pytest.raises(ZooError, match="published for ViT-B-16"):
        resolve_source("LRSCLIP", "ViT-B-32")


def test_missing_checkpoint_names_path_and_where_it_is_published(tmp_path):
    source = resolve_source("FarSLIP1", "ViT-B-16", checkpoint_dir=str(tmp_path))
    with pytest.raises(CheckpointError) as info:
        check_checkpoint_exists(source)
    msg = str(info.value)
    assert "\n" not in msg and str(tmp_path / "FarSLIP1_ViT-B-16.pt") in msg
    assert "--checkpoint-dir" in msg and "huggingface.co/ZhenShiL/FarSLIP" in msg
    (tmp_path / "FarSLIP1_ViT-B-16.pt").write_bytes(b"x")
    check_checkpoint_exists(source)  # present: no error


def test_every_row_says_where_its_weights_are_published():
    for method, entry in MODEL_ZOO.items():
        assert entry.published.strip(), method
        assert entry.family and entry.cuda_precision in ("fp16", "fp32", "bf16"), method
