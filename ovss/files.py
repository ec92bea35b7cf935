"""File helpers shared by the results, the caches and the settings: atomic writes, hashes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile


def write_atomic(path: str, data: str | bytes) -> None:
    """Write via a temporary file and rename: a reader never sees a half-written file."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        if isinstance(data, bytes):
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


_HASHES: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> "sha256:..."


def file_fingerprint(path: str, index: str | None = None) -> str:
    """sha256 of a file (checkpoints, class files): names exact contents in settings/caches.

    Hashed once per process per (path, size, mtime); with ``index`` (a JSON file, e.g. in
    the text cache) also once across runs: hashing a ViT-L checkpoint takes seconds.
    """
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    if key in _HASHES:
        return _HASHES[key]
    known = _read_index(index) if index else {}
    entry = known.get(key[0])
    if entry and entry[:2] == [key[1], key[2]]:
        _HASHES[key] = entry[2]
        return entry[2]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    _HASHES[key] = "sha256:" + digest.hexdigest()
    if index:
        known[key[0]] = [key[1], key[2], _HASHES[key]]
        write_atomic(index, json.dumps(known, indent=1) + "\n")
    return _HASHES[key]


def _read_index(index: str) -> dict:
    try:
        with open(index, encoding="utf-8") as f:
            found = json.load(f)
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError):
        return {}
