"""long_clip: strict checkpoint loading in the real formats, LongCLIP, the text forward."""

from __future__ import annotations

import open_clip
import pytest
import torch

import long_clip.text as text_mod
import model_families.openclip as openclip_family
from conftest import TINY, TINY32
from foundation.errors import CheckpointError
from foundation.zoo import resolve_source
from long_clip import load_clip
from model_families import encode_queries
from model_families.openclip import OpenCLIPModel
from prompts import TEMPLATES
from synthetic import random_state_dict, save_checkpoint


def src(path, vit=TINY, long_clip=None, method="CLIP"):
    return resolve_source(method, vit, pretrained=path, long_clip=long_clip)


# ------------------------------------------------------------------ formats
def test_all_formats_load_identical_weights(tmp_path, tiny_state_dict):
    loaded = {}
    for fmt in ("bare", "state_dict_module", "compiled"):
        path = save_checkpoint(tiny_state_dict, str(tmp_path / f"{fmt}.pt"), fmt)
        loaded[fmt] = load_clip(src(path)).model.state_dict()
    for fmt, sd in loaded.items():
        assert sd.keys() == tiny_state_dict.keys()
        for k, v in tiny_state_dict.items():
            assert torch.equal(sd[k], v), (fmt, k)


def one_line_error(fn) -> str:
    with pytest.raises(CheckpointError) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_missing_checkpoint_names_path_and_zoo(tmp_path):
    msg = one_line_error(
        lambda: load_clip(resolve_source("FarSLIP1", "ViT-B-16", checkpoint_dir=str(tmp_path)))
    )
    assert str(tmp_path / "FarSLIP1_ViT-B-16.pt") in msg and "--checkpoint-dir" in msg


def test_wrong_vit_type_is_named(tmp_path, tiny_state_dict):
    path = save_checkpoint(tiny_state_dict, str(tmp_path / "t16.pt"))
    msg = one_line_error(lambda: load_clip(src(path, vit=TINY32)))
    assert "wrong --vit-type" in msg and "patch 16" in msg and "visual." in msg


def test_long_weights_without_longclip(tmp_path, tiny_long_checkpoint):
    msg = one_line_error(lambda: load_clip(src(tiny_long_checkpoint, long_clip="disable")))
    assert "LongCLIP weights" in msg and "248" in msg
    msg = one_line_error(lambda: load_clip(src(tiny_long_checkpoint, method="FarSLIP1")))
    assert "without LongCLIP" in msg


def test_longclip_requested_on_plain_weights(tiny_checkpoint):
    msg = one_line_error(lambda: load_clip(src(tiny_checkpoint, long_clip="load_from_scratch")))
    assert "not LongCLIP" in msg and "77 rows" in msg


def test_missing_unexpected_and_non_clip(tmp_path, tiny_state_dict):
    sd = dict(tiny_state_dict)
    del sd["ln_final.weight"]
    sd["visual.extra.weight"] = torch.zeros(1)
    path = save_checkpoint(sd, str(tmp_path / "broken.pt"))
    msg = one_line_error(lambda: load_clip(src(path)))
    assert "missing ln_final.weight" in msg and "unexpected visual.extra.weight" in msg
    path = save_checkpoint(torch.nn.Linear(3, 4).state_dict(), str(tmp_path / "linear.pt"))
    assert "not a CLIP checkpoint" in one_line_error(lambda: load_clip(src(path)))
    (tmp_path / "junk.pt").write_bytes(b"this is not a checkpoint")
    assert "not a loadable" in one_line_error(lambda: load_clip(src(str(tmp_path / "junk.pt"))))


def test_harmless_extras_are_accepted(tmp_path, tiny_state_dict):
    sd = dict(tiny_state_dict, input_resolution=torch.tensor(224), context_length=torch.tensor(77))
    path = save_checkpoint(sd, str(tmp_path / "extras.pt"))
    assert load_clip(src(path)).long_clip is False


def test_offline_hub_tag_says_what_to_place():
    msg = one_line_error(lambda: load_clip(resolve_source("CLIP", TINY)))
    assert "--pretrained" in msg
    msg = one_line_error(lambda: load_clip(resolve_source("CLIP", "ViT-B-16")))
    assert "openai" in msg and "--pretrained PATH" in msg


# ------------------------------------------------------------------ LongCLIP
def test_longclip_positions_use_two_tables(tiny_long_checkpoint):
    loaded = load_clip(src(tiny_long_checkpoint))
    raw = torch.load(tiny_long_checkpoint, weights_only=True)
    model = loaded.model
    assert loaded.long_clip and loaded.context_length == 248
    assert torch.equal(model.positional_embedding[:20], raw["positional_embedding"][:20])
    assert torch.equal(model.positional_embedding[20:], raw["positional_embedding_res"][20:])
    # encode_text against a direct implementation of docs/models.md
    tokenizer = open_clip.get_tokenizer(TINY, context_length=248)
    long_text = "a satellite photo of " + " ".join(["red roofs and grey roads"] * 20)
    tokens = tokenizer(["a photo of a road.", long_text])
    assert tokens.shape == (2, 248) and (tokens[1] != 0).sum() > 77
    pos = torch.stack(
        [
            raw["positional_embedding"][i] if i < 20 else raw["positional_embedding_res"][i]
            for i in range(248)
        ]
    )
    with torch.no_grad():
        x = model.token_embedding(tokens) + pos
        x = model.ln_final(model.transformer(x, attn_mask=model.attn_mask))
        want = x[torch.arange(2), tokens.argmax(dim=-1)] @ model.text_projection
        got = model.encode_text(tokens)
    assert (got - want).abs().max().item() <= 1e-5


def test_longclip_detected_and_queries_tokenised_at_248(tiny_long_checkpoint, monkeypatch):
    loaded = load_clip(src(tiny_long_checkpoint))  # not requested: detected from the weights
    seen = []
    real = text_mod.encode_text_upto_eot
    monkeypatch.setattr(
        openclip_family, "encode_text_upto_eot", lambda m, t: seen.append(t.shape) or real(m, t)
    )
    encode_queries(OpenCLIPModel(loaded), ["road"], TEMPLATES[:3])
    assert seen == [(3, 248)]


@pytest.mark.parametrize("long_clip", [False, True])
def test_text_upto_eot_equals_full_encode_text(tiny_checkpoint, tiny_long_checkpoint, long_clip):
    """Dropping the padding after the last end-of-text token changes nothing (causal mask)."""
    loaded = load_clip(src(tiny_long_checkpoint if long_clip else tiny_checkpoint))
    tokenizer = open_clip.get_tokenizer(TINY, context_length=loaded.context_length)
    tokens = tokenizer(["a road.", "a photo of " + " ".join(["many small red roofs"] * 8)])
    assert 20 < int(tokens.argmax(-1).max()) < loaded.context_length - 1  # both tables in use
    with torch.no_grad():
        full = loaded.model.encode_text(tokens, normalize=True)
        short = text_mod.encode_text_upto_eot(loaded.model, tokens)
    assert (full - short).abs().max().item() <= 1e-6


@pytest.mark.parametrize("vit_type", ["ViT-B-16", "ViT-B-32"])
def test_real_shapes_load_in_training_run_format(tmp_path, vit_type):
    """Real ViT-B checkpoints in {'state_dict': module.*}; B/16 also as LongCLIP."""
    long_clip = vit_type == "ViT-B-16"
    sd = random_state_dict(vit_type, long_clip=long_clip, seed=5)
    path = save_checkpoint(sd, str(tmp_path / "b.pt"), "state_dict_module")
    loaded = load_clip(resolve_source("CLIP", vit_type, pretrained=path, fqg=True))
    assert loaded.long_clip is long_clip and loaded.context_length == (248 if long_clip else 77)
    assert torch.equal(loaded.model.visual.conv1.weight, sd["visual.conv1.weight"])
    feats = encode_queries(OpenCLIPModel(loaded), ["building"], TEMPLATES[:4])
    assert feats.shape == (1, 512) and abs(feats.norm().item() - 1) < 1e-5


def test_openai_torchscript_archive_loads(tmp_path, tiny_state_dict):
    """OpenAI's original files are TorchScript archives with metadata keys beside the weights."""
    module = torch.nn.Module()
    for key, value in tiny_state_dict.items():
        parent = module
        *path, leaf = key.split(".")
        for part in path:
            if not hasattr(parent, part):
                parent.add_module(part, torch.nn.Module())
            parent = getattr(parent, part)
        parent.register_buffer(leaf, value.clone())
    module.register_buffer("input_resolution", torch.tensor(224))
    archive = str(tmp_path / "ViT-T-16-openai.pt")
    torch.jit.save(torch.jit.script(module), archive)
    loaded = load_clip(src(archive)).model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in tiny_state_dict.items())
