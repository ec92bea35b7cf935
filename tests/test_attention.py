"""Each last-layer attention equals a direct per-head implementation of docs/protocol.md."""

from __future__ import annotations

import math

import open_clip
import pytest
import torch

from conftest import TINY
from dense import build_method
from dense.attentions import ATTENTIONS, gaussian_prior
from dense.last_layer import last_block
from foundation.errors import ConfigError
from model_families.openclip_tower import OpenCLIPTower
from references import VARIANTS, reference_last_block, reference_prior


def test_table_has_the_nine_variants():
    assert sorted(ATTENTIONS) == sorted(VARIANTS) and len(VARIANTS) == 9


def test_gaussian_prior_matches_spec():
    w = gaussian_prior(5, 5, torch.device("cpu"), torch.float32)
    assert torch.allclose(w, reference_prior(5), atol=1e-7)
    assert w[0].abs().sum() == 0 and w[:, 0].abs().sum() == 0  # CLS row and column
    assert w[1, 1] == 1.0 and math.isclose(w[1, 2].item(), math.exp(-0.5), rel_tol=1e-6)
    assert gaussian_prior(5, 5, torch.device("cpu"), torch.float32) is w  # built once


def test_prior_after_cls_and_register_tokens():
    """TIPS has a register token after CLS: both rows/columns are zero, the grid is as usual."""
    w = gaussian_prior(3, 3, torch.device("cpu"), torch.float32, prefix=2)
    assert w.shape == (11, 11) and w[:2].abs().sum() == 0 and w[:, :2].abs().sum() == 0
    assert torch.allclose(w[2:, 2:], reference_prior(3)[1:, 1:], atol=1e-7)


def test_gem_temperature_follows_the_token_norms():
    """GEM's inverse temperature is s * mean |y_i|: scaling the block input changes A."""
    torch.manual_seed(4)
    q, k, v = torch.randn(3, 1, 2, 5, 8).unbind(0)
    y = torch.randn(1, 5, 16)
    w = torch.zeros(5, 5)
    a = ATTENTIONS["GEM"](q, k, v, 8**-0.5, w, y)
    assert torch.allclose(a.sum(-1), torch.ones(1, 2, 5), atol=1e-6)  # mean of 3 softmaxes
    assert not torch.allclose(a, ATTENTIONS["GEM"](q, k, v, 8**-0.5, w, 3 * y))
    assert torch.allclose(a, ATTENTIONS["GEM"](3 * q, 2 * k, v, 8**-0.5, w, y), atol=1e-6)


def dense_features(visual, images, name, ignore_residual=True):
    """(B, 1 + g*g, D): CLS then patches, as the families' ``dense_features``."""
    out = build_method(name, OpenCLIPTower(visual), ignore_residual)(images)
    return torch.cat([out.cls[:, None], out.patches], dim=1)


@pytest.fixture(scope="module")
def tiny_visual():
    torch.manual_seed(0)
    return open_clip.create_model(TINY).visual.eval()


@pytest.mark.parametrize("ignore_residual", [True, False])
@pytest.mark.parametrize("name", VARIANTS)
def test_last_block_equals_per_head_reference(tiny_visual, name, ignore_residual):
    torch.manual_seed(1)
    g = 14
    x = torch.randn(2, 1 + g * g, tiny_visual.transformer.width)
    block = tiny_visual.transformer.resblocks[-1]
    with torch.no_grad():
        got = last_block(OpenCLIPTower(tiny_visual), x, ATTENTIONS[name], ignore_residual, (g, g))
        want = reference_last_block(block, x, name, ignore_residual, g)
    assert (got - want).abs().max().item() <= 1e-5


@pytest.mark.parametrize("name", VARIANTS)
def test_dense_features_runs_vit_then_modified_block(tiny_visual, name):
    torch.manual_seed(2)
    img = torch.randn(2, 3, 224, 224)
    calls = []
    hook = tiny_visual.transformer.resblocks[-1].register_forward_hook(lambda *a: calls.append(1))
    try:
        with torch.no_grad():
            got = dense_features(tiny_visual, img, name, ignore_residual=True)
            v = tiny_visual
            x = v.conv1(img).flatten(2).transpose(1, 2)
            x = torch.cat([v.class_embedding.expand(2, 1, -1), x], dim=1) + v.positional_embedding
            x = v.ln_pre(x)
            for blk in v.transformer.resblocks[:-1]:
                x = blk(x)
            x = reference_last_block(v.transformer.resblocks[-1], x, name, True, 14)
            want = v.ln_post(x) @ v.proj
    finally:
        hook.remove()
    assert calls == []  # the original last block is never computed
    assert got.shape == (2, 197, 32)
    assert (got - want).abs().max().item() <= 1e-5


def test_variants_differ(tiny_visual):
    img = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        outs = {n: dense_features(tiny_visual, img, n) for n in VARIANTS}
    for a in VARIANTS:
        for b in VARIANTS:
            if a < b:
                assert not torch.allclose(outs[a], outs[b]), (a, b)


def test_unknown_model_type(tiny_visual):
    with pytest.raises(ConfigError, match="choose one of"):
        dense_features(tiny_visual, torch.zeros(1, 3, 224, 224), "Nope")


@pytest.mark.parametrize("vit_type,grid", [("ViT-B-16", 14), ("ViT-B-32", 7)])
def test_real_shapes_last_block(vit_type, grid):
    """ViT-B/16 and B/32 widths and heads: every variant against the reference."""
    torch.manual_seed(3)
    visual = open_clip.create_model(vit_type).visual.eval()
    block = visual.transformer.resblocks[-1]
    x = torch.randn(1, 1 + grid * grid, visual.transformer.width)
    with torch.no_grad():
        for name in VARIANTS:
            got = last_block(OpenCLIPTower(visual), x, ATTENTIONS[name], True, (grid, grid))
            want = reference_last_block(block, x, name, True, grid)
            assert (got - want).abs().max().item() <= 1e-5, name
