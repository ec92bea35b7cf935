"""The one interface every model family implements, so the segmentor stays family-agnostic:
text features, and an image tower (``dense.Tower``) that every dense method reads."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dense import Tower, build_method

# mmseg SegDataPreProcessor settings of OpenAI-normalised models: BGR -> RGB, then CLIP's
# mean/std on the 0-255 scale (docs/protocol.md).
CLIP_PREPROCESS = dict(
    mean=(122.771, 116.746, 104.094), std=(68.501, 66.632, 70.323), bgr_to_rgb=True
)


class DenseCLIP(nn.Module):
    """A loaded CLIP-family model as the segmentor sees it.

    A family subclasses this, sets the attributes below in ``__init__`` and implements the
    three methods. Everything else (windows, canvas, post-processing, text ensembles and
    their cache) is shared.

    Attributes:
        image_size: (H, W) the image tower expects; each window is resized to it.
        patch_size: side of a patch; windows are zero-padded to a multiple of it.
        fingerprint: identity of the weights (``sha256:...`` of the file, or ``tag:...``).
        text_settings: what the text features depend on besides the weights (cache key).
        preprocess: mean/std/bgr_to_rgb for mmseg's SegDataPreProcessor.
        loaded: facts read from the weights while loading (recorded with the results).
        tower: the image tower as the dense methods read it (``dense.Tower``).
    """

    image_size: tuple[int, int]
    patch_size: int
    fingerprint: str
    text_settings: dict
    preprocess: dict = CLIP_PREPROCESS
    loaded: dict
    tower: Tower

    def tokenize(self, texts: list[str]) -> Tensor:
        """Token ids for a batch of prompts, at the model's own context length."""
        raise NotImplementedError

    def encode_text(self, tokens: Tensor) -> Tensor:
        """(n, D) text features in the joint space (normalised or not: the ensemble
        normalises each one)."""
        raise NotImplementedError

    def dense_features(self, images: Tensor, model_type: str, ignore_residual: bool) -> Tensor:
        """(B, 1 + g*g, D): the CLS token then the patch grid (row-major), in the joint
        space, not normalised, with the last block's attention replaced by ``model_type``
        (one of the nine attentions; the segmentor builds any method with ``build_method``)."""
        out = build_method(model_type, self.tower, ignore_residual)(images)
        return torch.cat([out.cls[:, None], out.patches], dim=1)
