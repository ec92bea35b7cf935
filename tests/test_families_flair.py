"""FLAIR: its own key names (image_post / text_post projections, the visual_proj pooler),
strict loading, and text/dense features equal per-formula references (docs/models.md) with every
block mixing tokens (the intended behaviour; README says how it differs from the published
code)."""

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
from published_formats import flair_state_dict, save_training_checkpoint
from references import VARIANTS, attention_output, clip_text, clip_vit_upto_last, gelu, layer_norm
from synthetic import make_dataset, random_state_dict, save_checkpoint


def flair_reference(sd, images, heads, model_type="SegEarth", ignore_residual=True):
    """ln_pre(CLS + patches + positions), standard blocks, the last block's attention
    (``model_type``), ln_post on every token, @ image_post.proj."""
    x, layers = clip_vit_upto_last(sd, images, heads)
    p = f"visual.transformer.resblocks.{layers - 1}."
    y = layer_norm(x, sd[p + "ln_1.weight"], sd[p + "ln_1.bias"], 1e-5)
    q, k, v = (y @ sd[p + "attn.in_proj_weight"].T + sd[p + "attn.in_proj_bias"]).chunk(3, -1)
    grid = round((x.shape[1] - 1) ** 0.5)
    out = attention_output(model_type, q, k, v, heads, grid, y)
    out = out @ sd[p + "attn.out_proj.weight"].T + sd[p + "attn.out_proj.bias"]
    if ignore_residual:
        x = out
    else:
        x = x + out
        y = layer_norm(x, sd[p + "ln_2.weight"], sd[p + "ln_2.bias"], 1e-5)
        h = gelu(y @ sd[p + "mlp.c_fc.weight"].T + sd[p + "mlp.c_fc.bias"])
        x = x + h @ sd[p + "mlp.c_proj.weight"].T + sd[p + "mlp.c_proj.bias"]
    x = layer_norm(x, sd["visual.ln_post.weight"], sd["visual.ln_post.bias"], 1e-5)
    return x @ sd["image_post.proj"]


@pytest.fixture(scope="module")
def flair_sd():
    return flair_state_dict(TINY, seed=31)


@pytest.fixture(scope="module")
def flair_file(flair_sd, tmp_path_factory):
    path = tmp_path_factory.mktemp("flair") / "flair-cc3m-recap.pt"
    return save_training_checkpoint(flair_sd, str(path))


def source(path, vit=TINY):
    return ModelSource("FLAIR", vit, path, None, False, False, "flair")


@pytest.fixture(scope="module")
def flair(flair_file):
    return load_model(source(flair_file))


def test_projections_are_renamed_and_the_pooler_ignored_by_name(flair, flair_sd):
    assert torch.equal(flair.clip.visual.proj, flair_sd["image_post.proj"])
    assert torch.equal(flair.clip.text_projection, flair_sd["text_post.proj"])


@pytest.mark.parametrize(
    "change,expected",
    [
        ("missing", "missing visual.transformer.resblocks.0.ln_2.bias"),
        ("extra", "unexpected visual.attn_pool.weight"),
        ("no_image_post", "not a FLAIR checkpoint (missing image_post.proj)"),
    ],
)
def test_a_missing_or_extra_key_is_one_error_line(flair_sd, tmp_path, change, expected):
    sd = dict(flair_sd)
    if change == "missing":
        del sd["visual.transformer.resblocks.0.ln_2.bias"]
    elif change == "extra":
        sd["visual.attn_pool.weight"] = torch.zeros(3)
    else:
        del sd["image_post.proj"]
    path = save_checkpoint(sd, str(tmp_path / "w.pt"))
    with pytest.raises(CheckpointError) as info:
        load_model(source(path))
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_a_plain_openclip_file_is_not_taken_for_flair(tmp_path):
    path = save_checkpoint(random_state_dict(TINY, seed=3), str(tmp_path / "clip.pt"))
    with pytest.raises(CheckpointError, match="looks like an OpenCLIP checkpoint.*--method CLIP"):
        load_model(source(path))


def test_text_features_are_text_post_of_the_clip_text_formula(flair, flair_sd):
    tokens = flair.tokenize(["a photo of a road.", "a sculpture of the water."])
    with torch.no_grad():
        got = flair.encode_text(tokens)
    want = clip_text(flair_sd, "", tokens, 2, flair_sd["text_post.proj"])
    assert (F.normalize(got, dim=-1) - F.normalize(want, dim=-1)).abs().max().item() <= 1e-5


@pytest.mark.parametrize("name", VARIANTS)
def test_every_attention_on_the_flair_last_block(flair, flair_sd, name):
    torch.manual_seed(1)
    images = torch.randn(2, 3, 224, 224)
    for ignore_residual in (True, False):
        with torch.no_grad():
            got = flair.dense_features(images, name, ignore_residual)
        want = flair_reference(flair_sd, images, 4, name, ignore_residual)
        assert (got - want).abs().max().item() <= 1e-5, (name, ignore_residual)


def test_features_do_not_depend_on_the_batch(flair):
    """Every block mixes tokens within an image only (the published path mixes across the
    images of a batch and not within one: docs/models.md)."""
    torch.manual_seed(2)
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        both = flair.dense_features(images, "SegEarth", True)
        one = flair.dense_features(images[:1], "SegEarth", True)
        moved = images[:1].clone()
        moved[..., :16, :16] += 1  # one patch changes: other tokens change too
        other = flair.dense_features(moved, "SegEarth", True)
    assert (both[:1] - one).abs().max().item() <= 1e-5
    assert (other[0, 100] - one[0, 100]).abs().max().item() > 1e-6


def test_real_vit_b16_shape(tmp_path):
    sd = flair_state_dict("ViT-B-16", seed=9)
    save_training_checkpoint(sd, str(tmp_path / "flair-cc3m-recap.pt"))
    model = load_model(resolve_source("FLAIR", "ViT-B-16", checkpoint_dir=str(tmp_path)))
    torch.manual_seed(4)
    images = torch.randn(1, 3, 224, 224)
    tokens = model.tokenize(["a photo of a harbor."])
    with torch.no_grad():
        got = model.dense_features(images, "SegEarth", True)
        text = model.encode_text(tokens)
    want = flair_reference(sd, images, heads=12)
    assert (F.normalize(got, dim=-1) - F.normalize(want, dim=-1)).abs().max().item() <= 1e-5
    text_want = F.normalize(clip_text(sd, "", tokens, 8, sd["text_post.proj"]), dim=-1)
    assert (F.normalize(text, dim=-1) - text_want).abs().max().item() <= 1e-5


def test_cli_runs_flair_with_the_published_last_layer(flair_file, tmp_path):
    root = str(tmp_path / "data")
    make_dataset(root, "iSAIDDataset", count=1, seed=17)
    work = tmp_path / "w"
    extra = ("--datasets", "iSAIDDataset", "--protocol", "segearth")
    argv = cli_args(flair_file, root, work, *extra, method="FLAIR")
    assert eval_customized.main(argv) == 0
    settings = json.load(open(os.path.join(out_dir(work, "FLAIR"), "settings.json")))
    assert (settings["model_type"], settings["ignore_residual"]) == ("SegEarth", True)
    assert settings["dense_path"].startswith("published (SegEarth attention without residual")
    assert settings["cls_token_lambda"] == -0.3 and "extension" not in settings["dense_path"]
