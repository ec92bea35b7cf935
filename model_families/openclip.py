"""The OpenCLIP / LongCLIP family: open_clip's ViTs, loaded strictly by ``long_clip``."""

from __future__ import annotations

import open_clip
from torch import Tensor

from dense_attention import dense_features, patch_size
from long_clip import LoadedModel, encode_text_upto_eot, load_clip
from long_clip.model import DTYPES
from ovss.errors import CheckpointError
from ovss.zoo import ModelSource

from .base import DenseCLIP


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
        self.image_size = tuple(visual.image_size)
        self.patch_size = patch_size(visual)
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

    def dense_features(self, images: Tensor, model_type: str, ignore_residual: bool) -> Tensor:
        return dense_features(self.clip.visual, images, model_type, ignore_residual)


def load(source: ModelSource, device: str, precision: str) -> OpenCLIPModel:
    return OpenCLIPModel(load_clip(source, device=device, precision=precision))


__all__ = ["DTYPES", "OpenCLIPModel", "load"]
