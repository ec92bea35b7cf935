"""FLAIR: open_clip's ViT-B-16 (GELU) with FLAIR's projections renamed (docs/models.md).

FLAIR keeps its projections outside the towers: ``image_post.proj`` (768 -> 512) is
open_clip's ``visual.proj`` and ``text_post.proj`` its ``text_projection``, so the stock model
computes FLAIR's ``image_post(ln_post(x))`` and ``text_post(encode_text(.))`` exactly.
``visual_proj`` (an attention pooler used only for retrieval) and ``logit_bias`` are accepted
and ignored by name. Text uses the standard CLIP BPE (the published copy of FLAIR's vocabulary
file is empty), and every block mixes tokens (the published path feeds sequence-first
tensors to batch-first blocks, so blocks 0-10 mix none): both as FLAIR's authors intended.
"""

from __future__ import annotations

from foundation.zoo import ModelSource

from .openclip import OpenCLIPModel, load_family_file, pooler_keys

RENAMES = {"image_post.proj": "visual.proj", "text_post.proj": "text_projection"}
POOLER = pooler_keys("visual_proj", ("q", "k", "v"))
IGNORED = frozenset({*POOLER, "logit_bias"})


def to_open_clip_keys(state_dict: dict) -> dict:
    """FLAIR's keys as open_clip's CLIP names them (unused heads dropped by name)."""
    return {RENAMES.get(k, k): v for k, v in state_dict.items() if k not in IGNORED}


def load(source: ModelSource, device: str, precision: str) -> OpenCLIPModel:
    """Build open_clip's CLIP for ``source.vit_type`` and load a FLAIR file strictly, its
    projections renamed and its retrieval pooler ignored by name."""
    required = (*RENAMES, *POOLER)
    return load_family_file(source, device, precision, "flair", to_open_clip_keys, required)
