"""File helpers shared by the results, the caches and the settings: atomic writes, hashes."""

from __future__ import annotations

import functools
import hashlib
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


def file_fingerprint(path: str) -> str:
    """sha256 of a file (checkpoints, class files): names exact contents in settings/caches."""
    stat = os.stat(path)
    return _sha256(os.path.abspath(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """Hashed once per (path, size, mtime): the CLI and the loader both ask."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()
