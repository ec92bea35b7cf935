"""Random weights in the general-domain models' published on-disk formats (docs/models.md), and
tiny timm image towers for them (registered with timm's own ``register_model``).

Key names and wrappers are written here from the published description's lists, independently of
``model_families``, so the tests also check that the loaders read the published formats.
"""

from __future__ import annotations

import io
import os
import re

import numpy as np
import open_clip
import sentencepiece
import torch
from timm.models import register_model
from timm.models.eva import Eva
from timm.models.vision_transformer import VisionTransformer

from prompts import TEMPLATES

TINY_EVA = "EVA02-T-16-test"  # open_clip config (tests/model_configs) on the timm model below
TINY_TIPS = "vit_tiny_test_patch14_reg1_tips"
_FACTORY_ONLY = ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir")  # timm.create_model's


def _model_kwargs(args: dict, kwargs: dict) -> dict:
    return {**args, **{k: v for k, v in kwargs.items() if k not in _FACTORY_ONLY}}


@register_model
def eva02_tiny_test_patch16_clip_224(pretrained: bool = False, **kwargs) -> Eva:
    """eva02_base_patch16_clip_224's design (RoPE, SwiGLU, sub-LN) at width 64, depth 2."""
    args = dict(
        img_size=224,
        patch_size=16,
        embed_dim=64,
        depth=2,
        num_heads=2,
        qkv_fused=False,
        mlp_ratio=4 * 2 / 3,
        swiglu_mlp=True,
        scale_mlp=True,
        scale_attn_inner=True,
        use_rot_pos_emb=True,
        ref_feat_shape=(16, 16),
        global_pool="token",
    )
    return Eva(**_model_kwargs(args, kwargs))


@register_model
def vit_tiny_test_patch14_reg1_tips(pretrained: bool = False, **kwargs) -> VisionTransformer:
    """vit_base_patch14_reg1_tipsv2's design (1 register, LayerScale) at width 64, depth 2."""
    args = dict(
        patch_size=14,
        embed_dim=64,
        depth=2,
        num_heads=2,
        init_values=1.0,
        reg_tokens=1,
        no_embed_class=True,
    )
    return VisionTransformer(**_model_kwargs(args, kwargs))


# ---------------------------------------------------------------------------- EVA02-CLIP
# open_clip/timm name -> the EVA-CLIP fork's name inside a vision block (docs/models.md key list).
_TO_FORK = (
    ("attn.q_proj.bias", "attn.q_bias"),
    ("attn.v_proj.bias", "attn.v_bias"),
    ("attn.norm.", "attn.inner_attn_ln."),
    ("mlp.norm.", "mlp.ffn_ln."),
    ("mlp.fc1_g.", "mlp.w1."),
    ("mlp.fc1_x.", "mlp.w2."),
    ("mlp.fc2.", "mlp.w3."),
)


def eva02_fork_state_dict(config: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random EVA02 CLIP as the fork's ``CustomCLIP.state_dict()`` names it, with its RoPE
    buffers (shared ``visual.rope`` and one per block), random biases and LayerNorms."""
    torch.manual_seed(seed)
    model = open_clip.create_model(config, pretrained=None)
    out = {}
    for key, value in model.state_dict().items():
        value = value.clone()
        if value.ndim == 1 or key.endswith("pos_embed") or key.endswith("cls_token"):
            value = value + 0.1 * torch.randn_like(value)  # no zero biases / unit norms
        if key == "visual.trunk.head.weight":  # timm scales it by 1e-3 at init
            value = torch.randn_like(value) * value.shape[1] ** -0.5
        if key.startswith("visual.trunk."):
            key = "visual." + key[len("visual.trunk.") :]
            for new, old in _TO_FORK:
                key = key.replace(new, old)
        out[key] = value
    depth = len({k.split(".")[2] for k in out if k.startswith("visual.blocks.")})
    grid = model.visual.trunk.patch_embed.grid_size[0]
    half = model.visual.trunk.blocks[0].attn.head_dim  # rope buffers: (grid^2, head_dim)
    for prefix in ["visual.rope."] + [f"visual.blocks.{i}.attn.rope." for i in range(depth)]:
        out[prefix + "freqs_cos"] = torch.rand(grid * grid, half)
        out[prefix + "freqs_sin"] = torch.rand(grid * grid, half)
    return out


def save_training_checkpoint(state_dict: dict, path: str, wrapper: str = "state_dict") -> str:
    """As open_clip-style training runs save: {'epoch','name',wrapper: {'module.' + key}}."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    body = {f"module.{k}": v for k, v in state_dict.items()}
    torch.save({"epoch": 6, "name": "run", wrapper: body, "optimizer": {"state": {}}}, path)
    return path


# ---------------------------------------------------------------------------- COSMOS / FLAIR
def open_clip_state_dict(config: str, seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    model = open_clip.create_model(config, pretrained=None)
    return {
        k: (v + 0.1 * torch.randn_like(v)) if v.ndim == 1 else v.clone()
        for k, v in model.state_dict().items()
    }


def _pooler(prefix: str, width: int, norms: tuple[str, ...]) -> dict[str, torch.Tensor]:
    sd = {
        f"{prefix}attn.in_proj_weight": torch.randn(3 * width, width) * 0.02,
        f"{prefix}attn.in_proj_bias": torch.randn(3 * width) * 0.02,
        f"{prefix}attn.out_proj.weight": torch.randn(width, width) * 0.02,
        f"{prefix}attn.out_proj.bias": torch.randn(width) * 0.02,
    }
    for norm in norms:
        sd[f"{prefix}{norm}.weight"] = torch.ones(width)
        sd[f"{prefix}{norm}.bias"] = torch.zeros(width)
    return sd


def cosmos_state_dict(config: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """open_clip CLIP keys + COSMOS's 17 training-only keys (docs/models.md)."""
    sd = open_clip_state_dict(config, seed)
    width = sd["text_projection"].shape[1]
    sd.update(_pooler("visual.attn_cross_pool.", width, ("ln_q", "ln_k")))
    sd.update(_pooler("text_attn_cross_pool.", width, ("ln_q", "ln_k")))
    sd["distill_logit_scale"] = torch.tensor(2.0)
    return sd


def flair_state_dict(config: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """FLAIR's keys (docs/models.md): no visual.proj / text_projection; image_post.proj,
    text_post.proj, the visual_proj pooler and logit_bias."""
    sd = open_clip_state_dict(config, seed)
    sd["image_post.proj"] = sd.pop("visual.proj")
    sd["text_post.proj"] = sd.pop("text_projection")
    width = sd["text_post.proj"].shape[1]
    sd.update(_pooler("visual_proj.", width, ("ln_q", "ln_k", "ln_v")))
    sd["logit_bias"] = torch.tensor([-10.0])
    return sd


# ---------------------------------------------------------------------------- TIPS
def tips_vision_arrays(
    width: int, depth: int, grid: int = 32, patch: int = 14, seed: int = 0
) -> dict[str, np.ndarray]:
    """Random TIPS vision weights with the published array names and shapes (docs/models.md)."""
    rng = np.random.default_rng(seed)
    unit = width**-0.5  # keeps attention logits O(1) at any width

    def rand(*shape, scale=0.02):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    arrays = {
        "cls_token": rand(1, 1, width, scale=0.5),
        "pos_embed": rand(1, 1 + grid * grid, width, scale=0.5),
        "register_tokens": rand(1, 1, width, scale=0.5),
        "mask_token": rand(1, width),
        "patch_embed.proj.weight": rand(width, 3, patch, patch, scale=0.05),
        "patch_embed.proj.bias": rand(width),
        "norm.weight": 1 + rand(width, scale=0.1),
        "norm.bias": rand(width, scale=0.1),
    }
    for i in range(depth):
        b = f"blocks.{i}."
        arrays.update(
            {
                b + "norm1.weight": 1 + rand(width, scale=0.1),
                b + "norm1.bias": rand(width, scale=0.1),
                b + "attn.qkv.weight": rand(3 * width, width, scale=1.7 * unit),
                b + "attn.qkv.bias": rand(3 * width, scale=0.1),
                b + "attn.proj.weight": rand(width, width, scale=unit),
                b + "attn.proj.bias": rand(width),
                b + "ls1.gamma": 1 + rand(width, scale=0.2),
                b + "norm2.weight": 1 + rand(width, scale=0.1),
                b + "norm2.bias": rand(width, scale=0.1),
                b + "mlp.fc1.weight": rand(4 * width, width, scale=unit),
                b + "mlp.fc1.bias": rand(4 * width),
                b + "mlp.fc2.weight": rand(width, 4 * width, scale=0.5 * unit),
                b + "mlp.fc2.bias": rand(width),
                b + "ls2.gamma": 1 + rand(width, scale=0.2),
            }
        )
    return arrays


def tips_text_arrays(
    width: int, layers: int, vocab: int, mlp: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Random TIPS text weights with the published names, plus ``temperature``."""
    rng = np.random.default_rng(seed + 100)
    unit = width**-0.5

    def rand(*shape, scale=0.05):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    arrays = {
        "token_embedding.weight": rand(vocab, width, scale=0.1),
        "ln_final.weight": 1 + rand(width),
        "ln_final.bias": rand(width),
        "temperature": np.array(0.01, dtype=np.float32),
    }
    for i in range(layers):
        b = f"transformer.resblocks.{i}."
        arrays.update(
            {
                b + "attn.in_proj_weight": rand(3 * width, width, scale=1.5 * unit),
                b + "attn.in_proj_bias": rand(3 * width),
                b + "attn.out_proj.weight": rand(width, width, scale=unit),
                b + "attn.out_proj.bias": rand(width),
                b + "ln_1.weight": 1 + rand(width),
                b + "ln_1.bias": rand(width),
                b + "ln_2.weight": 1 + rand(width),
                b + "ln_2.bias": rand(width),
                b + "mlp.c_fc.weight": rand(mlp, width, scale=unit),
                b + "mlp.c_fc.bias": rand(mlp),
                b + "mlp.c_proj.weight": rand(width, mlp, scale=0.5 * unit),
                b + "mlp.c_proj.bias": rand(width),
            }
        )
    return arrays


def train_tokenizer(path: str, vocab: int = 200, extra: tuple[str, ...] = ()) -> str:
    """A small sentencepiece model trained on the 80 prompts filled with RS class names."""
    names = ["building", "road", "tree", "water", "car", "low vegetation", "clutter", "roof"]
    sentences = [t(n) for t in TEMPLATES for n in [*names, *extra]]
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        vocab_size=vocab,
        hard_vocab_limit=False,  # at most ``vocab`` pieces (the corpus is small)
        model_type="unigram",
        minloglevel=2,
    )
    with open(path, "wb") as f:
        f.write(model.getvalue())
    return path


def write_tips_files(
    folder: str,
    short: str,
    width: int,
    depth: int,
    text_layers: int,
    vocab: int = 200,
    seed: int = 0,
) -> str:
    """tips_oss_<short>_highres_distilled_{vision,text}.npz + tokenizer.model in ``folder``;
    returns the vision file's path."""
    os.makedirs(folder, exist_ok=True)
    stem = os.path.join(folder, f"tips_oss_{short}_highres_distilled")
    np.savez(stem + "_vision.npz", **tips_vision_arrays(width, depth, seed=seed))
    np.savez(stem + "_text.npz", **tips_text_arrays(width, text_layers, vocab, 4 * width, seed))
    train_tokenizer(os.path.join(folder, "tokenizer.model"), vocab)
    return stem + "_vision.npz"


def fork_block_keys(state_dict: dict) -> set[str]:
    """The per-block key suffixes of a fork state_dict (for tests of the key list)."""
    return {re.sub(r"^visual\.blocks\.\d+\.", "", k) for k in state_dict if ".blocks.0." in k}
