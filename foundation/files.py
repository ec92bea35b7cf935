"""File helpers shared by the results, the caches and the settings: atomic writes, hashes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor


def write_atomic(path: str, data: str | bytes) -> None:
    """Write via a temporary file and rename: a reader never sees a half-written file. The
    temporary name, ``.<name>.<random>.part``, is hidden and never ends with the file's own
    suffix, so no listing by suffix (results, dataset folders) takes it for a finished file."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".part")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 -> what open() would give
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


def current_umask() -> int:
    """The process umask: from /proc on Linux (thread-safe), else by setting it and putting
    it back (there is no getter)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_HASHES: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> "sha256:..."
_PENDING: dict[tuple[str, int, int], Future] = {}  # hashes being computed in the background
_LOCK = threading.Lock()
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fingerprint")


def file_fingerprint(path: str, index: str | None = None) -> str:
    """sha256 of a file (checkpoints, class files): names exact contents in settings/caches.

    Hashed once per process per (path, size, mtime); with ``index`` (a JSON file, e.g. in
    the text cache) also once across runs: hashing a ViT-L checkpoint takes seconds. A hash
    started by ``prefetch_fingerprint`` is waited for, not computed twice.
    """
    return _future(path, index).result()


def prefetch_fingerprint(path: str, index: str | None = None) -> None:
    """Start hashing ``path`` in a background thread (hashlib releases the GIL), e.g. while
    torch and mmseg are imported; a missing file is left to the caller's own check."""
    if os.path.isfile(path):
        _future(path, index)


def _future(path: str, index: str | None) -> Future:
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    with _LOCK:
        if key in _HASHES:
            done: Future = Future()
            done.set_result(_HASHES[key])
            return done
        if key not in _PENDING:
            _PENDING[key] = _POOL.submit(_hash, key, index)
        return _PENDING[key]


def _hash(key: tuple[str, int, int], index: str | None) -> str:
    known = _read_index(index) if index else {}
    entry = known.get(key[0])
    if entry and entry[:2] == [key[1], key[2]]:
        digest_text = entry[2]
    else:
        digest = hashlib.sha256()
        with open(key[0], "rb") as f:
            for block in iter(lambda: f.read(1 << 24), b""):
                digest.update(block)
        digest_text = "sha256:" + digest.hexdigest()
        if index:
            known[key[0]] = [key[1], key[2], digest_text]
            write_atomic(index, json.dumps(known, indent=1) + "\n")
    with _LOCK:
        _HASHES[key] = digest_text
        _PENDING.pop(key, None)
    return digest_text


def _read_index(index: str) -> dict:
    try:
        with open(index, encoding="utf-8") as f:
            found = json.load(f)
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError):
        return {}
