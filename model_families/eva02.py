"""The EVA02-CLIP family (CLIPSelf, FineCLIP) on stock packages: open_clip's EVA02 configs,
whose image tower is timm's ``Eva`` (RoPE, SwiGLU, sub-LN), and open_clip's text tower.

Published files are the EVA-CLIP fork's ``CustomCLIP`` state_dict (docs/models.md): possibly
under ``model``/``module``/``state_dict``, with ``module.`` prefixes, RoPE buffers (recomputed,
ignored by name) and the fork's key names, renamed here to timm's. The published dense path
is the value-only last block with residual and FFN (``MaskCLIP`` attention,
``ignore_residual=False``): the EVA attention below with A = I is exactly that block.
"""

from __future__ import annotations

import re

import open_clip
import torch
import torch.nn.functional as F
from timm.layers import apply_rot_embed_cat
from torch import Tensor, nn

from dense.tower import Tower
from foundation.builders import DTYPES, create_unloaded
from foundation.checkpoints import load_strict, read_state_dict, require_keys
from foundation.errors import CheckpointError
from foundation.zoo import ModelSource, source_fingerprint

from .base import DenseCLIP

# --vit-type -> open_clip config (the published code's EVA02-CLIP-B-16 / -L-14-336).
CONFIGS = {"ViT-B-16": "EVA02-B-16", "ViT-L-14": "EVA02-L-14-336"}
WRAPPERS = ("model", "module", "state_dict")  # the fork's order (EVA factory load_state_dict)
ROPE_BUFFER = re.compile(r"^visual\.(blocks\.\d+\.attn\.)?rope\.freqs_(cos|sin)$")
# Fork name -> timm name inside a vision block (timm's own EVA converter uses the same table).
RENAMES = (
    ("mlp.ffn_ln.", "mlp.norm."),
    ("attn.inner_attn_ln.", "attn.norm."),
    ("mlp.w1.", "mlp.fc1_g."),
    ("mlp.w2.", "mlp.fc1_x."),
    ("mlp.w3.", "mlp.fc2."),
    ("attn.q_bias", "attn.q_proj.bias"),
    ("attn.v_bias", "attn.v_proj.bias"),
)
REQUIRED = ("visual.pos_embed", "visual.cls_token", "text.token_embedding.weight")


def config_name(vit_type: str) -> str:
    """open_clip config of a --vit-type (ViT-B-16 / ViT-L-14), or the name itself."""
    return CONFIGS.get(vit_type, vit_type)


def to_open_clip_keys(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """The fork's CustomCLIP keys as open_clip's CustomTextCLIP (timm trunk) names them."""
    out = {}
    for key, value in state_dict.items():
        if ROPE_BUFFER.match(key):
            continue  # recomputed from the config, as the fork does (RoPE=1)
        if key == "text.logit_scale":
            key = "logit_scale"
        elif key.startswith("visual."):
            key = key[len("visual.") :]
            for old, new in RENAMES:
                key = key.replace(old, new)
            key = "visual.trunk." + key
        out[key] = value
    return out


def resize_pos_embed(state_dict: dict[str, Tensor], model_pos: Tensor) -> None:
    """A checkpoint grid that differs from the model's is resized as the fork does
    (bicubic, align_corners=False, no antialias; CLS entry kept)."""
    key = "visual.trunk.pos_embed"
    pos = state_dict.get(key)
    if pos is None or pos.shape == model_pos.shape or pos.ndim != 3:
        return
    old, new = round((pos.shape[1] - 1) ** 0.5), round((model_pos.shape[1] - 1) ** 0.5)
    if old * old != pos.shape[1] - 1 or pos.shape[2] != model_pos.shape[2]:
        return  # not a square grid of the same width: reported by the strict check
    grid = pos[:, 1:].reshape(1, old, old, -1).permute(0, 3, 1, 2).float()
    grid = F.interpolate(grid, size=(new, new), mode="bicubic", align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new * new, -1).to(pos.dtype)
    state_dict[key] = torch.cat([pos[:, :1], grid], dim=1)


def build(vit_type: str) -> nn.Module:
    """An open_clip EVA02 CLIP (fp32, CPU), not initialised: every weight is loaded after."""
    name = config_name(vit_type)
    cfg = open_clip.get_model_config(name)
    if cfg is None or "timm_model_name" not in cfg.get("vision_cfg", {}):
        raise CheckpointError(
            f"--vit-type {vit_type}: no open_clip EVA02 config '{name}' (published: "
            f"{' / '.join(CONFIGS)}; or register yours with --model-config)"
        )
    return create_unloaded(name)


class EVA02Tower(Tower):
    """timm's ``Eva`` trunk: q = W_q y + b_q, k = W_k y (no bias), v = W_v y + b_v
    (y = norm1 x), rotary positions on the patch q/k, out = proj(norm_inner(A v)),
    LayerScale (gamma) on both residual branches; ``norm`` then ``head`` project."""

    def __init__(self, trunk: nn.Module) -> None:
        self.trunk = trunk
        self.blocks = trunk.blocks
        self.depth = len(trunk.blocks)
        self.num_heads = trunk.blocks[-1].attn.num_heads
        self.prefix = trunk.num_prefix_tokens
        self.patch_size = int(trunk.patch_embed.patch_size[0])
        self.image_size = tuple(trunk.patch_embed.img_size)

    def rope(self) -> Tensor | None:
        """The rotary embedding of the tower's own grid (as ``Eva._pos_embed`` gives it)."""
        rope = self.trunk.rope
        if rope is None:
            return None
        if hasattr(rope, "feat_shape"):
            return rope.get_embed()
        return rope.get_embed(shape=self.trunk.patch_embed.grid_size)

    def embed(self, images: Tensor) -> Tensor:
        x, _ = self.trunk._pos_embed(self.trunk.patch_embed(images))
        return self.trunk.norm_pre(x)

    def block(self, index: int, x: Tensor) -> Tensor:
        return self.blocks[index](x, rope=self.rope())

    def run_blocks(self, x: Tensor, stop: int) -> Tensor:
        rope = self.rope()
        for block in self.blocks[:stop]:
            x = block(x, rope=rope)
        return x

    def qkv(self, index: int, x: Tensor, prefix: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        attn = self.blocks[index].attn
        y = self.blocks[index].norm1(x)
        bsz, n, _ = y.shape

        def heads(t: Tensor) -> Tensor:
            return t.reshape(bsz, n, attn.num_heads, -1).transpose(1, 2)

        q, k, v = heads(attn.q_proj(y)), heads(attn.k_proj(y)), heads(attn.v_proj(y))
        rope = self.rope()
        if rope is not None:
            half = getattr(attn, "rotate_half", False)
            q = torch.cat(
                [q[:, :, :prefix], apply_rot_embed_cat(q[:, :, prefix:], rope, half=half)], 2
            )
            k = torch.cat(
                [k[:, :, :prefix], apply_rot_embed_cat(k[:, :, prefix:], rope, half=half)], 2
            )
        return y, q.type_as(v), k.type_as(v), v

    def attn_out(self, index: int, heads_merged: Tensor) -> Tensor:
        attn = self.blocks[index].attn
        return attn.proj(attn.norm(heads_merged))

    def tail(self, index: int, x: Tensor, out: Tensor) -> Tensor:
        block = self.blocks[index]
        gamma_1 = block.gamma_1 if block.gamma_1 is not None else 1.0
        gamma_2 = block.gamma_2 if block.gamma_2 is not None else 1.0
        x = x + gamma_1 * out
        return x + gamma_2 * block.mlp(block.norm2(x))

    def head(self, x: Tensor) -> Tensor:
        return self.trunk.head(self.trunk.norm(x))  # per token: the published path drops CLS


def encode_text_upto_eot(text: nn.Module, tokens: Tensor) -> Tensor:
    """open_clip's TextTransformer on the tokens up to the last end-of-text token: exact
    under its causal mask with argmax pooling (see long_clip.encode_text_upto_eot)."""
    mask = getattr(text, "attn_mask", None)
    plain = getattr(text, "cls_emb", None) is None and not getattr(text, "use_pad_mask", False)
    if getattr(text, "pool_type", None) != "argmax" or mask is None or not plain:
        return text(tokens)
    length = int(tokens.argmax(dim=-1).max()) + 1
    return torch.func.functional_call(
        text, {"attn_mask": mask[:length, :length]}, (tokens[:, :length],), strict=False
    )


class EVA02CLIP(DenseCLIP):
    """An open_clip EVA02 CLIP: timm Eva image tower, open_clip text tower."""

    def __init__(self, clip: nn.Module, source: ModelSource, fingerprint: str) -> None:
        super().__init__()
        self.clip = clip
        self.tower = EVA02Tower(clip.visual.trunk)
        self.image_size = tuple(clip.visual.image_size)
        self.patch_size = self.tower.patch_size
        self.fingerprint = fingerprint
        self.config = config_name(source.vit_type)
        self.text_settings = {"family": "eva02", "config": self.config, "context_length": 77}
        self.loaded = {}
        self._tokenizer = None

    def tokenize(self, texts: list[str]) -> Tensor:
        if self._tokenizer is None:  # built once: reading the BPE vocabulary takes ~0.25 s
            self._tokenizer = open_clip.get_tokenizer(self.config)
        return self._tokenizer(texts)

    def encode_text(self, tokens: Tensor) -> Tensor:
        return encode_text_upto_eot(self.clip.text, tokens)


def load(source: ModelSource, device: str, precision: str) -> EVA02CLIP:
    """Build the open_clip EVA02 model of ``source.vit_type`` and load the published file
    strictly (fork names mapped to timm's; RoPE buffers ignored by name)."""
    path = source.checkpoint
    if path is None:
        raise CheckpointError(f"--method {source.method}: needs a checkpoint file")
    fingerprint = source_fingerprint(source)
    in_file = read_state_dict(path, WRAPPERS)
    require_keys(in_file, REQUIRED, path, "eva02")
    clip = build(source.vit_type)
    state_dict = to_open_clip_keys(in_file)
    resize_pos_embed(state_dict, clip.visual.trunk.pos_embed)
    what = f"the {config_name(source.vit_type)} model (--vit-type {source.vit_type})"
    load_strict(clip, state_dict, path, "eva02", what, in_file)
    clip = clip.to(device=device, dtype=DTYPES[precision]).eval()
    return EVA02CLIP(clip, source, fingerprint)
