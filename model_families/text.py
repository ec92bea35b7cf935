"""Query features (docs/protocol.md): the 80-template ensemble per query, cached in memory
and on disk.

Family-agnostic: a model tokenises and encodes; the ensemble (L2-normalise each template's
feature, average, L2-normalise) is done here. A query's feature depends only on (weights,
text settings, dtype, device type, templates, the query), so it is cached PER QUERY: class
files that share names ("road", "building", "background", ...) encode them once. One disk
file per model key holds its queries; the cache directory is safe to delete at any time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Sequence

import torch

from foundation.files import write_atomic
from foundation.profile import stage
from prompts import TEMPLATES, fill_templates

from .base import DenseCLIP

_MEMORY: dict[str, dict[str, torch.Tensor]] = {}  # model key -> query -> feature


def clear_memory_cache() -> None:
    """Forget the in-process features (the disk cache stays): as a new process would."""
    _MEMORY.clear()


def text_cache_key(model: DenseCLIP, templates: Sequence[Callable[[str], str]]) -> str:
    """Content key of a model's text side: weights, text settings, dtype, device, templates."""
    param = next(model.parameters())
    payload = {
        "weights": model.fingerprint,
        "text": model.text_settings,
        "dtype": str(param.dtype),
        "device": param.device.type,
        "templates": [t("{}") for t in templates],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


@torch.no_grad()
def encode_queries(
    model: DenseCLIP,
    queries: Sequence[str],
    templates: Sequence[Callable[[str], str]] = TEMPLATES,
    batch: int = 256,
) -> torch.Tensor:
    """(num_queries, dim): per query, mean of L2-normalised template features, re-normalised.

    Each query's prompts are tokenised together, as the published code does (TIPS' padding
    rule depends on that batch: docs/models.md); all prompts of all queries are then encoded
    together, ``batch`` at a time, sorted by length so that each batch is cut short (text
    towers here pool at the end-of-text token or mask the padding: a prompt's feature does
    not depend on its batch)."""
    device = next(model.parameters()).device
    tokens = torch.cat([model.tokenize(fill_templates(query, templates)) for query in queries])
    order = (tokens != 0).sum(dim=-1).argsort(stable=True)
    feats: torch.Tensor | None = None
    for chunk in order.split(batch):
        out = model.encode_text(tokens[chunk].to(device)).float()
        if feats is None:
            feats = out.new_empty(len(tokens), out.shape[-1])
        feats[chunk.to(device)] = out / out.norm(dim=-1, keepdim=True)
    mean = feats.view(len(queries), len(templates), -1).mean(dim=1)
    return (mean / mean.norm(dim=-1, keepdim=True)).to(next(model.parameters()).dtype)


def query_features(
    model: DenseCLIP,
    queries: Sequence[str],
    cache_dir: str | None = None,
    templates: Sequence[Callable[[str], str]] = TEMPLATES,
) -> torch.Tensor:
    """encode_queries, each query computed once per model key (memory, then disk)."""
    key = text_cache_key(model, templates)
    known = _MEMORY.setdefault(key, {})
    path = os.path.join(cache_dir, f"{key}.pt") if cache_dir else None
    missing = [q for q in dict.fromkeys(queries) if q not in known]
    device = next(model.parameters()).device
    if missing and path:
        for query, feat in _read(path).items():
            known.setdefault(query, feat.to(device))
        missing = [q for q in missing if q not in known]
    if missing:
        with stage("text features (encode)"):
            feats = encode_queries(model, missing, templates)
        known.update(zip(missing, feats, strict=True))
        if path:
            on_disk = {**_read(path), **{q: f.cpu() for q, f in zip(missing, feats, strict=True)}}
            buffer = io.BytesIO()
            torch.save(on_disk, buffer)
            write_atomic(path, buffer.getvalue())
    return torch.stack([known[q] for q in queries])


def _read(path: str) -> dict[str, torch.Tensor]:
    """The features saved for one model key; a missing or damaged file is empty."""
    if not os.path.isfile(path):
        return {}
    try:
        found = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed
        return {}
    return found if isinstance(found, dict) else {}
