"""ResCLIP (RCS + SFR) equals a per-window reference written from its published description;
its special rules (label map, path check, switches, layer indices) on constructed cases."""

from __future__ import annotations

import inspect
import math

import open_clip
import pytest
import timm
import torch
import torch.nn.functional as F
from open_clip.transformer import VisionTransformer

from conftest import TINY  # (registers the tiny models)
from dense.pamr import pamr
from dense.resclip import (
    PUBLISHED_SETTINGS,
    ResCLIP,
    block_mode,
    label_map,
    path_valid,
    settings,
    sfr_matrix,
)
from foundation.errors import ConfigError
from model_families.eva02 import EVA02Tower
from model_families.openclip_tower import OpenCLIPTower
from model_families.tips import TIPSTower
from published_formats import TINY_TIPS

OPTIONS = dict(logit_scale=400.0, temp_thd=0.25, rcs_tau=2.0, rcs_lambda=0.3)
OPTIONS |= dict(sfr_tau=2.1, sfr_lambda=0.7)  # ADE's SFR row; scale 400 gives random weights labels


# ---------------------------------------------------------------------------- the reference
def ref_pamr(image, masks, steps, dilations):
    """PAMR with unfold: 3x3 windows at each dilation (replicate borders), the std over all
    3x3 values of all dilations, softmax over the 8 neighbours of each dilation."""
    h, w = image.shape[-2:]

    def windows(x, d):  # (C, 9, H, W), entry 4 the centre
        pad = F.pad(x[None], [d] * 4, mode="replicate")
        return F.unfold(pad, 3, dilation=d).view(x.shape[0], 9, h, w)

    keep = [i for i in range(9) if i != 4]
    wins = [windows(image, d) for d in dilations]
    std = torch.cat(wins, 1).std(1, keepdim=True)
    near = torch.cat([win[:, keep] for win in wins], 1)
    aff = (-(near - image[:, None]).abs() / (1e-8 + 0.1 * std)).mean(0).softmax(0)
    for _ in range(steps):
        masks = (torch.cat([windows(masks, d)[:, keep] for d in dilations], 1) * aff).sum(1)
    return masks


def ref_labels(logits, patch, scale, thd):
    prob = (scale * logits).softmax(0)
    lab = prob.argmax(0)
    lab[prob.max(0).values < thd] = 0
    g = logits.shape[-1] // patch
    out = torch.zeros(g, g, dtype=torch.long)
    for a in range(g):
        for b in range(g):
            out[a, b] = (
                lab[a * patch : (a + 1) * patch, b * patch : (b + 1) * patch].flatten().mode()[0]
            )
    return out


def ref_valid(lab):
    """Plain loops over same-label pairs: all samples k <= d_ij at t = k / D carry label_i;
    (i, j) -> (valid, d_ij)."""
    g = lab.shape[0]
    grid = lab.tolist()
    cells = [(a, b) for a in range(g) for b in range(g)]
    top = g - 1
    valid = {}
    for i, (a, b) in enumerate(cells):
        for j, (c, e) in enumerate(cells):
            if grid[a][b] != grid[c][e]:
                continue
            d = max(abs(a - c), abs(b - e))
            ok = True
            for k in range(d + 1):
                t = k / top
                r, s = round((1 - t) * a + t * c), round((1 - t) * b + t * e)  # half to even
                ok = ok and grid[r][s] == grid[a][b]
            valid[i, j] = (ok, d)
    return valid, top


def ref_sfr(lab, sigma, prefix=1):
    g = lab.shape[0]
    n = g * g
    valid, top = ref_valid(lab)
    s = torch.zeros(n, n, dtype=torch.float64)
    for (i, j), (ok, d) in valid.items():
        s[i, j] = 1.0 if ok else math.exp(-d / top)
    size = min(n, int(6 * sigma + 1))
    size = size if size % 2 else size + 1
    half = size // 2
    wts = [math.exp(-(x**2) / (2 * sigma**2)) for x in range(-half, half + 1)]
    wts = [x / sum(wts) for x in wts]
    out = torch.zeros_like(s)
    for m, wt in zip(range(-half, half + 1), wts, strict=True):  # out[:, j] += w * s[:, j + m]
        lo, hi = max(0, -m), min(n, n - m)
        out[:, lo:hi] += wt * s[:, lo + m : hi + m]
    out = out.clamp(min=0)
    out = out / (out.sum(1, keepdim=True) + 1e-8)
    full = torch.zeros(n + prefix, n + prefix, dtype=torch.float64)
    full[prefix:, prefix:] = out
    return (full / full.max()).half().double()


def ref_omega(g, sigma):
    n = g * g
    om = torch.zeros(n + 1, n + 1, dtype=torch.float64)
    for i in range(n):
        for j in range(n):
            (a, b), (c, d) = divmod(i, g), divmod(j, g)
            om[i + 1, j + 1] = math.exp(-((a - c) ** 2 + (b - d) ** 2) / (2 * sigma**2))
    return om


def reference(
    visual, image, queries, use_rcs=True, use_sfr=True, residual=False, layers=(5, 6, 7, 8), **opt
):
    """One window (3, H, W) on open_clip's modules, fp64: (patches, cls, label map);
    ``residual``: the last block keeps its residual and MLP (published ``w_resi``)."""
    opt = OPTIONS | opt
    blocks = visual.transformer.resblocks
    g = image.shape[-1] // 16
    x = visual.conv1(image[None]).flatten(2).transpose(1, 2)
    x = torch.cat([visual.class_embedding.view(1, 1, -1), x], 1) + visual.positional_embedding
    x = visual.ln_pre(x)

    def heads(block, x):
        qkv = block.ln_1(x)[0] @ block.attn.in_proj_weight.T + block.attn.in_proj_bias
        h = block.attn.num_heads
        return [t.reshape(-1, h, t.shape[-1] // h).transpose(0, 1) for t in qkv.chunk(3, -1)]

    maps = []
    for i, block in enumerate(blocks[:-1]):
        if i in layers:
            q, k, _ = heads(block, x)
            maps.append((q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])).softmax(-1))
        x = block(x)
    _, k, v = heads(blocks[-1], x)
    omega = ref_omega(g, 5.0)

    def last(sfr):
        z = k @ k.transpose(1, 2) / math.sqrt(k.shape[-1])
        if sfr is not None:
            z = opt["sfr_tau"] * ((1 - opt["sfr_lambda"]) * z + opt["sfr_lambda"] * sfr)
        a = (z + omega).softmax(-1)
        if use_rcs:
            r = sum(maps) / len(maps)
            a = opt["rcs_tau"] * ((1 - opt["rcs_lambda"]) * a + opt["rcs_lambda"] * r)
        out = blocks[-1].attn.out_proj((a @ v).transpose(0, 1).reshape(v.shape[1], -1))
        if residual:
            out = x[0] + out
            out = out + blocks[-1].mlp(blocks[-1].ln_2(out))
        return visual.ln_post(out) @ visual.proj

    lab, sfr = None, None
    if use_sfr:
        f = F.normalize(last(None)[1:], dim=-1)
        logits = (f @ queries.T).T.reshape(-1, g, g)
        logits = F.interpolate(logits[None], size=image.shape[-2:], mode="bilinear")[0]
        logits = ref_pamr(image, logits, 10, (8, 16))
        lab = ref_labels(logits, 16, opt["logit_scale"], opt["temp_thd"])
        sfr = ref_sfr(lab, 5.0)
    tokens = last(sfr)
    return tokens[1:], tokens[0], lab


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """float64 matmuls on 2 busy cores are ~50x slower with 2 threads than with 1."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def visual():
    """A tiny 12-block ViT/16 (the published layer indices apply), fp64."""
    torch.manual_seed(0)
    vit = VisionTransformer(
        image_size=224, patch_size=16, width=64, layers=12, heads=4, mlp_ratio=4.0, output_dim=32
    )
    return vit.double().eval()


@pytest.fixture(scope="module")
def windows():
    """Two windows of colour regions (one label recurs across a barrier) plus noise."""
    torch.manual_seed(1)
    img = torch.zeros(2, 3, 224, 224, dtype=torch.float64)
    img[0, 0, :, :80] = img[0, 0, :, 150:] = 1.5  # A | B | A stripes
    img[0, 1, 120:] -= 1.0
    img[1, 2, 40:170, 60:190] = 2.0
    img[1, 1, :, :100] = -1.0
    return img + 0.1 * torch.randn_like(img)


@pytest.fixture(scope="module")
def queries(visual, windows):
    """Region means of the first-pass features (RCS, no SFR) less their window's mean: a
    label map with the stripes' label on both sides of the middle one (invalid pairs)."""
    with torch.no_grad():
        f = ResCLIP(OpenCLIPTower(visual), use_sfr=False, **OPTIONS)(windows).patches
    f = F.normalize(f, dim=-1).reshape(2, 14, 14, -1)
    mean = f.mean((1, 2))
    regions = [(0, f[0, :, :5]), (0, f[0, :7, 6:9]), (0, f[0, 8:, 6:9])]
    regions += [(1, f[1, 4:9, 5:10]), (1, f[1, :, :4])]
    means = [r.reshape(-1, f.shape[-1]).mean(0) - mean[b] for b, r in regions]
    return F.normalize(torch.stack(means), dim=-1)


# ---------------------------------------------------------------------------- the tests
def test_equals_the_reference_per_window_fp64(visual, windows, queries):
    method = ResCLIP(OpenCLIPTower(visual), **OPTIONS)
    assert ResCLIP.needs_queries and method.needs_queries
    with torch.no_grad():
        got = method(windows, queries)
        alone = [method(windows[b : b + 1], queries) for b in range(2)]
        maps = []
        for b in range(2):
            patches, cls, lab = reference(visual, windows[b], queries)
            maps.append(lab)
            assert (got.patches[b] - patches).abs().max() < 1e-10
            assert (got.cls[b] - cls).abs().max() < 1e-10
            assert (got.patches[b] - alone[b].patches[0]).abs().max() < 1e-12  # = alone
    assert got.grid == (14, 14)
    # window 0's feedback map: 3 labels, one on both sides of another (invalid pairs)
    flat = maps[0].flatten()
    assert len(flat.unique()) == 3
    same = flat[:, None] == flat[None, :]
    assert (same & ~path_valid(maps[0][None])[0]).any()


@pytest.mark.parametrize("flags", [(True, False), (False, True), (False, False)])
def test_switches_change_the_output_and_match_the_reference(visual, windows, queries, flags):
    use_rcs, use_sfr = flags
    tower = OpenCLIPTower(visual)
    with torch.no_grad():
        both = ResCLIP(tower, **OPTIONS)(windows[:1], queries).patches
        method = ResCLIP(tower, use_rcs=use_rcs, use_sfr=use_sfr, **OPTIONS)
        got = method(windows[:1], queries if use_sfr else None).patches
        want = reference(visual, windows[0], queries, use_rcs=use_rcs, use_sfr=use_sfr)[0]
    assert method.needs_queries == use_sfr
    recorded = settings(method)  # only the options that shape the output
    assert recorded["use_rcs"] == use_rcs and ("rcs_tau" in recorded) == use_rcs
    assert recorded["use_sfr"] == use_sfr and ("temp_thd" in recorded) == use_sfr
    assert (got[0] - want).abs().max() < 1e-10
    assert (got - both).abs().max() > 1e-3


def test_with_residual_matches_the_reference(visual, windows, queries):
    with torch.no_grad():
        got = ResCLIP(OpenCLIPTower(visual), ignore_residual=False, **OPTIONS)(windows[:1], queries)
        want = reference(visual, windows[0], queries, residual=True)
    assert (got.patches[0] - want[0]).abs().max() < 1e-10
    assert (got.cls[0] - want[1]).abs().max() < 1e-10


def test_sfr_needs_the_queries(visual, windows):
    with pytest.raises(ValueError, match="queries"):
        ResCLIP(OpenCLIPTower(visual))(windows[:1])


@pytest.mark.parametrize("dilations", [(8, 16), (1, 3)])
def test_pamr_equals_the_reference(dilations):
    torch.manual_seed(5)
    image = torch.randn(2, 3, 40, 48, dtype=torch.float64)
    image[1, :, :20] = 0.5  # a flat area: std 0 there
    masks = torch.randn(2, 4, 40, 48, dtype=torch.float64)
    got = pamr(image, masks, 3, dilations)
    for b in range(2):
        assert (got[b] - ref_pamr(image[b], masks[b], 3, dilations)).abs().max() < 1e-10
    assert (got - masks).abs().max() > 0.1
    flat = pamr(torch.zeros(1, 3, 16, 16, dtype=torch.float16), masks[:1, :, :16, :16].half())
    assert torch.isfinite(flat).all()  # computed in float32: no 0 / 0


def test_label_map_mode_ties_and_threshold():
    """4x4 pixels, patch 2, 3 queries; pixels with max P < 0.4 take query 0."""
    wanted = torch.tensor([[1, 2, 1, 2], [2, 1, 2, 0], [9, 9, 9, 2], [9, 9, 0, 2]])
    logits = torch.zeros(1, 3, 4, 4)
    for q in range(3):
        logits[0, q][wanted == q] = 10.0
    low = wanted == 9
    logits[0, :, low] = torch.tensor([0.0, 0.01, 0.02])[:, None]  # argmax 2, but P ~ 1/3
    got = label_map(logits, 2, 1.0, 0.4)
    # block (0,0): 1,2,2,1 tie -> 1; (0,1): 1,2,2,0 -> 2; (1,0): all low -> 0;
    # (1,1): 9->0 at (2,2), 2, 0, 2 -> tie 0/2 -> 0
    assert got.tolist() == [[[1, 2], [0, 0]]]
    assert label_map(logits, 2, 1.0, 0.3).tolist() == [[[1, 2], [2, 2]]]  # no threshold hit


def test_block_mode_equals_torch_mode():
    torch.manual_seed(2)
    labels = torch.randint(0, 4, (3, 12, 8))
    got = block_mode(labels, 2, 4)
    for b in range(3):
        for a in range(6):
            for c in range(4):
                cell = labels[b, 2 * a : 2 * a + 2, 2 * c : 2 * c + 2]
                assert got[b, a, c] == cell.flatten().mode()[0]


def test_path_check_barrier_and_loops():
    lab = torch.zeros(9, 9, dtype=torch.long)
    lab[:, 3] = 1
    valid = path_valid(lab[None])[0]
    assert valid[0, 4] and not valid[0, 8]  # (0,0)->(0,4) valid, (0,0)->(0,8) invalid
    torch.manual_seed(3)
    maps = torch.stack([lab, torch.randint(0, 3, (9, 9))])
    got = path_valid(maps)
    for b in range(2):
        want, _ = ref_valid(maps[b])
        assert all(got[b, i, j] == ok for (i, j), (ok, _) in want.items())  # same-label pairs


def test_sfr_matrix_on_the_barrier_map():
    lab = torch.zeros(9, 9, dtype=torch.long)
    lab[:, 3] = 1
    lab[4:, 6:] = 2
    got = sfr_matrix(lab[None], 1, 5.0, True, torch.float64)[0]
    assert torch.equal(got, ref_sfr(lab, 5.0))
    assert got[0].abs().sum() == 0 and got[:, 0].abs().sum() == 0


def test_defaults_are_the_published_cityscapes_row():
    p = inspect.signature(ResCLIP).parameters
    thd, rcs, sfr = PUBLISHED_SETTINGS["Cityscapes"]
    assert p["temp_thd"].default == thd
    assert (p["rcs_tau"].default, p["rcs_lambda"].default) == rcs
    assert (p["sfr_tau"].default, p["sfr_lambda"].default) == sfr
    assert p["layers"].default == (5, 6, 7, 8) and p["sigma"].default == 5.0
    assert (p["pamr_steps"].default, p["pamr_dilations"].default) == (10, (8, 16))


def test_too_shallow_tower_is_one_config_line():
    tower = OpenCLIPTower(open_clip.create_model(TINY).visual)  # 2 blocks
    with pytest.raises(ConfigError, match=r"\(5, 6, 7, 8\).*layers") as err:
        ResCLIP(tower)
    assert "\n" not in str(err.value)
    ResCLIP(tower, use_rcs=False)  # RCS off: no intermediate block is read
    ResCLIP(tower, layers=(0,))


def _eva():
    return EVA02Tower(timm.create_model("eva02_tiny_test_patch16_clip_224", num_classes=0).eval())


def _tips():
    return TIPSTower(timm.create_model(TINY_TIPS, img_size=224, num_classes=0).eval())


@pytest.mark.parametrize("make", [_eva, _tips], ids=["EVA02", "TIPS"])
def test_runs_on_other_families(make, windows):
    torch.manual_seed(4)
    tower = make()
    queries = F.normalize(torch.randn(3, 64), dim=-1)
    method = ResCLIP(tower, layers=(0,), logit_scale=400.0)
    images = windows.float()
    with torch.no_grad():
        out = method(images, queries)
        alone = method(images[1:], queries)
        plain = ResCLIP(tower, layers=(0,), use_sfr=False)(images)
    g = 224 // tower.patch_size
    assert out.patches.shape == (2, g * g, 64) and out.cls.shape == (2, 64) and out.grid == (g, g)
    assert torch.isfinite(out.patches).all()
    assert (out.patches[1] - alone.patches[0]).abs().max() < 1e-4
    assert (out.patches - plain.patches).abs().max() > 1e-4  # SFR changes the features
