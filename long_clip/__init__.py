"""Everything about the CLIP model: the zoo, building (OpenCLIP + LongCLIP), checkpoints, text."""

from .model import (
    HARMLESS_EXTRAS,
    LONG_CONTEXT,
    LONG_KEEP,
    CheckpointError,
    LoadedModel,
    build_model,
    describe_vision,
    file_fingerprint,
    fold_long_positions,
    is_long_clip,
    load_clip,
    read_state_dict,
    source_fingerprint,
)
from .text import encode_queries, query_features, text_cache_key
from .zoo import MODEL_ZOO, ModelSource, ZooEntry, ZooError, resolve_source

__all__ = [
    "HARMLESS_EXTRAS",
    "LONG_CONTEXT",
    "LONG_KEEP",
    "MODEL_ZOO",
    "CheckpointError",
    "LoadedModel",
    "ModelSource",
    "ZooEntry",
    "ZooError",
    "build_model",
    "describe_vision",
    "encode_queries",
    "file_fingerprint",
    "fold_long_positions",
    "is_long_clip",
    "load_clip",
    "query_features",
    "read_state_dict",
    "resolve_source",
    "source_fingerprint",
    "text_cache_key",
]
