"""model_families.text: the 80-template ensemble (docs/protocol.md) and its memory/disk cache."""

from __future__ import annotations

import os

import open_clip
import torch

import model_families.text as text_mod
from conftest import TINY
from foundation.zoo import resolve_source
from long_clip import load_clip
from model_families import clear_memory_cache, encode_queries, query_features
from model_families.openclip import OpenCLIPModel
from prompts import TEMPLATES


def tiny_model(path):
    return OpenCLIPModel(load_clip(resolve_source("CLIP", TINY, pretrained=path)))


def test_query_features_follow_spec(tiny_checkpoint):
    model = tiny_model(tiny_checkpoint)
    tokenizer = open_clip.get_tokenizer(TINY)
    got = encode_queries(model, ["road", "water"])
    assert len(TEMPLATES) == 80 and TEMPLATES[0]("x") == "a bad photo of a x."
    for i, query in enumerate(["road", "water"]):
        with torch.no_grad():
            feats = [model.clip.encode_text(tokenizer([t(query)]))[0] for t in TEMPLATES]
        feats = [f / f.norm() for f in feats]
        mean = torch.stack(feats).mean(0)
        assert (got[i] - mean / mean.norm()).abs().max().item() <= 1e-5


def test_query_features_cached_per_query_in_memory_and_on_disk(
    tmp_path, tiny_checkpoint, monkeypatch
):
    model = tiny_model(tiny_checkpoint)
    encoded = []
    real = text_mod.encode_queries
    monkeypatch.setattr(
        text_mod, "encode_queries", lambda m, q, *a: encoded.append(list(q)) or real(m, q, *a)
    )
    clear_memory_cache()
    first = query_features(model, ["road", "tree"], str(tmp_path))
    again = query_features(model, ["road", "tree"], str(tmp_path))
    assert encoded == [["road", "tree"]] and torch.equal(again, first)
    assert len(os.listdir(tmp_path)) == 1
    clear_memory_cache()  # a new process: the disk cache answers
    from_disk = query_features(model, ["tree", "road"], str(tmp_path))
    assert encoded == [["road", "tree"]] and torch.equal(from_disk, first.flip(0))
    # another class file sharing a name: only the new name is encoded, same file extended
    mixed = query_features(model, ["grass", "road"], str(tmp_path))
    assert encoded == [["road", "tree"], ["grass"]] and len(os.listdir(tmp_path)) == 1
    assert torch.equal(mixed[1], first[0])
    clear_memory_cache()
    assert torch.equal(query_features(model, ["grass"], str(tmp_path))[0], mixed[0])
    assert encoded == [["road", "tree"], ["grass"]]
    # the features of one query do not depend on the other queries encoded with it
    alone = encode_queries(model, ["tree"])
    assert (alone[0] - first[1]).abs().max().item() <= 1e-6
