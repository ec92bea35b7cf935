"""Writing: where a converter writes (``Out``, the dataset config's folders and suffixes) and
the atomic image and label writers.

Every output is written by ``foundation.files.write_atomic`` (a hidden ``.part`` file, then a
rename), so an interrupted run never leaves a half-written file that a rerun would take as
finished; labels are single-channel 8-bit files (Pillow reads them as 'L', never 'P').
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from foundation.errors import DataError
from foundation.files import write_atomic

from .decode import decode_cv2
from .raw_index import Entry

if TYPE_CHECKING:  # a type only: ovss.data_check imports mmseg
    from ovss.data_check import DatasetLayout


@dataclass(frozen=True)
class Out:
    """Where a converter writes: the dataset config's folders and suffixes."""

    img_dir: str
    seg_dir: str
    img_suffix: str
    seg_suffix: str

    @classmethod
    def of(cls, layout: DatasetLayout) -> Out:
        return cls(layout.img_dir, layout.seg_dir, layout.img_suffix, layout.seg_suffix)

    def for_split(self, split: str) -> Out:
        """The same layout with the last folder (the config's split) replaced by ``split``:
        ``UAVid/img_dir/test`` -> ``UAVid/img_dir/val``."""
        return Out(
            os.path.join(os.path.dirname(self.img_dir.rstrip("/")), split),
            os.path.join(os.path.dirname(self.seg_dir.rstrip("/")), split),
            self.img_suffix,
            self.seg_suffix,
        )

    def img(self, stem: str) -> str:
        return os.path.join(self.img_dir, stem + self.img_suffix)

    def seg(self, stem: str) -> str:
        return os.path.join(self.seg_dir, stem + self.seg_suffix)

    def pair(self, stem: str) -> tuple[str, str]:
        return self.img(stem), self.seg(stem)


def encode(path: str, array: np.ndarray) -> bytes:
    """cv2 encoding chosen by the suffix (colour arrays are BGR, as cv2/mmcv write them)."""
    ext = os.path.splitext(path)[1].lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, 100] if ext in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(ext, array, params)
    if not ok:
        raise DataError(f"cannot encode {path}")
    return buf.tobytes()


def write_image(path: str, bgr: np.ndarray) -> None:
    write_atomic(path, encode(path, bgr))


def write_label(path: str, label: np.ndarray) -> None:
    """A single-channel 8-bit label (PNG or TIFF by suffix): Pillow reads it as mode 'L'."""
    if label.ndim != 2 or label.dtype != np.uint8:
        raise DataError(f"{path}: internal error, label must be 2-D uint8")
    write_atomic(path, encode(path, label))


def copy_entry(entry: Entry, path: str) -> None:
    """The raw bytes, unchanged (the file already has the target format)."""
    write_atomic(path, entry.read())


def put_image(entry: Entry, path: str) -> None:
    """Copy an image if its format already matches the target suffix, else decode and
    re-encode it (PNG and TIFF losslessly)."""
    if entry.suffix.lower() == os.path.splitext(path)[1].lower():
        copy_entry(entry, path)
    else:
        write_image(path, decode_cv2(entry, cv2.IMREAD_UNCHANGED))
