"""Indexing the raw download: every file of the RAW arguments as an ``Entry``, and the key
functions that pick a converter's images and labels out of them.

RAW arguments may be zips, folders, or folders holding zips (nested zips are unpacked to a
temporary folder). Each file becomes an ``Entry`` with a virtual path ``<RAW name>/<path
inside>`` (a zip's members continue its path), so a converter selects files by folder and
file names, wherever the user unpacked them. Members are read straight from the zips:
nothing is extracted twice.
"""

from __future__ import annotations

import os
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from foundation.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class Entry:
    """One raw file: a plain file (``member`` None) or a member of the zip ``file``."""

    path: str  # virtual path, '/'-separated: '<RAW name>/<folders>/<name>'
    file: str
    member: str | None = None

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def stem(self) -> str:
        return os.path.splitext(self.name)[0]

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.name)[1]

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("/"))

    @property
    def parent(self) -> str:
        """The name of the folder holding the file."""
        parts = self.parts
        return parts[-2] if len(parts) > 1 else ""

    def has_part(self, *names: str) -> bool:
        """True if one of the folders on the path is one of ``names`` (case-insensitive)."""
        wanted = {n.lower() for n in names}
        return any(p.lower() in wanted for p in self.parts[:-1])

    def open(self):
        if self.member is None:
            return open(self.file, "rb")
        return _zip(self.file).open(self.member)

    def read(self) -> bytes:
        with self.open() as f:
            return f.read()


_ZIPS: dict[tuple[int, str], zipfile.ZipFile] = {}


def _zip(path: str) -> zipfile.ZipFile:
    """One open ZipFile per process and archive (a forked worker must not share the
    parent's file offset)."""
    key = (os.getpid(), path)
    if key not in _ZIPS:
        _ZIPS[key] = zipfile.ZipFile(path)
    return _ZIPS[key]


def check_raw(paths: Sequence[str]) -> None:
    """Each RAW argument exists (checked before anything heavy is imported)."""
    for raw in paths:
        if not os.path.exists(raw):
            raise DataError(
                f"RAW {os.path.abspath(raw)} does not exist; pass the downloaded zip(s) or their "
                "folder"
            )


def index_raw(paths: Sequence[str], tmp_dir: str) -> list[Entry]:
    """Every file under the RAW arguments (zips opened, nested zips unpacked to tmp_dir)."""
    check_raw(paths)
    entries: list[Entry] = []
    for raw in paths:
        raw = os.path.abspath(raw)
        base = os.path.basename(raw.rstrip(os.sep))
        if os.path.isdir(raw):
            for folder, dirs, files in os.walk(raw):
                dirs.sort()
                rel = os.path.relpath(folder, raw)
                prefix = base if rel == "." else f"{base}/{rel.replace(os.sep, '/')}"
                for name in sorted(files):
                    path = os.path.join(folder, name)
                    if name.startswith("."):
                        continue
                    if name.lower().endswith(".zip") and zipfile.is_zipfile(path):
                        entries += _index_zip(path, f"{prefix}/{name}", tmp_dir)
                    else:
                        entries.append(Entry(f"{prefix}/{name}", path))
        elif os.path.isfile(raw):
            if not zipfile.is_zipfile(raw):
                raise DataError(f"RAW {raw} is neither a folder nor a zip archive")
            entries += _index_zip(raw, base, tmp_dir)
        else:
            raise DataError(f"RAW {raw} is neither a folder nor a file")
    return entries


def _index_zip(path: str, prefix: str, tmp_dir: str) -> list[Entry]:
    entries = []
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise DataError(f"{path}: not a readable zip archive ({err}); download it again") from err
    with archive:
        for info in archive.infolist():
            if info.is_dir() or posixpath.basename(info.filename).startswith("."):
                continue
            if "__MACOSX" in info.filename.split("/"):
                continue
            virtual = f"{prefix}/{info.filename}"
            if info.filename.lower().endswith(".zip"):
                inner = tempfile.mkdtemp(dir=tmp_dir)
                target = archive.extract(info, inner)
                entries += _index_zip(target, virtual, tmp_dir)
            else:
                entries.append(Entry(virtual, path, info.filename))
    return entries


def select_split(
    entries: Iterable[Entry], wanted: str | None, avoid: Sequence[str] = ()
) -> list[Entry]:
    """The entries under a folder named ``wanted`` if there are any (the user gave the whole
    release), else those under none of the ``avoid`` folders (the user gave the split)."""
    entries = list(entries)
    if wanted is not None:
        inside = [e for e in entries if e.has_part(wanted)]
        if inside:
            return inside
    return [e for e in entries if not e.has_part(*avoid)]


def by_key(entries: Iterable[Entry], key: Callable[[Entry], str | None]) -> dict[str, Entry]:
    """key -> entry for the entries whose key is not None; the same key twice is an error."""
    found: dict[str, Entry] = {}
    for e in entries:
        k = key(e)
        if k is None:
            continue
        if k in found:
            raise DataError(
                f"two raw files for {k}: {found[k].path} and {e.path}; pass only one copy"
            )
        found[k] = e
    return found


def pair_up(
    dataset: str, images: dict[str, Entry], labels: dict[str, Entry], what: str
) -> list[tuple[str, Entry, Entry]]:
    """(key, image, label) for every image; an image without its label is one error line."""
    if not images:
        raise DataError(f"{dataset}: no {what} found in RAW")
    missing = sorted(set(images) - set(labels))
    if missing:
        names = ", ".join(images[k].path for k in missing[:3])
        raise DataError(
            f"{dataset}: {len(missing)} image(s) without a label in RAW (first: {names}); "
            "pass the label download too"
        )
    return [(k, images[k], labels[k]) for k in sorted(images)]


def strip_suffix(name: str, suffix: str) -> str | None:
    """``name`` without ``suffix`` (case-insensitive), or None if it does not end with it."""
    return name[: -len(suffix)] if name.lower().endswith(suffix.lower()) else None


def match(pattern: str) -> Callable[[Entry], str | None]:
    """A key function: the first group of ``pattern`` matched against the file name."""
    regex = re.compile(pattern, re.IGNORECASE)

    def key(entry: Entry) -> str | None:
        m = regex.fullmatch(entry.name)
        return m.group(1) if m else None

    return key


def in_folder(folder: str, suffixes: Sequence[str] = IMAGE_SUFFIXES, strip: str = "") -> Callable:
    """A key function: the file's stem (``strip`` removed from its end when there) if it lies
    in a folder named ``folder`` (case-insensitive) and has one of ``suffixes``."""

    def key(entry: Entry) -> str | None:
        if entry.parent.lower() != folder.lower() or entry.suffix.lower() not in suffixes:
            return None
        return (strip_suffix(entry.stem, strip) if strip else None) or entry.stem

    return key
