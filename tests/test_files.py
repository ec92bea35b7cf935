"""ovss.files: atomic writes and file fingerprints (once per file version, across runs)."""

from __future__ import annotations

import hashlib
import json
import os

import foundation.files as files


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "a" / "b.txt"
    files.write_atomic(str(path), "text")
    files.write_atomic(str(path), b"bytes")
    assert path.read_bytes() == b"bytes" and os.listdir(path.parent) == ["b.txt"]


def test_fingerprint_is_the_sha256_remembered_by_file_version(tmp_path, monkeypatch):
    path, index = tmp_path / "w.pt", str(tmp_path / "cache" / "fingerprints.json")
    path.write_bytes(b"weights v1")
    want = "sha256:" + hashlib.sha256(b"weights v1").hexdigest()
    files.prefetch_fingerprint(str(path), index)  # in the background ...
    assert files.file_fingerprint(str(path), index) == want  # ... waited for, not redone
    assert json.load(open(index))[str(path)][2] == want
    # a new process: the index answers for the same (path, size, mtime) without reading
    monkeypatch.setattr(files, "_HASHES", {})
    stat = os.stat(path)
    path.write_bytes(b"weights v2")  # same size, then the old mtime put back
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert files.file_fingerprint(str(path), index) == want
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a new version
    assert files.file_fingerprint(str(path), index) == (
        "sha256:" + hashlib.sha256(b"weights v2").hexdigest()
    )
    before = (dict(files._HASHES), dict(files._PENDING))
    files.prefetch_fingerprint(str(tmp_path / "missing.pt"))  # left to the caller's check
    assert (files._HASHES, files._PENDING) == before  # nothing started, nothing raised
