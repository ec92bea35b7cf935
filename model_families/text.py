"""Query features (SPEC §4): the 80-template ensemble per query, cached in memory and on disk.

Family-agnostic: a model tokenises and encodes; the ensemble (L2-normalise each template's
feature, average, L2-normalise) is done here, once per content key. The key is a hash of
exactly what the features depend on (weights, text settings, dtype, device type, queries,
templates), so the cache directory is safe to delete at any time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Sequence

import torch

from ovss.files import write_atomic
from prompts import TEMPLATES, fill_templates

from .base import DenseCLIP

_MEMORY: dict[str, torch.Tensor] = {}


def clear_memory_cache() -> None:
    """Forget the in-process features (the disk cache stays): as a new process would."""
    _MEMORY.clear()


def text_cache_key(
    model: DenseCLIP, queries: Sequence[str], templates: Sequence[Callable[[str], str]]
) -> str:
    """Content key: weights fingerprint, text settings, dtype, device type, queries, templates."""
    param = next(model.parameters())
    payload = {
        "weights": model.fingerprint,
        "text": model.text_settings,
        "dtype": str(param.dtype),
        "device": param.device.type,
        "queries": list(queries),
        "templates": [t("{}") for t in templates],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


@torch.no_grad()
def encode_queries(
    model: DenseCLIP,
    queries: Sequence[str],
    templates: Sequence[Callable[[str], str]] = TEMPLATES,
) -> torch.Tensor:
    """(num_queries, dim): per query, mean of L2-normalised template features, re-normalised."""
    device = next(model.parameters()).device
    features = []
    for query in queries:
        tokens = model.tokenize(fill_templates(query, templates)).to(device)
        feats = model.encode_text(tokens)
        feats = feats / feats.norm(dim=-1, keepdim=True)
        mean = feats.mean(dim=0)
        features.append(mean / mean.norm())
    return torch.stack(features)


def query_features(
    model: DenseCLIP,
    queries: Sequence[str],
    cache_dir: str | None = None,
    templates: Sequence[Callable[[str], str]] = TEMPLATES,
) -> torch.Tensor:
    """encode_queries, computed once per content key (memory, then ``cache_dir`` on disk)."""
    key = text_cache_key(model, queries, templates)
    if key in _MEMORY:
        return _MEMORY[key]
    path = os.path.join(cache_dir, f"{key}.pt") if cache_dir else None
    feats = None
    if path and os.path.isfile(path):
        try:
            feats = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed
            feats = None
    device = next(model.parameters()).device
    if feats is None or feats.shape[0] != len(queries):
        feats = encode_queries(model, queries, templates)
        if path:
            buffer = io.BytesIO()
            torch.save(feats.cpu(), buffer)
            write_atomic(path, buffer.getvalue())
    _MEMORY[key] = feats.to(device)
    return _MEMORY[key]
