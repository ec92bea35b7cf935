"""COSMOS: open_clip keys + 17 training-only keys ignored by name, strict otherwise; text and
the published CSA dense path equal per-formula references (docs/models.md; fp32, 1e-5)."""

from __future__ import annotations

import json
import os

import pytest
import torch
import torch.nn.functional as F

import eval_customized
from conftest import TINY, cli_args, out_dir
from foundation.errors import CheckpointError
from foundation.zoo import ModelSource, resolve_source
from model_families import load_model
from published_formats import cosmos_state_dict, flair_state_dict, save_training_checkpoint
from references import VARIANTS, attention_output, clip_text, clip_vit_upto_last, gelu, layer_norm
from synthetic import make_dataset, save_checkpoint


def csa_reference(sd, images, heads, model_type=None, ignore_residual=False):
    """Published COSMOS dense tokens: standard blocks, then in the last block
    A = softmax(q q^T s) + softmax(k k^T s) per head, out_proj, residual, MLP; ln_post; @ proj.
    ``model_type`` given: that attention instead (``references.attention_output``)."""
    x, layers = clip_vit_upto_last(sd, images, heads)
    p = f"visual.transformer.resblocks.{layers - 1}."
    y = layer_norm(x, sd[p + "ln_1.weight"], sd[p + "ln_1.bias"], 1e-5)
    q, k, v = (y @ sd[p + "attn.in_proj_weight"].T + sd[p + "attn.in_proj_bias"]).chunk(3, -1)
    if model_type is None:
        d = q.shape[-1] // heads
        parts = []
        for h in range(heads):
            qh, kh, vh = (t[..., h * d : (h + 1) * d] for t in (q, k, v))
            a = torch.softmax(qh @ qh.transpose(1, 2) * d**-0.5, -1)
            a = a + torch.softmax(kh @ kh.transpose(1, 2) * d**-0.5, -1)
            parts.append(a @ vh)
        attn = torch.cat(parts, dim=-1)
    else:
        grid = round((x.shape[1] - 1) ** 0.5)
        attn = attention_output(model_type, q, k, v, heads, grid, y)
    out = attn @ sd[p + "attn.out_proj.weight"].T + sd[p + "attn.out_proj.bias"]
    if ignore_residual:
        x = out
    else:
        x = x + out
        h = gelu(
            layer_norm(x, sd[p + "ln_2.weight"], sd[p + "ln_2.bias"], 1e-5)
            @ sd[p + "mlp.c_fc.weight"].T
            + sd[p + "mlp.c_fc.bias"]
        )
        x = x + h @ sd[p + "mlp.c_proj.weight"].T + sd[p + "mlp.c_proj.bias"]
    x = layer_norm(x, sd["visual.ln_post.weight"], sd["visual.ln_post.bias"], 1e-5)
    return x @ sd["visual.proj"]


@pytest.fixture(scope="module")
def cosmos_sd():
    return cosmos_state_dict(TINY, seed=21)


@pytest.fixture(scope="module")
def cosmos_file(cosmos_sd, tmp_path_factory):
    path = tmp_path_factory.mktemp("cosmos") / "cosmos_vitb16_merged30m.pt"
    return save_training_checkpoint(cosmos_sd, str(path))


def source(path, vit=TINY):
    return ModelSource("COSMOS", vit, path, None, False, False, "cosmos")


@pytest.fixture(scope="module")
def cosmos(cosmos_file):
    return load_model(source(cosmos_file))


def test_the_17_training_keys_are_ignored_by_name_and_the_rest_is_strict(cosmos_sd, tmp_path):
    extra = [k for k in cosmos_sd if "cross_pool" in k or k == "distill_logit_scale"]
    assert len(extra) == 17
    bare = save_checkpoint(cosmos_sd, str(tmp_path / "bare.pt"))
    model = load_model(source(bare))
    assert torch.equal(model.clip.visual.proj, cosmos_sd["visual.proj"])
    for change, expected in [
        ("missing", "missing transformer.resblocks.1.mlp.c_fc.bias"),
        ("extra", "unexpected text_attn_cross_pool.ln_v.weight"),
    ]:
        sd = dict(cosmos_sd)
        if change == "missing":
            del sd["transformer.resblocks.1.mlp.c_fc.bias"]
        else:
            sd["text_attn_cross_pool.ln_v.weight"] = torch.ones(32)  # not one of the 17
        path = save_checkpoint(sd, str(tmp_path / f"{change}.pt"))
        with pytest.raises(CheckpointError) as info:
            load_model(source(path))
        assert expected in str(info.value) and "\n" not in str(info.value)


def test_a_flair_file_is_named_as_such(tmp_path):
    path = save_checkpoint(flair_state_dict(TINY, seed=2), str(tmp_path / "flair.pt"))
    with pytest.raises(CheckpointError, match="looks like a FLAIR checkpoint.*--method FLAIR"):
        load_model(source(path))


def test_text_features_equal_the_clip_text_formula(cosmos, cosmos_sd):
    tokens = cosmos.tokenize(["a photo of a road.", "a low resolution photo of the tree."])
    with torch.no_grad():
        got = cosmos.encode_text(tokens)
    want = clip_text(cosmos_sd, "", tokens, 2, cosmos_sd["text_projection"])
    # (the OpenCLIP path returns them normalised; the ensemble normalises each anyway)
    assert (F.normalize(got, dim=-1) - F.normalize(want, dim=-1)).abs().max().item() <= 1e-5


def test_published_csa_dense_path_equals_the_formula(cosmos, cosmos_sd):
    torch.manual_seed(0)
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        got = cosmos.dense_features(images, "SCLIP", False)  # the zoo's published path
    want = csa_reference(cosmos_sd, images, heads=4)
    assert (got - want).abs().max().item() <= 1e-5


@pytest.mark.parametrize("name", VARIANTS)
def test_every_attention_on_the_cosmos_last_block(cosmos, cosmos_sd, name):
    torch.manual_seed(1)
    images = torch.randn(1, 3, 224, 224)
    for ignore_residual in (True, False):
        with torch.no_grad():
            got = cosmos.dense_features(images, name, ignore_residual)
        want = csa_reference(cosmos_sd, images, 4, name, ignore_residual)
        assert (got - want).abs().max().item() <= 1e-5, (name, ignore_residual)


def test_real_vit_b16_shape_under_the_seed_file_name(tmp_path):
    sd = cosmos_state_dict("ViT-B-16", seed=5)
    save_training_checkpoint(sd, str(tmp_path / "cosmos_vitb16_merged30m_2.pt"))
    src = resolve_source("COSMOS", "ViT-B-16", checkpoint_dir=str(tmp_path))
    assert src.checkpoint.endswith("cosmos_vitb16_merged30m_2.pt")  # the second accepted name
    model = load_model(src)
    torch.manual_seed(3)
    images = torch.randn(1, 3, 224, 224)
    tokens = model.tokenize(["a photo of a harbor."])
    with torch.no_grad():
        got = model.dense_features(images, "SCLIP", False)
        text = model.encode_text(tokens)
    want = csa_reference(sd, images, heads=12)
    assert (F.normalize(got, dim=-1) - F.normalize(want, dim=-1)).abs().max().item() <= 1e-5
    text_want = F.normalize(clip_text(sd, "", tokens, 8, sd["text_projection"]), dim=-1)
    assert (F.normalize(text, dim=-1) - text_want).abs().max().item() <= 1e-5


def test_cli_published_path_by_default_and_the_published_spelling(cosmos_file, tmp_path, capsys):
    root = str(tmp_path / "data")
    make_dataset(root, "PotsdamDataset", count=2, seed=13)
    work = tmp_path / "w"
    argv = cli_args(cosmos_file, root, work, "--datasets", "PotsdamDataset", method="cosmos")
    assert eval_customized.main(argv) == 0
    out = out_dir(work, "COSMOS")
    settings = json.load(open(os.path.join(out, "settings.json")))
    assert settings["method"] == "COSMOS"
    assert (settings["model_type"], settings["ignore_residual"]) == ("SCLIP", False)
    assert settings["dense_path"].startswith("published (SCLIP attention")
    assert eval_customized.main(argv + ["--protocol", "segearth", "--model-type", "NACLIP"]) == 0
    settings = json.load(open(os.path.join(out_dir(work, "COSMOS"), "settings.json")))
    assert settings["dense_path"].startswith("extension: NACLIP attention")
    assert "cls_token_lambda CLS term is an extension" in settings["dense_path"]
    assert capsys.readouterr().out.count("dense_path=") >= 2
