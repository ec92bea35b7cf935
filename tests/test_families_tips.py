"""TIPS: the two published .npz files and tokenizer.model (a sentencepiece model trained
here), strict loading, TIPS' own preprocessing, and text/dense features equal per-formula
references written from docs/models.md and TIPS' PyTorch code (fp32, 1e-5)."""

from __future__ import annotations

import json
import math
import os

import cv2
import numpy as np
import pytest
import sentencepiece
import torch
import torch.nn.functional as F

import eval_customized
from conftest import ROOT, TINY, cli_args, out_dir
from customized_segmentor import CustomizedSegmentation
from foundation.errors import CheckpointError
from foundation.zoo import ModelSource, check_checkpoint_exists, resolve_source
from model_families import encode_queries, load_model
from prompts import TEMPLATES
from published_formats import TINY_TIPS, write_tips_files
from references import (
    VARIANTS,
    attention_output,
    gelu,
    heads_attention,
    layer_norm,
    reference_labels,
    reference_logits,
)
from synthetic import LAYOUTS, make_dataset, random_state_dict


# ---------------------------------------------------------------------------- references
def t(a):
    return torch.from_numpy(np.asarray(a))


def tips_text_reference(a, ids, paddings, heads):
    """TIPS TextEncoder: emb * sqrt(D) + [sin | cos] positions; blocks with -inf on padded
    keys and a ReLU MLP zeroed on padding; ln_final; mean over non-padded tokens."""
    width = a["token_embedding.weight"].shape[1]
    n = ids.shape[1]
    num = width // 2
    inv = torch.exp(torch.arange(num).float() * -(math.log(1e4) / max(num - 1, 1)))
    angles = torch.arange(n).float()[:, None] * inv[None, :]
    x = t(a["token_embedding.weight"])[ids] * math.sqrt(width) + torch.cat(
        [angles.sin(), angles.cos()], 1
    )
    keep = (paddings == 0).float()
    mask = torch.zeros(ids.shape).masked_fill(paddings != 0, float("-inf"))[:, None, :]
    layers = len({k for k in a if k.endswith("ln_1.weight")})
    d = width // heads
    for i in range(layers):
        p = f"transformer.resblocks.{i}."
        y = layer_norm(x, t(a[p + "ln_1.weight"]), t(a[p + "ln_1.bias"]), 1e-5)
        q, k, v = (y @ t(a[p + "attn.in_proj_weight"]).T + t(a[p + "attn.in_proj_bias"])).chunk(
            3, -1
        )
        heads_out = []
        for h in range(heads):
            sl = slice(h * d, (h + 1) * d)
            s = q[..., sl] @ k[..., sl].transpose(1, 2) / math.sqrt(d) + mask
            heads_out.append(torch.softmax(s, -1) @ v[..., sl])
        x = (
            x
            + torch.cat(heads_out, -1) @ t(a[p + "attn.out_proj.weight"]).T
            + t(a[p + "attn.out_proj.bias"])
        )
        y = layer_norm(x, t(a[p + "ln_2.weight"]), t(a[p + "ln_2.bias"]), 1e-5)
        hidden = (
            torch.relu(y @ t(a[p + "mlp.c_fc.weight"]).T + t(a[p + "mlp.c_fc.bias"]))
            * keep[..., None]
        )
        x = (
            x
            + (hidden @ t(a[p + "mlp.c_proj.weight"]).T + t(a[p + "mlp.c_proj.bias"]))
            * keep[..., None]
        )
    x = layer_norm(x, t(a["ln_final.weight"]), t(a["ln_final.bias"]), 1e-5)
    return (x * keep[..., None]).sum(1) / (keep.sum(1, keepdim=True) + 1e-8)


def tips_vision_reference(a, images, heads, model_type="SegEarth", ignore_residual=True):
    """TIPS' VisionTransformer on the npz arrays: (CLS, patches) + pos_embed, register
    inserted after CLS, LayerScale blocks, the custom last block, norm; register dropped."""
    w = t(a["patch_embed.proj.weight"])
    x = F.conv2d(images, w, t(a["patch_embed.proj.bias"]), stride=w.shape[-1])
    grid = x.shape[-1]
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([t(a["cls_token"]).expand(len(x), 1, -1), x], 1) + t(a["pos_embed"])
    x = torch.cat([x[:, :1], t(a["register_tokens"]).expand(len(x), 1, -1), x[:, 1:]], 1)
    depth = len({k.split(".")[1] for k in a if k.startswith("blocks.")})

    def ln(key, z):
        return layer_norm(z, t(a[key + ".weight"]), t(a[key + ".bias"]), 1e-6)

    def mlp(p, z):
        hidden = gelu(z @ t(a[p + "mlp.fc1.weight"]).T + t(a[p + "mlp.fc1.bias"]))
        return hidden @ t(a[p + "mlp.fc2.weight"]).T + t(a[p + "mlp.fc2.bias"])

    for i in range(depth):
        p = f"blocks.{i}."
        y = ln(p + "norm1", x)
        q, k, v = (y @ t(a[p + "attn.qkv.weight"]).T + t(a[p + "attn.qkv.bias"])).chunk(3, -1)
        if i < depth - 1:
            o = heads_attention(q, k, v, heads)
        else:
            o = attention_output(model_type, q, k, v, heads, grid, y, prefix=2)
        o = o @ t(a[p + "attn.proj.weight"]).T + t(a[p + "attn.proj.bias"])
        if i == depth - 1:  # as published: no LayerScale in the last block, either branch
            x = o if ignore_residual else x + o
            x = x if ignore_residual else x + mlp(p, ln(p + "norm2", x))
            break
        x = x + t(a[p + "ls1.gamma"]) * o
        x = x + t(a[p + "ls2.gamma"]) * mlp(p, ln(p + "norm2", x))
    x = ln("norm", x)
    return torch.cat([x[:, :1], x[:, 2:]], 1)


def unit(x):
    """Tokens as the segmentor uses them (cosine with the text): L2-normalised."""
    return F.normalize(x, dim=-1)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tips_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tips")
    return write_tips_files(str(folder), "t14", width=64, depth=2, text_layers=2, vocab=300)


def arrays(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def source(path, vit=TINY_TIPS):
    return ModelSource("TIPS", vit, path, None, False, False, "tips")


@pytest.fixture(scope="module")
def tips(tips_files):
    return load_model(source(tips_files))


# ---------------------------------------------------------------------------- tokenizer
def test_tokenizer_is_lowercased_sentencepiece_padded_with_zeros_to_64(tips, tips_files):
    sp = sentencepiece.SentencePieceProcessor(
        model_file=os.path.join(os.path.dirname(tips_files), "tokenizer.model")
    )
    got = tips.tokenize(["A photo of a ROAD.", "tree", "Une École"])
    assert got.shape == (3, 64)
    lowered = ["a photo of a road.", "tree", "une École"]  # tf.strings.lower: ASCII only
    for row, text in zip(got, lowered, strict=True):
        ids = sp.encode(text)
        ids = ids + [0] * (64 - len(ids))
        assert row.clamp(min=0).tolist() == ids
        assert (row < 0).tolist() == [i == 0 for i in ids]  # padding = id 0, as published


def test_the_prompts_of_one_query_are_tokenized_as_one_batch(tips):
    """The over-64 rule applies to a query's own 80 prompts (mywrap.py tokenizes per class):
    a long class name does not change the features of the other classes."""
    long = " ".join(["building"] * 80)
    with torch.no_grad():
        alone = encode_queries(tips, ["road", "tree"])
        mixed = encode_queries(tips, ["road", long, "tree"])
        tokens = tips.tokenize([tmpl("road") for tmpl in TEMPLATES])
        feats = F.normalize(tips.encode_text(tokens), dim=-1).mean(0)
    assert (mixed[[0, 2]] - alone).abs().max().item() <= 1e-6
    assert (alone[0] - F.normalize(feats, dim=-1)).abs().max().item() <= 1e-6


def test_a_batch_longer_than_64_is_cut_and_has_no_padding(tips):
    texts = [" ".join(["building"] * 80), "road"]
    got = tips.tokenize(texts)
    assert got.shape == (2, 64) and (got >= 0).all()
    assert (got[1, 1:] == 0).all()  # the short prompt's zeros now count as tokens


# ---------------------------------------------------------------------------- loading
def test_missing_files_are_named_with_where_they_are_published(tmp_path):
    vision = tmp_path / "tips_oss_b14_highres_distilled_vision.npz"
    vision.write_bytes(b"x")
    src = resolve_source("TIPS", "ViT-B-14", checkpoint_dir=str(tmp_path))
    assert src.checkpoint == str(vision)
    with pytest.raises(CheckpointError) as info:
        check_checkpoint_exists(src)
    msg = str(info.value)
    assert "tips_oss_b14_highres_distilled_text.npz" in msg and "tokenizer.model" in msg
    assert "github.com/google-deepmind/tips" in msg and "\n" not in msg


@pytest.mark.parametrize(
    "which,change,expected",
    [
        ("vision", "missing", "missing blocks.1.ls2.gamma"),
        ("vision", "extra", "unexpected blocks.0.attn.k_bias"),
        ("vision", "no_mask_token", "not a TIPS checkpoint (missing mask_token)"),
        ("text", "missing", "missing transformer.resblocks.1.mlp.c_fc.bias"),
        ("text", "extra", "unexpected positional_embedding"),
    ],
)
def test_a_missing_or_extra_array_is_one_error_line(tips_files, tmp_path, which, change, expected):
    folder = os.path.dirname(tips_files)
    for name in os.listdir(folder):
        os.symlink(os.path.join(folder, name), tmp_path / name)
    target = tmp_path / f"tips_oss_t14_highres_distilled_{which}.npz"
    a = arrays(target)
    os.remove(target)
    if change == "missing":
        del a[
            "blocks.1.ls2.gamma" if which == "vision" else "transformer.resblocks.1.mlp.c_fc.bias"
        ]
    elif change == "extra":
        a["blocks.0.attn.k_bias" if which == "vision" else "positional_embedding"] = np.zeros(
            3, np.float32
        )
    else:
        del a["mask_token"]
    np.savez(target, **a)
    with pytest.raises(CheckpointError) as info:
        load_model(source(str(tmp_path / "tips_oss_t14_highres_distilled_vision.npz")))
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_files_of_other_families_are_named(tmp_path, tips_files):
    folder = os.path.dirname(tips_files)
    for name in os.listdir(folder):
        if "vision" not in name:
            os.symlink(os.path.join(folder, name), tmp_path / name)
    vision = str(tmp_path / "tips_oss_t14_highres_distilled_vision.npz")
    np.savez(vision, **{k: v.numpy() for k, v in random_state_dict(TINY).items()})
    with pytest.raises(CheckpointError, match="looks like an OpenCLIP checkpoint.*--method CLIP"):
        load_model(source(vision))
    torch.save({"a": torch.zeros(1)}, vision)
    with pytest.raises(CheckpointError, match="not a TIPS .npz file"):
        load_model(source(vision))


# ---------------------------------------------------------------------------- features
def test_text_features_equal_the_tips_formula(tips, tips_files):
    text = arrays(tips_files.replace("_vision.npz", "_text.npz"))
    texts = ["a photo of a road.", "a bad photo of the low vegetation.", "car"]
    tokens = tips.tokenize(texts)
    with torch.no_grad():
        got = tips.encode_text(tokens)
    want = tips_text_reference(text, tokens.clamp(min=0), (tokens < 0).long(), heads=1)
    assert (got - want).abs().max().item() <= 1e-5


def test_published_dense_path_equals_the_tips_formula(tips, tips_files):
    torch.manual_seed(0)
    images = torch.rand(1, 3, 448, 448)  # RGB in [0, 1]
    with torch.no_grad():
        got = tips.dense_features(images, "SegEarth", True)
    want = tips_vision_reference(arrays(tips_files), images, heads=2)
    assert got.shape == (1, 1 + 32 * 32, 64)
    assert (unit(got) - unit(want)).abs().max().item() <= 1e-5


@pytest.mark.parametrize("name", [v for v in VARIANTS if v != "SegEarth"])
def test_every_attention_on_the_tips_last_block(tips, tips_files, name):
    torch.manual_seed(1)
    images = torch.rand(1, 3, 448, 448)
    a = arrays(tips_files)
    for ignore_residual in (True, False):
        with torch.no_grad():
            got = tips.dense_features(images, name, ignore_residual)
        want = tips_vision_reference(a, images, 2, name, ignore_residual)
        assert (unit(got) - unit(want)).abs().max().item() <= 1e-5, (name, ignore_residual)


def test_real_vit_b14_shape_at_448(tmp_path):
    """TIPS ViT-B/14 (768 wide, 12 blocks, 12 heads) at 448 and its 12-layer, 32000-token
    text tower, random weights, found under the published names by the zoo."""
    vision = write_tips_files(
        str(tmp_path), "b14", width=768, depth=12, text_layers=12, vocab=32000, seed=3
    )
    src = resolve_source("TIPS", "ViT-B-14", checkpoint_dir=str(tmp_path))
    assert src.checkpoint == vision
    model = load_model(src)
    assert model.image_size == (448, 448) and model.patch_size == 14
    torch.manual_seed(2)
    images = torch.rand(1, 3, 448, 448)
    tokens = model.tokenize(["a photo of a road."])
    with torch.no_grad():
        got = model.dense_features(images, "SegEarth", True)
        text = model.encode_text(tokens)
    want = tips_vision_reference(arrays(vision), images, heads=12)
    assert (unit(got) - unit(want)).abs().max().item() <= 1e-5
    text_arrays = arrays(vision.replace("_vision.npz", "_text.npz"))
    want_text = tips_text_reference(text_arrays, tokens.clamp(min=0), (tokens < 0).long(), 12)
    assert (text - want_text).abs().max().item() <= 1e-5


# ---------------------------------------------------------------------------- CLI
def test_cli_predictions_equal_a_from_scratch_tips_pipeline(tips_files, tmp_path):
    """cv2 BGR -> mmcv's keep-ratio resize -> RGB in [0, 1] (no mean/std) -> windows of 224
    resized to 448 -> cosine with TIPS text features -> labels (docs/protocol.md-7, §11.4)."""
    root = str(tmp_path / "data")
    make_dataset(root, "UDD5Dataset", count=2, seed=19)
    work, preds = tmp_path / "w", tmp_path / "p"
    extra = ("--datasets", "UDD5Dataset", "--pred-dir", str(preds))
    argv = cli_args(tips_files, root, work, *extra, method="tips", vit_type=TINY_TIPS)
    assert eval_customized.main(argv) == 0
    settings = json.load(open(os.path.join(out_dir(work, "TIPS", TINY_TIPS), "settings.json")))
    assert settings["dense_path"].startswith("published (SegEarth attention without residual)")

    seg = CustomizedSegmentation(
        name_path=os.path.join(ROOT, "configs", "cls_udd5.txt"),
        model_name="TIPS",
        vit_type=TINY_TIPS,
        family="tips",
        pretrained=tips_files,
    )
    layout = LAYOUTS["UDD5Dataset"]
    img_dir = os.path.join(root, layout.img_dir)
    for name in sorted(os.listdir(img_dir)):
        bgr = cv2.imread(os.path.join(img_dir, name), cv2.IMREAD_COLOR)
        h, w = bgr.shape[:2]
        scale = min(448 / max(h, w), 448 / min(h, w))
        size = (int(w * scale + 0.5), int(h * scale + 0.5))
        rgb = (
            cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR)[..., ::-1].astype(np.float32)
            / 255
        )
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
        with torch.no_grad():
            logits = reference_logits(seg, x, (h, w))
        _, want = reference_labels(logits, seg.query_idx.tolist(), 50, 0.0, 0)
        got = cv2.imread(
            os.path.join(str(preds), "UDD5Dataset", name[:-4] + ".png"), cv2.IMREAD_UNCHANGED
        )
        assert (got == want.numpy()).mean() >= 0.999, name
        assert len(np.unique(got)) > 1  # not a constant prediction
