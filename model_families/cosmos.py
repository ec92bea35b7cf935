"""COSMOS: open_clip's ViT-B-16 (GELU) with its own weights (docs/models.md).

A COSMOS file holds the open_clip CLIP keys plus 17 keys of modules used only in training
(two cross-attention poolers and a distillation logit scale); they are accepted and ignored
by name, everything else is loaded strictly. The published dense path is SCLIP's q-q + k-k
attention in the last block, with residual and FFN (``SCLIP``, ``ignore_residual=False``),
which is ``dense_attention.last_block`` as is.
"""

from __future__ import annotations

from foundation.zoo import ModelSource

from .openclip import OpenCLIPModel, load_family_file, pooler_keys

# The training-only modules of a COSMOS checkpoint, by name (17 keys).
TRAINING_ONLY = frozenset(
    [
        *pooler_keys("visual.attn_cross_pool", ("q", "k")),
        *pooler_keys("text_attn_cross_pool", ("q", "k")),
        "distill_logit_scale",
    ]
)


def without_training_only(state_dict: dict) -> dict:
    return {k: v for k, v in state_dict.items() if k not in TRAINING_ONLY}


def load(source: ModelSource, device: str, precision: str) -> OpenCLIPModel:
    """Build open_clip's CLIP for ``source.vit_type`` and load a COSMOS file strictly, its
    training-only keys ignored by name."""
    return load_family_file(source, device, precision, "cosmos", without_training_only)
