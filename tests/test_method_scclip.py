"""SC-CLIP against a per-window reference written here from its published formulas (plain
loops, float64), its anomaly detection and repair on constructed cases, its depth rule, and
runs on the EVA02 and TIPS towers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import open_clip
import pytest
import timm
import torch
import torch.nn.functional as F

import published_formats
from conftest import TINY
from dense.scclip import SCCLIP, depth_settings, lof_outliers, repair
from foundation.errors import ConfigError
from model_families.eva02 import EVA02Tower
from model_families.openclip_tower import OpenCLIPTower
from model_families.tips import TIPSTower

HERE = Path(__file__).parent
B16 = dict(pre=8, post=3, start=3, end=10, res_cls=0.3)  # published ViT-B/16 settings
SIX = dict(pre=4, post=2, start=2, end=5, res_cls=0.3)  # 8, 3, [3, 10) x 6/12, half up


# --- reference: one window at a time, from the published formulas -------------------------
def ref_outliers(tokens, k=30, q=0.95):
    """LOF on squared distances (kd_i: distance to the k-th other token; LOF_i = mean over the
    k neighbours j of kd_i / kd_j), then LOF > the linear-interpolation quantile."""
    n = len(tokens)
    dist = ((tokens[:, None] - tokens[None]) ** 2).sum(-1).tolist()
    neighbours, kd = [], []
    for i in range(n):
        order = sorted((dist[i][j], j) for j in range(n) if j != i)[:k]
        neighbours.append([j for _, j in order])
        kd.append(order[-1][0])
    lof = [sum(kd[i] / kd[j] for j in neighbours[i]) / k for i in range(n)]
    ranked = sorted(lof)
    pos = q * (n - 1)
    lo = math.floor(pos)
    cut = ranked[lo] + (pos - lo) * (ranked[min(lo + 1, n - 1)] - ranked[lo])
    return [value > cut for value in lof]


def ref_repair(tokens, outliers, gh, gw):
    out = tokens.clone()
    for i, bad in enumerate(outliers):
        if not bad:
            continue
        row, col = divmod(i, gw)
        good = [
            tokens[r * gw + c]
            for r in (row - 1, row, row + 1)
            for c in (col - 1, col, col + 1)
            if (r, c) != (row, col) and 0 <= r < gh and 0 <= c < gw and not outliers[r * gw + c]
        ]
        if good:
            out[i] = torch.stack(good).mean(0)
    return out


def ref_cos(x):
    unit = x / x.norm(dim=-1, keepdim=True)
    return unit @ unit.T


def ref_thr(c):
    return torch.where(c < 0.4, torch.zeros_like(c), c)


def ref_agg(c, x):
    return (c / (c.sum(-1, keepdim=True) + 1e-6)) @ x


def ref_attn(kv, out_proj, z, m):
    """Per head: A = (softmax(G) + softmax(k k^T / sqrt(d))) / 2, G = 3 (M - mean M), G<0 -inf."""
    g = 3 * (m - m.mean())
    g = torch.where(g < 0, torch.full_like(g, -math.inf), g)
    ks, vs = kv(z)
    heads = []
    for k, v in zip(ks, vs, strict=True):
        a = 0.5 * (g.softmax(-1) + (k @ k.T / k.shape[-1] ** 0.5).softmax(-1))
        heads.append(a @ v)
    return out_proj(torch.cat(heads, -1))


def ref_scclip(hidden, kv, out_proj, head, prefix, gh, gw, s):
    """One window: ``hidden`` = [h_0 .. h_{L-2}] (tokens, C) with ``prefix`` tokens first."""
    pen = hidden[-1]
    outliers = ref_outliers(pen[prefix:])
    x = ref_repair(pen[prefix:], outliers, gh, gw)
    m = ref_cos(ref_repair(hidden[s["pre"]][prefix:], outliers, gh, gw))
    x = ref_agg(ref_thr(m), x)
    x = ref_attn(kv, out_proj, x, m) + s["res_cls"] * pen[0]
    c_post = ref_thr(ref_cos(hidden[s["post"]][prefix:]))
    x = ref_agg(c_post, x)
    r = sum(hidden[s["start"] : s["end"]])
    x = x + ref_agg(c_post, ref_attn(kv, out_proj, r[prefix:], m) + s["res_cls"] * r[0])
    return head(x), outliers


def openclip_reference(visual, image, s):
    """From open_clip's modules and weights directly (not through the Tower)."""
    x = visual.conv1(image[None]).flatten(2).transpose(1, 2)[0]
    x = torch.cat([visual.class_embedding[None], x]) + visual.positional_embedding
    x = visual.ln_pre(x)[None]
    hidden = []
    for block in visual.transformer.resblocks[:-1]:
        x = block(x)
        hidden.append(x[0])
    last = visual.transformer.resblocks[-1]
    mha, heads = last.attn, last.attn.num_heads

    def kv(z):
        qkv = F.linear(last.ln_1(z), mha.in_proj_weight, mha.in_proj_bias)
        k, v = qkv.chunk(3, dim=-1)[1:]
        return k.chunk(heads, -1), v.chunk(heads, -1)

    def out_proj(merged):
        return merged @ mha.out_proj.weight.T + mha.out_proj.bias

    def head(z):
        return visual.ln_post(z) @ visual.proj

    g = image.shape[-1] // 16
    return ref_scclip(hidden, kv, out_proj, head, 1, g, g, s)


def tower_reference(tower, image, s):
    """For any tower: its unchanged blocks and last-block pieces, the method's formulas here."""
    x = tower.embed(image[None])
    hidden = []
    for i in range(tower.depth - 1):
        x = tower.block(i, x)
        hidden.append(x[0])
    last = tower.depth - 1

    def kv(z):
        _, _, k, v = tower.qkv(last, z[None], 0)
        return list(k[0]), list(v[0])

    gh, gw = tower.grid(image[None])
    out, outliers = ref_scclip(
        hidden,
        kv,
        lambda merged: tower.attn_out(last, merged[None])[0],
        lambda z: tower.head(z[None])[0],
        tower.prefix,
        gh,
        gw,
        s,
    )
    return out, outliers


# --- towers ------------------------------------------------------------------------------
def perturb_(module, seed):
    """No zero biases / unit norms: every 1-D parameter gets noise."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.ndim == 1:
                p.add_(0.1 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return module


@pytest.fixture(scope="module")
def visual12(tmp_path_factory):
    """A tiny 12-layer ViT/16 at 224, so the published ViT-B/16 indices apply."""
    path = tmp_path_factory.mktemp("cfg") / "ViT-T12-16-scclip-test.json"
    config = json.loads((HERE / "model_configs" / f"{TINY}.json").read_text())
    config["vision_cfg"]["layers"] = 12
    path.write_text(json.dumps(config))
    open_clip.add_model_config(str(path))
    torch.manual_seed(0)
    visual = open_clip.create_model("ViT-T12-16-scclip-test").visual
    return perturb_(visual, 1).double().eval()


def windows(seed, *size, count=2):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(count, 3, *size, generator=gen, dtype=torch.float64)


# --- the method against the reference ----------------------------------------------------
def test_equals_reference_per_window_and_batch_equals_single(visual12):
    method = SCCLIP(OpenCLIPTower(visual12))
    cfg = method.settings
    assert (cfg.pre_adjust_idx, cfg.post_adjust_idx, cfg.multi_start, cfg.multi_end) == (
        8,
        3,
        3,
        10,
    )
    assert cfg.res_cls == 0.3
    images = windows(0, 224, 224)
    with torch.no_grad():
        got = method(images)
        alone = [method(images[i : i + 1]).patches[0] for i in range(2)]
        refs = [openclip_reference(visual12, image, B16) for image in images]
    assert got.cls is None and got.grid == (14, 14) and got.patches.shape == (2, 196, 32)
    for i, (ref, outliers) in enumerate(refs):
        assert sum(outliers) == 10  # 196 tokens: the ones above the 0.95 quantile
        assert (got.patches[i] - ref).abs().max() < 1e-10
        assert (alone[i] - got.patches[i]).abs().max() < 1e-12
    assert (refs[0][0] - refs[1][0]).abs().max() > 1e-3  # two different windows


def test_non_square_grid_equals_reference(visual12):
    method = SCCLIP(OpenCLIPTower(visual12))
    images = windows(1, 224, 288)  # 14 x 18 patches
    with torch.no_grad():
        got = method(images)
        refs = [tower_reference(method.tower, image, B16)[0] for image in images]
    assert got.grid == (14, 18)
    for i, ref in enumerate(refs):
        assert (got.patches[i] - ref).abs().max() < 1e-10


def test_options_override_the_published_settings(visual12):
    tower = OpenCLIPTower(visual12)
    images = windows(2, 224, 224, count=1)
    s = dict(pre=6, post=2, start=1, end=11, res_cls=0.5)
    options = dict(pre_adjust_idx=6, post_adjust_idx=2, multi_start=1, multi_end=11, res_cls=0.5)
    method = SCCLIP(tower, **options)
    assert "set explicitly" in method.settings.source
    with torch.no_grad():
        got, default = method(images).patches[0], SCCLIP(tower)(images).patches[0]
        ref = openclip_reference(visual12, images[0], s)[0]
    assert (got - ref).abs().max() < 1e-10
    assert (got - default).abs().max() > 1e-3


# --- anomaly detection and repair --------------------------------------------------------
def test_lof_matches_reference_and_flags_five_percent():
    gen = torch.Generator().manual_seed(3)
    tokens = torch.randn(2, 196, 16, generator=gen, dtype=torch.float64)
    tokens[1] *= torch.rand(196, 1, generator=gen, dtype=torch.float64) * 3
    got = lof_outliers(tokens)
    for b in range(2):
        assert got[b].tolist() == ref_outliers(tokens[b])
        assert int(got[b].sum()) == 10  # about 5 % of 196, whether or not anomalies exist


def test_planted_outliers_are_found_and_repaired():
    gh = gw = 14
    gen = torch.Generator().manual_seed(4)
    tokens = torch.randn(1, gh * gw, 8, generator=gen, dtype=torch.float64) * 0.1
    corner = [0, 1, gw, gw + 1]  # (0,0) has only outlier neighbours
    planted = corner + [5, 3 * gw + 13, 7 * gw + 7, 9 * gw + 2, 13 * gw + 6, 13 * gw + 13]
    for n, i in enumerate(planted):
        direction = torch.zeros(8, dtype=torch.float64)
        direction[n % 8] = 1.0
        tokens[0, i] += (20.0 + 5 * n) * direction * (1 if n < 8 else -1)
    outliers = lof_outliers(tokens)
    assert sorted(outliers[0].nonzero().flatten().tolist()) == sorted(planted)
    fixed = repair(tokens, outliers, (gh, gw))
    assert torch.equal(fixed[0, 0], tokens[0, 0])  # no usable neighbour: kept
    expected = {
        1: [2, gw + 2],  # (0,1): (0,0), (1,0), (1,1) are outliers
        gw + 1: [2, gw + 2, 2 * gw, 2 * gw + 1, 2 * gw + 2],
        3 * gw + 13: [2 * gw + 12, 2 * gw + 13, 3 * gw + 12, 4 * gw + 12, 4 * gw + 13],
        13 * gw + 13: [12 * gw + 12, 12 * gw + 13, 13 * gw + 12],
    }
    for i, sources in expected.items():
        assert torch.allclose(fixed[0, i], tokens[0, sources].mean(0), atol=1e-14, rtol=0)
    untouched = [i for i in range(gh * gw) if i not in planted]
    assert torch.equal(fixed[0, untouched], tokens[0, untouched])


def test_repair_uses_rows_and_columns_of_a_non_square_grid():
    gh, gw = 3, 5
    tokens = torch.arange(gh * gw, dtype=torch.float64)[None, :, None] * torch.ones(1, 1, 2)
    outliers = torch.zeros(1, gh * gw, dtype=torch.bool)
    outliers[0, [4, 5]] = True  # (0,4) last column, (1,0) first column
    fixed = repair(tokens, outliers, (gh, gw))
    assert fixed[0, 4, 0] == (3 + 8 + 9) / 3  # (0,3), (1,3), (1,4): no wrap to (1,0)
    assert fixed[0, 5, 0] == (0 + 1 + 6 + 10 + 11) / 5  # (0,0), (0,1), (1,1), (2,0), (2,1)
    for gh_, gw_ in ((3, 5), (5, 3)):
        x = torch.randn(1, gh_ * gw_, 4, dtype=torch.float64)
        mask = torch.rand(1, gh_ * gw_) < 0.4
        assert torch.allclose(repair(x, mask, (gh_, gw_))[0], ref_repair(x[0], mask[0], gh_, gw_))


# --- settings per depth ------------------------------------------------------------------
def test_depth_rule_reproduces_the_published_rows_and_scales_others():
    assert depth_settings(12)[0] == (8, 3, 3, 10, 0.3)
    assert depth_settings(24)[0] == (16, 6, 8, 19, 0.1)
    assert depth_settings(6)[0] == (4, 2, 2, 5, 0.3)
    assert depth_settings(32)[0] == (21, 8, 11, 25, 0.1)  # ViT-H from the ViT-L row
    assert depth_settings(18)[0] == (12, 5, 6, 14, 0.1)  # a tie goes to the deeper row
    assert "scaled to 32 layers" in depth_settings(32)[1]


def test_unusable_settings_are_one_line_config_errors():
    visual = open_clip.create_model(TINY).visual  # 2 layers: only h_0 exists
    with pytest.raises(ConfigError, match="pre_adjust_idx=1 is not in \\[0, 0\\]"):
        SCCLIP(OpenCLIPTower(visual))
    tower = OpenCLIPTower(visual)
    with pytest.raises(ConfigError, match="multi_start=0, multi_end=2"):
        SCCLIP(tower, pre_adjust_idx=0, post_adjust_idx=0, multi_start=0, multi_end=2)
    with pytest.raises(ConfigError, match="ignore_residual=True"):
        SCCLIP(tower, ignore_residual=False)
    visual32 = open_clip.create_model("ViT-T-32-test").visual  # 7 x 7 = 49 patches: enough
    shallow = dict(pre_adjust_idx=0, post_adjust_idx=0, multi_start=0, multi_end=1)
    assert SCCLIP(OpenCLIPTower(visual32), **shallow).settings.multi_end == 1
    visual32.image_size = (160, 160)  # 5 x 5 = 25 patches <= 30 neighbours
    with pytest.raises(ConfigError, match="more than 30 patches"):
        SCCLIP(OpenCLIPTower(visual32), **shallow)


# --- other families (6 layers: the depth rule) -------------------------------------------
def eva02_tower():
    torch.manual_seed(5)
    trunk = timm.create_model("eva02_tiny_test_patch16_clip_224", depth=6, num_classes=0)
    return EVA02Tower(perturb_(trunk, 6).double().eval())


def tips_tower():
    torch.manual_seed(7)
    name = published_formats.TINY_TIPS
    vit = timm.create_model(name, depth=6, num_classes=0, dynamic_img_size=True)
    return TIPSTower(perturb_(vit, 8).double().eval())


@pytest.mark.parametrize(("make", "size"), [(eva02_tower, (224, 224)), (tips_tower, (168, 224))])
def test_other_families_equal_the_reference(make, size):
    tower = make()
    method = SCCLIP(tower)
    assert method.settings.pre_adjust_idx == 4 and "12-layer settings scaled" in (
        method.settings.source
    )
    images = windows(9, *size)
    with torch.no_grad():
        got = method(images)
        refs = [tower_reference(tower, image, SIX)[0] for image in images]
    assert got.cls is None and got.grid == tower.grid(images)
    for i, ref in enumerate(refs):
        assert (got.patches[i] - ref).abs().max() < 1e-10
