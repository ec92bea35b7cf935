"""The OpenCLIP / LongCLIP family: open_clip's ViTs, loaded strictly by ``long_clip``."""

from __future__ import annotations

from collections.abc import Callable

import open_clip
from torch import Tensor

from foundation.builders import DTYPES
from foundation.checkpoints import load_strict, read_state_dict, require_keys
from foundation.errors import CheckpointError
from foundation.zoo import ModelSource, source_fingerprint
from long_clip import LoadedModel, build_model, encode_text_upto_eot, load_clip

from .base import DenseCLIP
from .openclip_tower import OpenCLIPTower


class OpenCLIPModel(DenseCLIP):
    """An open_clip CLIP (ViT image tower); text encoded up to the end-of-text token.

    ``family`` names the published weights it was loaded from (COSMOS and FLAIR are open_clip
    architectures too); it keys the text cache.
    """

    def __init__(self, loaded: LoadedModel, family: str = "openclip") -> None:
        super().__init__()
        self.clip = loaded.model
        visual = self.clip.visual
        if not hasattr(visual, "transformer"):
            raise CheckpointError(
                f"--vit-type {loaded.source.vit_type}: dense features need a ViT image tower "
                "(not a ResNet)"
            )
        self.tower = OpenCLIPTower(visual)
        self.image_size = self.tower.image_size
        self.patch_size = self.tower.patch_size
        self.fingerprint = loaded.fingerprint
        self.context_length = loaded.context_length
        self.vit_type = loaded.source.vit_type
        self.text_settings = {
            "family": family,
            "vit_type": loaded.source.vit_type,
            "quick_gelu": loaded.source.quick_gelu,
            "long_clip": loaded.long_clip,
            "context_length": loaded.context_length,
        }
        self.loaded = {"long_clip_loaded": loaded.long_clip}
        self._tokenizer = None

    def tokenize(self, texts: list[str]) -> Tensor:
        if self._tokenizer is None:  # built once: reading the BPE vocabulary takes ~0.25 s
            self._tokenizer = open_clip.get_tokenizer(
                self.vit_type, context_length=self.context_length
            )
        return self._tokenizer(texts)

    def encode_text(self, tokens: Tensor) -> Tensor:
        return encode_text_upto_eot(self.clip, tokens)


def pooler_keys(prefix: str, norms: tuple[str, ...]) -> tuple[str, ...]:
    """The keys of a cross-attention pooler (a multi-head attention plus LayerNorms on its
    inputs) under ``prefix``: COSMOS and FLAIR files carry such training-only heads."""
    attn = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")
    norm_keys = [f"ln_{n}.{p}" for n in norms for p in ("weight", "bias")]
    return tuple(f"{prefix}.{k}" for k in [*(f"attn.{a}" for a in attn), *norm_keys])


def load(source: ModelSource, device: str, precision: str) -> OpenCLIPModel:
    return OpenCLIPModel(load_clip(source, device=device, precision=precision))


def load_family_file(
    source: ModelSource,
    device: str,
    precision: str,
    family: str,
    to_open_clip: Callable[[dict], dict],
    required: tuple[str, ...] = (),
) -> OpenCLIPModel:
    """Build open_clip's CLIP for ``source.vit_type`` and load another family's file
    (COSMOS, FLAIR) strictly: its own ``required`` keys present, the rest mapped to open_clip's
    names by ``to_open_clip``."""
    path = source.checkpoint
    if path is None:
        raise CheckpointError(f"--method {source.method}: needs a checkpoint file")
    fingerprint = source_fingerprint(source)
    in_file = read_state_dict(path)
    require_keys(in_file, required, path, family)
    model = build_model(source.vit_type, source.quick_gelu, long_clip=False)
    what = f"open_clip {source.vit_type}"
    load_strict(model, to_open_clip(in_file), path, family, what, in_file)
    model = model.to(device=device, dtype=DTYPES[precision]).eval()
    loaded = LoadedModel(model, source, False, fingerprint, int(model.context_length))
    return OpenCLIPModel(loaded, family=family)


__all__ = ["OpenCLIPModel", "load", "load_family_file", "pooler_keys"]
