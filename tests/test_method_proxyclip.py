"""ProxyCLIP: per-window equality with a plain reference written from the formulas (fp64),
the NaN guard on constructed windows, strict loading of the proxies' published (torch-hub)
layouts, and one-line errors. Proxies are tiny timm ViTs built like the real ones."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import open_clip
import pytest
import timm
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from timm.models import register_model
from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn

from conftest import ROOT, TINY
from dense.proxies import build_proxy, load_proxy, read_proxy_file
from dense.proxyclip import ProxyCLIP, proxy_attention
from foundation.errors import CheckpointError, ConfigError
from foundation.proxies import PROXIES, proxy_spec, resolve_proxy_file
from model_families.eva02 import EVA02Tower
from model_families.openclip_tower import OpenCLIPTower
from model_families.tips import TIPSTower
from published_formats import TINY_EVA, TINY_TIPS
from references import clip_vit_upto_last, gelu, layer_norm
from synthetic import random_state_dict, save_checkpoint

CLIP_MEAN, CLIP_STD = (122.771, 116.746, 104.094), (68.501, 66.632, 70.323)
TIPS_MEAN, TIPS_STD = (0.0, 0.0, 0.0), (255.0, 255.0, 255.0)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
WIDTH, DEPTH, HEADS = 32, 2, 2
FACTORY_ONLY = ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir")  # timm.create_model's


@register_model
def vit_tiny_test_patch8_dino(pretrained: bool = False, **kwargs) -> VisionTransformer:
    """vit_base_patch8_224's design (DINO ViT-B/8) at width 32, depth 2."""
    kwargs = {k: v for k, v in kwargs.items() if k not in FACTORY_ONLY}
    return VisionTransformer(patch_size=8, embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS, **kwargs)


@register_model
def vit_tiny_test_patch14_reg4_dinov2(pretrained: bool = False, **kwargs) -> VisionTransformer:
    """vit_base_patch14_reg4_dinov2's design (4 registers, LayerScale) at width 32, depth 2."""
    kwargs = {k: v for k, v in kwargs.items() if k not in FACTORY_ONLY}
    args = dict(init_values=1e-5, reg_tokens=4, no_embed_class=True)
    return VisionTransformer(
        patch_size=14, embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS, **args, **kwargs
    )


SMALL = dict(width=WIDTH, depth=DEPTH)
TINY_DINO = dataclasses.replace(PROXIES["dino-b8"], timm_model="vit_tiny_test_patch8_dino", **SMALL)
TINY_DINOV2 = dataclasses.replace(
    PROXIES["dinov2-b14-reg"], timm_model="vit_tiny_test_patch14_reg4_dinov2", **SMALL
)


# ---------------------------------------------------------------------------- hub layouts
def hub_state_dict(spec, seed=0, zeros=False) -> dict[str, torch.Tensor]:
    """Random weights under the published torch-hub key names: DINO's ``dino_vitb8`` and,
    with registers, DINOv2's ``dinov2_vitb14_reg`` (register_tokens, mask_token, ls1/ls2)."""
    gen = torch.Generator().manual_seed(seed)
    c, p, grid = spec.width, spec.patch, spec.image_size // spec.patch

    def rand(*shape, scale=0.2, base=0.0):
        if zeros:
            return torch.zeros(shape)
        # multiples of 2^-12: timm's fp32 conversion (cls_token + pos_embed[0]) is exact
        return base + (scale * torch.randn(*shape, generator=gen) * 4096).round() / 4096

    sd = {
        "cls_token": rand(1, 1, c),
        "pos_embed": rand(1, 1 + grid * grid, c),
        "patch_embed.proj.weight": rand(c, 3, p, p, scale=0.05),
        "patch_embed.proj.bias": rand(c),
        "norm.weight": rand(c, base=1.0),
        "norm.bias": rand(c),
    }
    if spec.registers:
        sd["register_tokens"] = rand(1, spec.registers, c)
        sd["mask_token"] = rand(1, c)
    for i in range(spec.depth):
        b = f"blocks.{i}."
        sd |= {
            b + "norm1.weight": rand(c, base=1.0),
            b + "norm1.bias": rand(c),
            b + "attn.qkv.weight": rand(3 * c, c),
            b + "attn.qkv.bias": rand(3 * c),
            b + "attn.proj.weight": rand(c, c),
            b + "attn.proj.bias": rand(c),
            b + "norm2.weight": rand(c, base=1.0),
            b + "norm2.bias": rand(c),
            b + "mlp.fc1.weight": rand(4 * c, c),
            b + "mlp.fc1.bias": rand(4 * c),
            b + "mlp.fc2.weight": rand(c, 4 * c),
            b + "mlp.fc2.bias": rand(c),
        }
        if spec.registers:
            sd[b + "ls1.gamma"] = rand(c, base=1.0)
            sd[b + "ls2.gamma"] = rand(c, base=1.0)
    return sd


@pytest.fixture(scope="module")
def dino_sd():
    return hub_state_dict(TINY_DINO, seed=1)


@pytest.fixture(scope="module")
def dinov2_sd():
    return hub_state_dict(TINY_DINOV2, seed=2)


@pytest.fixture(scope="module")
def dino_file(dino_sd, tmp_path_factory):
    path = tmp_path_factory.mktemp("proxy") / "dino_vitbase8_pretrain.pth"
    torch.save(dino_sd, path)
    return str(path)


@pytest.fixture(scope="module")
def dinov2_file(dinov2_sd, tmp_path_factory):
    path = tmp_path_factory.mktemp("proxy") / "dinov2_vitb14_reg4_pretrain.pth"
    torch.save(dinov2_sd, path)
    return str(path)


# ---------------------------------------------------------------------------- references
def reference_proxy(sd, spec, image):
    """The proxy's last block after its final norm, prefix dropped, as DINO / DINOv2's own
    code computes it from its hub weights: (HW, C) for one (3, H, W) window."""
    sd = {k: v.double() for k, v in sd.items()}
    c, p, heads, d = spec.width, spec.patch, HEADS, spec.width // HEADS
    w = sd["patch_embed.proj.weight"]
    x = F.conv2d(image[None], w, sd["patch_embed.proj.bias"], stride=p)[0]
    gh, gw = x.shape[-2:]
    x = x.flatten(1).T
    native = spec.image_size // p
    table = sd["pos_embed"][0, 1:].T.reshape(1, c, native, native)
    if (gh, gw) != (native, native) and spec.positions == "dino":
        scale = ((gh + 0.1) / native, (gw + 0.1) / native)
        table = F.interpolate(table, scale_factor=scale, mode="bicubic", align_corners=False)
    elif (gh, gw) != (native, native):
        table = F.interpolate(table, size=(gh, gw), mode="bicubic", antialias=True)
    pos = torch.cat([sd["pos_embed"][0, :1], table[0].flatten(1).T])
    x = torch.cat([sd["cls_token"][0], x]) + pos
    if spec.registers:
        x = torch.cat([x[:1], sd["register_tokens"][0], x[1:]])
    for i in range(spec.depth):
        b = f"blocks.{i}."
        ls1 = sd.get(b + "ls1.gamma", torch.ones(c, dtype=x.dtype))
        ls2 = sd.get(b + "ls2.gamma", torch.ones(c, dtype=x.dtype))
        y = layer_norm(x, sd[b + "norm1.weight"], sd[b + "norm1.bias"], 1e-6)
        q, k, v = (y @ sd[b + "attn.qkv.weight"].T + sd[b + "attn.qkv.bias"]).chunk(3, -1)
        out = []
        for h in range(heads):
            sl = slice(h * d, (h + 1) * d)
            out.append(torch.softmax(q[:, sl] @ k[:, sl].T * d**-0.5, -1) @ v[:, sl])
        x = x + ls1 * (torch.cat(out, -1) @ sd[b + "attn.proj.weight"].T + sd[b + "attn.proj.bias"])
        y = layer_norm(x, sd[b + "norm2.weight"], sd[b + "norm2.bias"], 1e-6)
        hidden = gelu(y @ sd[b + "mlp.fc1.weight"].T + sd[b + "mlp.fc1.bias"])
        x = x + ls2 * (hidden @ sd[b + "mlp.fc2.weight"].T + sd[b + "mlp.fc2.bias"])
    x = layer_norm(x, sd["norm.weight"], sd["norm.bias"], 1e-6)
    return x[spec.prefix :], (gh, gw)


def reference_attention(f, gamma=3.0, beta=1.2):
    """The published proxy attention of one window (no guard: NaN where a row dies)."""
    f = f / f.norm(dim=-1, keepdim=True).clamp_min(1e-12)  # a zero token stays zero
    s = f @ f.T
    z = gamma * (s - beta * s.mean())
    z[z < 0] = float("-inf")
    return torch.softmax(z, dim=-1)


def proxy_image(image, mean, std):
    """Un-normalise with the family's mean/std (0-255), back to [0, 1], ImageNet-normalise."""
    out = torch.empty_like(image)
    for ch in range(3):
        rgb = (image[ch] * std[ch] + mean[ch]) / 255
        out[ch] = (rgb - IMAGENET_MEAN[ch]) / IMAGENET_STD[ch]
    return out


def resize_heads(v, heads, clip_grid, grid):
    """(N, C) patch values -> (H*W, C), each head's (gh, gw) map resized bilinearly."""
    d = v.shape[-1] // heads
    out = []
    for h in range(heads):
        maps = v[:, h * d : (h + 1) * d].T.reshape(1, d, *clip_grid)
        maps = F.interpolate(maps, size=grid, mode="bilinear", align_corners=False)
        out.append(maps[0].flatten(1).T)
    return torch.cat(out, dim=-1)


def reference_openclip(sd, proxy_sd, spec, image, guard_identity=False):
    """ProxyCLIP on one window of the open_clip ViT with weights ``sd`` (keys visual.*)."""
    f, grid = reference_proxy(proxy_sd, spec, proxy_image(image, CLIP_MEAN, CLIP_STD))
    a = torch.eye(len(f), dtype=f.dtype) if guard_identity else reference_attention(f)
    x, layers = clip_vit_upto_last(sd, image[None], 4)
    b = f"visual.transformer.resblocks.{layers - 1}."
    y = layer_norm(x[0], sd[b + "ln_1.weight"], sd[b + "ln_1.bias"], 1e-5)
    width = y.shape[-1]
    v = y @ sd[b + "attn.in_proj_weight"][2 * width :].T + sd[b + "attn.in_proj_bias"][2 * width :]
    g = image.shape[-1] // 16
    v = resize_heads(v[1:], 4, (g, g), grid)
    out = a @ v @ sd[b + "attn.out_proj.weight"].T + sd[b + "attn.out_proj.bias"]
    out = layer_norm(out, sd["visual.ln_post.weight"], sd["visual.ln_post.bias"], 1e-5)
    return out @ sd["visual.proj"]


def reference_tower(tower, proxy_sd, spec, image, mean, std):
    """ProxyCLIP on one window of any tower: the tower gives its unchanged blocks, per-head
    values, output projection and head; the proxy and attention are the references."""
    f, grid = reference_proxy(proxy_sd, spec, proxy_image(image, mean, std))
    a = reference_attention(f)
    last = tower.depth - 1
    x = tower.run_blocks(tower.embed(image[None]), last)
    _, _, _, v = tower.qkv(last, x, tower.prefix)
    v = v[0, :, tower.prefix :].transpose(0, 1).flatten(1)  # (N, heads * d)
    v = resize_heads(v, tower.num_heads, tower.grid(image[None]), grid)
    return tower.head(tower.attn_out(last, (a @ v)[None]))[0]


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def clip():
    sd = {k: v.double() for k, v in random_state_dict(TINY, seed=3).items()}
    model = open_clip.create_model(TINY)
    model.load_state_dict(sd)
    return sd, OpenCLIPTower(model.visual.double().eval())


def windows(n, size=224, seed=0, mean=CLIP_MEAN, std=CLIP_STD):
    """Model-ready windows: random RGB in [0, 255], normalised with the family's mean/std."""
    gen = torch.Generator().manual_seed(seed)
    rgb = F.interpolate(torch.rand(n, 3, size // 8, size // 8, generator=gen) * 255, size=size)
    rgb = rgb.double() + torch.rand(n, 3, size, size, generator=gen, dtype=torch.float64) * 20
    m, s = torch.tensor(mean, dtype=torch.float64), torch.tensor(std, dtype=torch.float64)
    return (rgb - m[:, None, None]) / s[:, None, None]


# ---------------------------------------------------------------------------- equality
@pytest.mark.parametrize("spec", [TINY_DINO, TINY_DINOV2], ids=["dino", "dinov2"])
def test_equals_the_per_window_reference(clip, spec, dino_file, dinov2_file, dino_sd, dinov2_sd):
    sd, tower = clip
    path, proxy_sd = (dino_file, dino_sd) if spec is TINY_DINO else (dinov2_file, dinov2_sd)
    method = ProxyCLIP(tower, proxy=load_proxy(spec, path))
    images = windows(2)
    with torch.no_grad():
        out = method(images)
        alone = [method(images[i : i + 1]).patches for i in range(2)]
    grid = (28, 28) if spec is TINY_DINO else (16, 16)  # B/8: 224/8; B/14 at 224: 224/14
    assert out.grid == grid and out.cls is None and out.patches.shape == (2, grid[0] * grid[1], 32)
    for i in range(2):
        want = reference_openclip(sd, proxy_sd, spec, images[i])
        assert (out.patches[i] - want).abs().max().item() < 1e-10
        assert (alone[i][0] - out.patches[i]).abs().max().item() < 1e-12
    assert method.guarded_rows == 0 and method.guarded_windows == 0


@pytest.mark.parametrize("family", ["eva02", "tips"])
def test_runs_on_eva02_and_tips_towers(family, dino_file, dino_sd):
    torch.manual_seed(5)
    if family == "eva02":
        tower = EVA02Tower(open_clip.create_model(TINY_EVA).visual.trunk.double().eval())
        mean, std, size = CLIP_MEAN, CLIP_STD, 224
    else:  # TIPS windows are 448 (a 56x56 DINO grid: DINO's own position interpolation)
        vit = timm.create_model(TINY_TIPS, pretrained=False, img_size=448, num_classes=0)
        tower, mean, std, size = TIPSTower(vit.double().eval()), TIPS_MEAN, TIPS_STD, 448
    method = ProxyCLIP(
        tower, proxy=load_proxy(TINY_DINO, dino_file), preprocess=dict(mean=mean, std=std)
    )
    images = windows(2, size, seed=6, mean=mean, std=std)
    with torch.no_grad():
        out = method(images)
        for i in range(2):
            want = reference_tower(tower, dino_sd, TINY_DINO, images[i], mean, std)
            assert (out.patches[i] - want).abs().max().item() < 1e-10
    assert out.grid == (size // 8, size // 8)


# ---------------------------------------------------------------------------- NaN guard
def test_guard_on_a_uniform_window_keeps_each_token_alone(clip, dino_sd):
    """Equal proxy features (uniform window, no patch positions): mean cosine 1 > 1/beta, so
    the published softmax is NaN on every row; ours is the identity there (each token its own
    value) and leaves the other window of the batch exactly as published."""
    sd, tower = clip
    flat = dict(
        dino_sd,
        pos_embed=torch.cat([dino_sd["pos_embed"][:, :1], 0 * dino_sd["pos_embed"][:, 1:]], 1),
    )
    method = ProxyCLIP(tower, proxy=build_proxy(TINY_DINO, flat, "flat"))
    images = windows(2, seed=7)
    images[0] = images[0, :, :1, :1]  # one colour
    f, _ = reference_proxy(flat, TINY_DINO, proxy_image(images[0], CLIP_MEAN, CLIP_STD))
    assert torch.isnan(reference_attention(f)).all()  # the published formula
    with torch.no_grad():
        out = method(images)
    assert torch.isfinite(out.patches).all()
    identity = reference_openclip(sd, flat, TINY_DINO, images[0], guard_identity=True)
    assert (out.patches[0] - identity).abs().max().item() < 1e-10
    assert (out.patches[1] - reference_openclip(sd, flat, TINY_DINO, images[1])).abs().max() < 1e-10
    assert (method.guarded_rows, method.guarded_windows) == (784, 1)
    with torch.no_grad():
        method(images[:1])
    assert (method.guarded_rows, method.guarded_windows) == (2 * 784, 2)


def test_guard_changes_only_rows_that_would_be_nan():
    """A zero feature has cosine 0 with everything: its row alone is all below the threshold."""
    gen = torch.Generator().manual_seed(8)
    f = torch.rand(2, 6, 4, generator=gen, dtype=torch.float64)
    f[1, 2] = 0
    a, dead = proxy_attention(f.clone(), 3.0, 1.2)
    assert dead.tolist() == [[False] * 6, [False, False, True, False, False, False]]
    want0, want1 = reference_attention(f[0]), reference_attention(f[1])
    assert torch.isnan(want1[2]).all() and not torch.isnan(want1[[0, 1, 3, 4, 5]]).any()
    assert (a[0] - want0).abs().max() < 1e-15
    assert (a[1, [0, 1, 3, 4, 5]] - want1[[0, 1, 3, 4, 5]]).abs().max() < 1e-15
    assert a[1, 2].tolist() == [0, 0, 1, 0, 0, 0]


# ---------------------------------------------------------------------------- loading
def test_dino_hub_layout_loads_strictly(dino_file, dino_sd):
    proxy = load_proxy(TINY_DINO, dino_file)
    got = proxy.vit.state_dict()
    assert set(got) == set(dino_sd)  # the hub names are timm's; nothing left over
    assert all(torch.equal(got[k], dino_sd[k]) for k in dino_sd)


def test_dinov2_hub_layout_loads_strictly_and_matches_timm_at_224(dinov2_file, dinov2_sd):
    proxy = load_proxy(TINY_DINOV2, dinov2_file)
    vit = proxy.vit
    assert torch.equal(vit.cls_token, dinov2_sd["cls_token"] + dinov2_sd["pos_embed"][:, :1])
    assert torch.equal(vit.pos_embed, dinov2_sd["pos_embed"][:, 1:])
    assert torch.equal(vit.reg_token, dinov2_sd["register_tokens"])
    assert torch.equal(vit.blocks[1].ls2.gamma, dinov2_sd["blocks.1.ls2.gamma"])
    image = windows(1, seed=9)[0]
    # timm built at 224 resamples the table once at load (as the hub resamples per call):
    # the same fp32 features as ours, built at 518 and resampled per window size.
    fixed = timm.create_model(TINY_DINOV2.timm_model, img_size=224, num_classes=0)
    fixed.load_state_dict(checkpoint_filter_fn(dict(dinov2_sd), fixed))
    with torch.no_grad():
        ours_fp32 = proxy(image[None].float())
        timm_224 = fixed.forward_features(image[None].float())[:, 5:]
        got = proxy.double()(image[None])[0]
    assert (ours_fp32 - timm_224).abs().max().item() < 1e-6
    want, grid = reference_proxy(dinov2_sd, TINY_DINOV2, image)
    assert grid == (16, 16) and (got - want).abs().max().item() < 1e-10


def test_timm_own_safetensors_file_loads(tmp_path, dinov2_sd, dinov2_file):
    vit = build_proxy(TINY_DINOV2, dinov2_sd, "mem").vit
    path = str(tmp_path / "model.safetensors")
    save_file({k: v.contiguous() for k, v in vit.state_dict().items()}, path)
    again = load_proxy(TINY_DINOV2, path).vit.state_dict()
    assert all(torch.equal(again[k], v) for k, v in vit.state_dict().items())
    assert set(read_proxy_file(dinov2_file)) == set(dinov2_sd)


def test_real_b_size_proxies_load_their_hub_layouts():
    """The published ViT-B/8 and ViT-B/14-reg4 architectures take their hub key names
    strictly (zero weights; a small window runs through DINO-B/8's own interpolation)."""
    for name in PROXIES:
        spec = PROXIES[name]
        sd = hub_state_dict(spec, zeros=True)
        proxy = build_proxy(spec, sd, name)
        assert proxy.vit.patch_embed.proj.weight.shape == (768, 3, spec.patch, spec.patch)
        # DINOv2: register_tokens -> reg_token, mask_token (training only) dropped
        assert len(proxy.vit.state_dict()) == len(sd) - (1 if spec.registers else 0)
        if name == "dino-b8":
            with torch.no_grad():
                assert proxy(torch.zeros(1, 3, 64, 64)).shape == (1, 64, 768)
        del proxy, sd


# ---------------------------------------------------------------------------- errors
def one_line(info) -> str:
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_weights_name_where_they_are_published(clip, tmp_path):
    _, tower = clip
    with pytest.raises(CheckpointError) as info:
        ProxyCLIP(tower, proxy="dino-b8", proxy_pretrained=str(tmp_path / "nope.pth"))
    msg = one_line(info)
    assert "nope.pth not found" in msg and PROXIES["dino-b8"].url in msg
    with pytest.raises(CheckpointError) as info:
        ProxyCLIP(tower, proxy="dinov2")  # no file at all
    assert PROXIES["dinov2-b14-reg"].url in one_line(info) and "--proxy-pretrained" in str(
        info.value
    )


def test_published_file_name_in_the_checkpoint_dir_is_found(tmp_path):
    (tmp_path / "dino_vitbase8_pretrain.pth").write_bytes(b"x")
    assert resolve_proxy_file("DINO-B8", None, str(tmp_path)) == str(
        tmp_path / "dino_vitbase8_pretrain.pth"
    )


def test_wrong_files_are_one_line(clip, tmp_path, dinov2_file, dino_file, dino_sd):
    _, tower = clip
    with pytest.raises(CheckpointError) as info:
        ProxyCLIP(tower, proxy="dino-b8", proxy_pretrained=dinov2_file)
    assert "like --proxy dinov2-b14-reg" in one_line(info) and "patch 14" in str(info.value)
    clip_file = save_checkpoint(random_state_dict(TINY, seed=5), str(tmp_path / "clip.pt"))
    with pytest.raises(CheckpointError) as info:
        ProxyCLIP(tower, proxy="dino-b8", proxy_pretrained=clip_file)
    assert "looks like a CLIP checkpoint" in one_line(info)
    with pytest.raises(CheckpointError) as info:
        ProxyCLIP(tower, proxy="dino-b8", proxy_pretrained=dino_file)  # a ViT-T, not a ViT-B
    assert "width 32" in one_line(info) and "DINO ViT-B/8" in str(info.value)
    broken = dict(dino_sd)
    del broken["blocks.1.mlp.fc2.bias"]
    with pytest.raises(CheckpointError) as info:
        build_proxy(TINY_DINO, broken, "broken.pth")
    assert "missing blocks.1.mlp.fc2.bias" in one_line(info)
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(CheckpointError) as info:
        load_proxy("dino-b8", str(text))
    one_line(info)


def test_options_are_checked(clip, dino_file):
    _, tower = clip
    assert proxy_spec("DINOv2").name == "dinov2-b14-reg" and proxy_spec("dino").name == "dino-b8"
    with pytest.raises(ConfigError) as info:
        proxy_spec("sam")
    assert "dino-b8, dinov2-b14-reg" in one_line(info)
    with pytest.raises(ConfigError):
        ProxyCLIP(tower, ignore_residual=False, proxy=load_proxy(TINY_DINO, dino_file))
    method = ProxyCLIP(tower, proxy=load_proxy(TINY_DINO, dino_file), gamma=2.0, beta=1.0)
    assert method.options == {
        "proxy": "dino-b8",
        "proxy_model": "vit_tiny_test_patch8_dino",
        "gamma": 2.0,
        "beta": 1.0,
    }


def test_the_proxy_table_imports_no_torch():
    code = "import sys, foundation.proxies; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
