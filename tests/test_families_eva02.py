"""EVA02-CLIP (CLIPSelf, FineCLIP): published file formats, strict loading, and text/dense
features equal to a per-formula EVA02 written here from docs/models.md (fp32, 1e-5)."""

from __future__ import annotations

import json
import os

import cv2
import pytest
import torch
import torch.nn.functional as F

import eval_customized
from conftest import TINY, cli_args, out_dir
from foundation.errors import CheckpointError
from foundation.zoo import ModelSource, resolve_source
from model_families import load_model
from published_formats import TINY_EVA, eva02_fork_state_dict, save_training_checkpoint
from references import VARIANTS, attention_output, clip_text, layer_norm
from synthetic import make_dataset, random_state_dict, save_checkpoint


# ---------------------------------------------------------------------------- reference
def rope_tables(grid: int, head_dim: int, pt: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """EVA's VisionRotaryEmbeddingFast: 1/10000^(2i/d) for d = head_dim/2, positions
    arange(grid)/grid*pt, each frequency twice (interleaved); row half then column half."""
    half = head_dim // 2
    freqs = 1.0 / 10000 ** (torch.arange(0, half, 2).float() / half)
    pos = torch.arange(grid) / grid * pt
    f = torch.outer(pos, freqs).repeat_interleave(2, dim=-1)  # (grid, half)
    rows = f[:, None, :].expand(grid, grid, half)
    cols = f[None, :, :].expand(grid, grid, half)
    angles = torch.cat([rows, cols], dim=-1).reshape(grid * grid, head_dim)
    return angles.cos(), angles.sin()


def rotate_pairs(t: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) on interleaved pairs."""
    return torch.stack([-t[..., 1::2], t[..., 0::2]], dim=-1).reshape(t.shape)


def rope(t: torch.Tensor, heads: int, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """RoPE on the patch tokens (not CLS) of every head of t (B, N, C)."""
    d = t.shape[-1] // heads
    out = t.clone()
    for h in range(heads):
        sl = slice(h * d, (h + 1) * d)
        p = t[:, 1:, sl]
        out[:, 1:, sl] = p * cos + rotate_pairs(p) * sin
    return out


def ln(sd, key, x):
    return layer_norm(x, sd[key + ".weight"], sd[key + ".bias"], 1e-6)


def lin(sd, key, x, bias=True):
    return x @ sd[key + ".weight"].T + (sd[key + ".bias"] if bias else 0)


def qkv(sd, p, y):
    q = y @ sd[p + "attn.q_proj.weight"].T + sd[p + "attn.q_bias"]
    k = y @ sd[p + "attn.k_proj.weight"].T
    v = y @ sd[p + "attn.v_proj.weight"].T + sd[p + "attn.v_bias"]
    return q, k, v


def swiglu_ffn(sd, p, x):
    y = ln(sd, p + "norm2", x)
    hidden = F.silu(lin(sd, p + "mlp.w1", y)) * lin(sd, p + "mlp.w2", y)
    return x + lin(sd, p + "mlp.w3", ln(sd, p + "mlp.ffn_ln", hidden))


def eva_reference(sd, images, heads, model_type=None, ignore_residual=True):
    """(B, 1 + g*g, D) tokens after the head, straight from the fork's keys. ``model_type``
    None: the published last block (value-only + residual + FFN)."""
    w = sd["visual.patch_embed.proj.weight"]
    patch = w.shape[-1]
    x = F.conv2d(images, w, sd["visual.patch_embed.proj.bias"], stride=patch)
    grid = x.shape[-1]
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([sd["visual.cls_token"].expand(len(x), 1, -1), x], 1) + sd["visual.pos_embed"]
    cos, sin = rope_tables(grid, x.shape[-1] // heads)
    depth = len({k.split(".")[2] for k in sd if k.startswith("visual.blocks.")})
    for i in range(depth):
        p = f"visual.blocks.{i}."
        y = ln(sd, p + "norm1", x)
        q, k, v = qkv(sd, p, y)
        if i < depth - 1:
            q, k = rope(q, heads, cos, sin), rope(k, heads, cos, sin)
            d = q.shape[-1] // heads
            a = torch.cat(
                [
                    torch.softmax(
                        q[..., h * d : (h + 1) * d]
                        @ k[..., h * d : (h + 1) * d].transpose(1, 2)
                        * d**-0.5,
                        -1,
                    )
                    @ v[..., h * d : (h + 1) * d]
                    for h in range(heads)
                ],
                dim=-1,
            )
            x = swiglu_ffn(sd, p, x + lin(sd, p + "attn.proj", ln(sd, p + "attn.inner_attn_ln", a)))
        elif model_type is None:  # the published forward_without_attn
            x = x + lin(sd, p + "attn.proj", ln(sd, p + "attn.inner_attn_ln", v))
            x = swiglu_ffn(sd, p, x)
        else:
            q, k = rope(q, heads, cos, sin), rope(k, heads, cos, sin)
            a = attention_output(model_type, q, k, v, heads, grid, y)
            out = lin(sd, p + "attn.proj", ln(sd, p + "attn.inner_attn_ln", a))
            x = out if ignore_residual else swiglu_ffn(sd, p, x + out)
    return lin(sd, "visual.head", ln(sd, "visual.norm", x))


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def fork_sd():
    return eva02_fork_state_dict(TINY_EVA, seed=3)


@pytest.fixture(scope="module")
def eva_file(fork_sd, tmp_path_factory):
    """The tiny model saved as the published training runs are: {'state_dict': module.*}."""
    path = tmp_path_factory.mktemp("eva") / "eva_vitt16_coco_clipself_proposals.pt"
    return save_training_checkpoint(fork_sd, str(path))


def source(path, vit=TINY_EVA, method="CLIPSelf"):
    return ModelSource(method, vit, path, None, False, False, "eva02")


@pytest.fixture(scope="module")
def eva(eva_file):
    return load_model(source(eva_file))


# ---------------------------------------------------------------------------- loading
@pytest.mark.parametrize("wrapper", ["state_dict", "model", "module", None])
def test_published_wrappers_load_strictly(fork_sd, tmp_path, wrapper):
    path = str(tmp_path / "w.pt")
    if wrapper is None:
        torch.save(fork_sd, path)  # bare, with the RoPE buffers
    else:
        save_training_checkpoint(fork_sd, path, wrapper)
    model = load_model(source(path))
    got = model.clip.visual.trunk.blocks[0].attn.q_proj.bias
    assert torch.equal(got, fork_sd["visual.blocks.0.attn.q_bias"])
    assert torch.equal(model.clip.text.text_projection, fork_sd["text.text_projection"])


def test_rope_buffers_are_optional_and_text_logit_scale_is_renamed(fork_sd, tmp_path):
    sd = {k: v for k, v in fork_sd.items() if "freqs_" not in k}
    sd["text.logit_scale"] = sd.pop("logit_scale")  # as EVA's own releases name it
    path = save_checkpoint(sd, str(tmp_path / "w.pt"))
    model = load_model(source(path))
    assert torch.equal(model.clip.logit_scale, fork_sd["logit_scale"])


@pytest.mark.parametrize("change", ["missing", "extra", "shape"])
def test_a_missing_or_extra_key_is_one_error_line(fork_sd, tmp_path, change):
    sd = dict(fork_sd)
    if change == "missing":
        del sd["visual.blocks.1.mlp.ffn_ln.weight"]
        expected = "missing visual.trunk.blocks.1.mlp.norm.weight"
    elif change == "extra":
        sd["visual.blocks.0.attn.k_bias"] = torch.zeros(64)
        expected = "unexpected visual.trunk.blocks.0.attn.k_bias"
    else:
        sd["visual.head.weight"] = torch.zeros(16, 64)
        expected = "shape mismatch visual.trunk.head.weight"
    path = save_checkpoint(sd, str(tmp_path / "w.pt"))
    with pytest.raises(CheckpointError) as info:
        load_model(source(path))
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_files_of_other_families_are_named(tmp_path, eva_file):
    clip_file = save_checkpoint(random_state_dict(TINY, seed=5), str(tmp_path / "clip.pt"))
    with pytest.raises(CheckpointError, match="looks like an OpenCLIP checkpoint.*--method CLIP"):
        load_model(source(clip_file, vit=TINY_EVA))
    clip_source = ModelSource("CLIP", TINY, eva_file, None, False, None, "openclip")
    with pytest.raises(CheckpointError, match="EVA02-CLIP.*--method CLIPSelf or FineCLIP"):
        load_model(clip_source)


# ---------------------------------------------------------------------------- features
def test_text_features_equal_the_clip_text_formula(eva, fork_sd):
    prompts = ["a photo of a road.", "a bad photo of the building,roof.", "tree"]
    tokens = eva.tokenize(prompts)
    with torch.no_grad():
        got = eva.encode_text(tokens)
        want = clip_text(fork_sd, "text.", tokens, 2, fork_sd["text.text_projection"])
    assert (got - want).abs().max().item() <= 1e-5


def test_published_dense_path_equals_the_formula(eva, fork_sd):
    torch.manual_seed(0)
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        got = eva.dense_features(images, "MaskCLIP", False)  # the zoo's published path
        want = eva_reference(fork_sd, images, heads=2)
    assert got.shape == (2, 197, 32)
    assert (got - want).abs().max().item() <= 1e-5
    # the published code returns F.normalize of the patch tokens
    diff = F.normalize(got[:, 1:], dim=-1) - F.normalize(want[:, 1:], dim=-1)
    assert diff.abs().max().item() <= 1e-5


@pytest.mark.parametrize("name", VARIANTS)
def test_every_attention_on_the_eva_last_block(eva, fork_sd, name):
    torch.manual_seed(1)
    images = torch.randn(1, 3, 224, 224)
    for ignore_residual in (True, False):
        with torch.no_grad():
            got = eva.dense_features(images, name, ignore_residual)
            want = eva_reference(fork_sd, images, 2, name, ignore_residual)
        assert (got - want).abs().max().item() <= 1e-5, (name, ignore_residual)


def test_real_vit_b16_shape_from_the_zoo_file_name(tmp_path):
    """EVA02-CLIP-B-16 (width 768, 12 heads, SwiGLU 2048, RoPE 14x14 from 16) with random
    weights, found under its published name by --method CLIPSelf --vit-type ViT-B-16."""
    sd = eva02_fork_state_dict("EVA02-B-16", seed=7)
    save_training_checkpoint(sd, str(tmp_path / "eva_vitb16_coco_clipself_proposals.pt"))
    src = resolve_source("CLIPSelf", "ViT-B-16", checkpoint_dir=str(tmp_path))
    assert src.checkpoint == str(tmp_path / "eva_vitb16_coco_clipself_proposals.pt")
    model = load_model(src)
    assert model.image_size == (224, 224) and model.patch_size == 16
    torch.manual_seed(2)
    images = torch.randn(1, 3, 224, 224)
    tokens = model.tokenize(["a photo of a harbor.", "a road"])
    with torch.no_grad():
        got = model.dense_features(images, "MaskCLIP", False)
        want = eva_reference(sd, images, heads=12)
        text = model.encode_text(tokens)
        text_want = clip_text(sd, "text.", tokens, 8, sd["text.text_projection"])
    assert got.shape == (1, 197, 512)
    assert (F.normalize(got, dim=-1) - F.normalize(want, dim=-1)).abs().max().item() <= 1e-5
    assert (text - text_want).abs().max().item() <= 1e-5


# ---------------------------------------------------------------------------- CLI
def cli(method, vit, ckpt, root, work, *extra):
    return eval_customized.main(cli_args(ckpt, root, work, *extra, method=method, vit_type=vit))


def test_cli_default_is_the_published_path_and_model_type_extends_it(eva_file, tmp_path, capsys):
    root = str(tmp_path / "data")
    make_dataset(root, "UDD5Dataset", count=2, seed=11)
    make_dataset(root, "VDDDataset", count=1, seed=12)
    work, preds = tmp_path / "w", tmp_path / "p"
    datasets = "UDD5Dataset,VDDDataset"
    argv = ("--datasets", datasets, "--pred-dir", str(preds))
    assert cli("FineCLIP", TINY_EVA, eva_file, root, work, *argv) == 0
    out = capsys.readouterr().out
    run_dir = out_dir(work, "FineCLIP", TINY_EVA)
    settings = json.load(open(os.path.join(run_dir, "settings.json")))
    assert (settings["model_type"], settings["ignore_residual"]) == ("MaskCLIP", False)
    assert settings["dense_path"].startswith("published (value-only last block")
    assert settings["precision"] == "fp32" and "dense_path=published" in out
    published = read_predictions(preds)

    assert cli("FineCLIP", TINY_EVA, eva_file, root, work, *argv, "--model-type", "GEM") == 0
    settings = json.load(open(os.path.join(out_dir(work, "FineCLIP", TINY_EVA), "settings.json")))
    assert settings["model_type"] == "GEM" and settings["ignore_residual"] is True
    assert settings["dense_path"].startswith("extension: GEM attention")
    gem = read_predictions(preds)
    assert published.keys() == gem.keys() and len(gem) == 3
    assert any((published[k] != gem[k]).mean() > 0.01 for k in gem)


def read_predictions(folder) -> dict:
    return {
        name: cv2.imread(os.path.join(root, name), cv2.IMREAD_UNCHANGED)
        for root, _, files in os.walk(str(folder))
        for name in files
    }
