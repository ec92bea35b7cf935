"""COSMOS: open_clip's ViT-B-16 (GELU) with its own weights (SPEC §11.2).

A COSMOS file holds the open_clip CLIP keys plus 17 keys of modules used only in training
(two cross-attention poolers and a distillation logit scale); they are accepted and ignored
by name, everything else is loaded strictly. The published dense path is SCLIP's q-q + k-k
attention in the last block, with residual and FFN (``SCLIP``, ``ignore_residual=False``),
which is ``dense_attention.last_block`` as is.
"""

from __future__ import annotations

from long_clip import LoadedModel, build_model, read_state_dict
from ovss.errors import CheckpointError
from ovss.files import file_fingerprint
from ovss.zoo import ModelSource, check_checkpoint_exists

from .checkpoints import load_strict
from .openclip import DTYPES, OpenCLIPModel

_POOLER = (
    "attn.in_proj_weight",
    "attn.in_proj_bias",
    "attn.out_proj.weight",
    "attn.out_proj.bias",
    "ln_q.weight",
    "ln_q.bias",
    "ln_k.weight",
    "ln_k.bias",
)
# The training-only modules of a COSMOS checkpoint, by name (17 keys).
TRAINING_ONLY = frozenset(
    [f"visual.attn_cross_pool.{k}" for k in _POOLER]
    + [f"text_attn_cross_pool.{k}" for k in _POOLER]
    + ["distill_logit_scale"]
)


def load(source: ModelSource, device: str, precision: str) -> OpenCLIPModel:
    """Build open_clip's CLIP for ``source.vit_type`` and load a COSMOS file strictly, its
    training-only keys ignored by name."""
    check_checkpoint_exists(source)
    path = source.checkpoint
    if path is None:
        raise CheckpointError(f"--method {source.method}: needs a checkpoint file")
    fingerprint = file_fingerprint(path)
    in_file = read_state_dict(path)
    state_dict = {k: v for k, v in in_file.items() if k not in TRAINING_ONLY}
    model = build_model(source.vit_type, source.quick_gelu, long_clip=False)
    load_strict(model, state_dict, path, "cosmos", f"open_clip {source.vit_type}", in_file)
    model = model.to(device=device, dtype=DTYPES[precision]).eval()
    loaded = LoadedModel(model, source, False, fingerprint, int(model.context_length))
    return OpenCLIPModel(loaded, family="cosmos")
