"""OpenCLIP text forward, cut at the end-of-text token (exact, 5-20x cheaper)."""

from __future__ import annotations

import torch


def encode_text_upto_eot(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """open_clip's own text forward on the tokens up to the last end-of-text token.

    Under the causal mask no position attends to a later one, and an argmax-pooled CLIP
    reads its feature at the end-of-text token, so the padding after it never reaches the
    output: dropping it is exact, and 5-20x cheaper (prompts are ~15 of 77 or 248 tokens).
    Models without causal mask + argmax pooling run on the full tokens.
    """
    mask = getattr(model, "attn_mask", None)
    if getattr(model, "text_pool_type", None) != "argmax" or mask is None:
        return model.encode_text(tokens)
    length = int(tokens.argmax(dim=-1).max()) + 1
    overrides = {
        "positional_embedding": model.positional_embedding[:length],
        "attn_mask": mask[:length, :length],
    }
    out = torch.func.functional_call(
        model, overrides, args=(), kwargs={"text": tokens[:, :length]}, strict=False
    )
    return out["text_features"] if isinstance(out, dict) else out[1]
