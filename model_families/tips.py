"""TIPS (Google, DINOv2-style ViT with one register token) on stock packages (docs/models.md).

Image tower: timm's ``vit_{base,large}_patch14_reg1_tipsv2`` at 448, loaded from the published
``*_vision.npz`` (same array names as TIPS' PyTorch model; the CLS position is folded into
the CLS token and the register gets no position, as TIPS computes it). Text tower: TIPS'
encoder written out below (about 60 lines of torch), loaded from ``*_text.npz``; tokens from
the published ``tokenizer.model`` through ``sentencepiece`` (in place of TensorFlow Text).
Input: RGB in [0, 1], no mean/std. The register token is dropped from the dense output.
"""

from __future__ import annotations

import re
import string

import numpy as np
import sentencepiece
import timm
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dense.tower import Tower
from foundation.builders import DTYPES, skip_init
from foundation.checkpoints import load_strict, require_keys
from foundation.errors import CheckpointError
from foundation.peek import wrong_family
from foundation.zoo import ModelSource, companion_files, source_fingerprint

from .base import DenseCLIP

IMAGE_SIZE = 448
MAX_LEN = 64  # TIPS pads/truncates prompts to 64 tokens
HEAD_DIM = 64  # every published TIPS text tower: heads = width / 64
# --vit-type -> timm model (the published code's b14 / l14 variants).
VISION = {"ViT-B-14": "vit_base_patch14_reg1_tipsv2", "ViT-L-14": "vit_large_patch14_reg1_tipsv2"}
VISION_REQUIRED = ("cls_token", "pos_embed", "register_tokens", "mask_token")
PREPROCESS = dict(mean=(0.0, 0.0, 0.0), std=(255.0, 255.0, 255.0), bgr_to_rgb=True)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def read_npz(path: str) -> dict[str, Tensor]:
    """All arrays of an ``.npz`` file as tensors (``allow_pickle=False``)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {k: torch.from_numpy(np.array(arrays[k])) for k in arrays.files}
    except Exception as err:  # noqa: BLE001 - any failure here means "not an npz of arrays"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: not a TIPS .npz file of arrays ({first[:160]})") from None


def vision_to_timm(arrays: dict[str, Tensor]) -> dict[str, Tensor]:
    """TIPS' vision arrays as timm names them: register_tokens -> reg_token; the CLS entry
    of pos_embed added to cls_token (TIPS adds it there too); mask_token (pretraining only)
    ignored by name."""
    out = {k: v for k, v in arrays.items() if k not in VISION_REQUIRED}
    pos = arrays["pos_embed"]
    out["cls_token"] = arrays["cls_token"] + pos[:, :1]
    out["reg_token"] = arrays["register_tokens"]
    out["pos_embed"] = pos[:, 1:]
    return out


def build_vision(vit_type: str) -> nn.Module:
    name = VISION.get(vit_type, vit_type)
    if name not in timm.list_models():
        raise CheckpointError(
            f"--vit-type {vit_type}: TIPS is published as {' / '.join(VISION)} (no timm model "
            f"'{name}')"
        )
    return timm.create_model(name, pretrained=False, img_size=IMAGE_SIZE, num_classes=0)


# ---------------------------------------------------------------------------- text tower
def sinusoid(length: int, width: int) -> Tensor:
    """TIPS' position signal: [sin | cos] over width/2 timescales, geometric from 1 to 1e4."""
    num = width // 2
    increment = torch.log(torch.tensor(1e4)) / max(num - 1, 1)
    inv = torch.exp(torch.arange(num, dtype=torch.float32) * -increment)
    angles = torch.arange(length, dtype=torch.float32)[:, None] * inv[None, :]
    return F.pad(torch.cat([angles.sin(), angles.cos()], dim=1), (0, width % 2))


class TextBlock(nn.Module):
    """Pre-LN block: attention over real tokens only; ReLU MLP zeroed on padding."""

    def __init__(self, width: int, heads: int, mlp_dim: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)  # holds in_proj/out_proj weights
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.ModuleDict(
            {"c_fc": nn.Linear(width, mlp_dim), "c_proj": nn.Linear(mlp_dim, width)}
        )
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: Tensor, keep: Tensor) -> Tensor:
        bsz, n, width = x.shape
        heads = self.attn.num_heads
        q, k, v = F.linear(self.ln_1(x), self.attn.in_proj_weight, self.attn.in_proj_bias).chunk(
            3, -1
        )
        q, k, v = (t.reshape(bsz, n, heads, -1).transpose(1, 2) for t in (q, k, v))
        bias = torch.zeros_like(keep).masked_fill(keep == 0, float("-inf"))[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = x + self.attn.out_proj(out.transpose(1, 2).reshape(bsz, n, width))
        hidden = F.relu(self.mlp["c_fc"](self.ln_2(x))) * keep[..., None]
        return x + self.mlp["c_proj"](hidden) * keep[..., None]


class TextEncoder(nn.Module):
    """TIPS' text encoder: scaled embedding + sinusoid, pre-LN blocks, final LN, mean over
    real tokens (no projection). Key names are those of the published ``_text.npz``."""

    def __init__(self, vocab: int, width: int, layers: int, heads: int, mlp_dim: int) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, width)
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.ModuleList(
            TextBlock(width, heads, mlp_dim) for _ in range(layers)
        )
        self.ln_final = nn.LayerNorm(width)

    def forward(self, ids: Tensor, padding: Tensor) -> Tensor:
        keep = (~padding).to(self.token_embedding.weight.dtype)
        width = self.token_embedding.embedding_dim
        x = self.token_embedding(ids) * width**0.5
        x = x + sinusoid(ids.shape[1], width).to(x)
        for block in self.transformer.resblocks:
            x = block(x, keep)
        x = self.ln_final(x) * keep[..., None]
        return x.sum(dim=1) / (keep.sum(dim=1, keepdim=True) + 1e-8)


def text_config(arrays: dict[str, Tensor], path: str) -> tuple[int, int, int, int, int]:
    """(vocab, width, layers, heads, mlp) as read from the text weights."""
    emb = arrays.get("token_embedding.weight")
    fc = arrays.get("transformer.resblocks.0.mlp.c_fc.weight")
    if emb is None or fc is None or emb.ndim != 2:
        diagnosis = wrong_family(path, arrays, "tips")
        raise diagnosis or CheckpointError(
            f"{path}: not a TIPS text .npz (no token_embedding.weight / transformer.resblocks)"
        )
    layers = {
        int(m.group(1)) for k in arrays if (m := re.match(r"transformer\.resblocks\.(\d+)\.", k))
    }
    width = emb.shape[1]
    return emb.shape[0], width, len(layers), max(width // HEAD_DIM, 1), fc.shape[0]


class Tokenizer:
    """TIPS' tokenizer with ``sentencepiece``: ASCII lower-casing (as ``tf.strings.lower``),
    no BOS/EOS, 0-padding to 64 with id 0 counted as padding; a batch longer than 64 is cut
    to 64 and then nothing counts as padding (as the published code does). Padding is
    returned as -1 so that the encoder can tell it from token 0 in that case."""

    def __init__(self, path: str) -> None:
        try:
            self.sp = sentencepiece.SentencePieceProcessor(model_file=path)
        except Exception as err:  # noqa: BLE001 - any failure: not a sentencepiece model
            raise CheckpointError(f"{path}: not a sentencepiece model ({err})") from None

    def __call__(self, texts: list[str]) -> Tensor:
        ids = [self.sp.encode(t.translate(_ASCII_LOWER)) for t in texts]
        longest = max(len(i) for i in ids)
        if longest > MAX_LEN:
            return torch.tensor([(i + [0] * (longest - len(i)))[:MAX_LEN] for i in ids])
        rows = [[t if t != 0 else -1 for t in i] + [-1] * (MAX_LEN - len(i)) for i in ids]
        return torch.tensor(rows)


# ---------------------------------------------------------------------------- the model
class TIPSTower(Tower):
    """timm's ``VisionTransformer`` (CLS + one register): fused qkv with bias,
    out = proj(norm(A v)). The dense path's residual branch has no LayerScale, as the
    published last layer (both of its branches) computes it; ``norm`` is the final norm
    (TIPS has no projection)."""

    def __init__(self, vit: nn.Module) -> None:
        self.vit = vit
        self.blocks = vit.blocks
        self.depth = len(vit.blocks)
        self.num_heads = vit.blocks[-1].attn.num_heads
        self.prefix = vit.num_prefix_tokens  # CLS + register
        self.patch_size = int(vit.patch_embed.patch_size[0])
        self.image_size = (IMAGE_SIZE, IMAGE_SIZE)

    def embed(self, images: Tensor) -> Tensor:
        vit = self.vit
        return vit.norm_pre(vit.patch_drop(vit._pos_embed(vit.patch_embed(images))))

    def block(self, index: int, x: Tensor) -> Tensor:
        return self.blocks[index](x)

    def qkv(self, index: int, x: Tensor, prefix: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        attn = self.blocks[index].attn
        y = self.blocks[index].norm1(x)
        bsz, n, _ = y.shape
        qkv = F.linear(y, attn.qkv.weight, attn.qkv.bias).reshape(bsz, n, 3, attn.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        return y, q, k, v

    def attn_out(self, index: int, heads_merged: Tensor) -> Tensor:
        attn = self.blocks[index].attn
        return attn.proj(attn.norm(heads_merged))

    def tail(self, index: int, x: Tensor, out: Tensor) -> Tensor:
        block = self.blocks[index]
        x = x + out
        return x + block.mlp(block.norm2(x))

    def head(self, x: Tensor) -> Tensor:
        return self.vit.norm(x)


class TIPSModel(DenseCLIP):
    """TIPS: timm image tower, TIPS text tower, sentencepiece tokenizer."""

    preprocess = PREPROCESS

    def __init__(
        self, vision: nn.Module, text: TextEncoder, tokenizer: Tokenizer, fingerprint: str
    ) -> None:
        super().__init__()
        self.vision = vision
        self.text = text
        self.tokenizer = tokenizer
        self.tower = TIPSTower(vision)
        self.image_size = self.tower.image_size
        self.patch_size = self.tower.patch_size
        self.fingerprint = fingerprint
        self.text_settings = {"family": "tips", "max_len": MAX_LEN, "tokenized": "per query"}
        self.loaded = {}

    def tokenize(self, texts: list[str]) -> Tensor:
        return self.tokenizer(texts)

    def encode_text(self, tokens: Tensor) -> Tensor:
        return self.text(tokens.clamp(min=0), tokens < 0)


def load(source: ModelSource, device: str, precision: str) -> TIPSModel:
    """Build TIPS from its vision .npz (``source.checkpoint``), the text .npz and
    tokenizer.model next to it; both towers loaded strictly."""
    if source.checkpoint is None:
        raise CheckpointError(f"--method {source.method}: needs the TIPS .npz files")
    vision_path = source.checkpoint
    text_path, tokenizer_path = companion_files(source)
    fingerprint = source_fingerprint(source)

    arrays = read_npz(vision_path)
    require_keys(arrays, VISION_REQUIRED, vision_path, "tips")
    with skip_init():  # every weight is loaded strictly right after
        vision = build_vision(source.vit_type)
    what = f"TIPS {source.vit_type} vision"
    load_strict(vision, vision_to_timm(arrays), vision_path, "tips", what)

    arrays = read_npz(text_path)
    arrays.pop("temperature", None)  # the contrastive temperature: unused here (as published)
    with skip_init():
        text = TextEncoder(*text_config(arrays, text_path))
    load_strict(text, arrays, text_path, "tips", "a TIPS text tower")

    model = TIPSModel(vision, text, Tokenizer(tokenizer_path), fingerprint)
    return model.to(device=device, dtype=DTYPES[precision]).eval()
