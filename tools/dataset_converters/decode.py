"""Decoding raw files: images as the loaders read them, labels as class indices.

Images are decoded as cv2/mmcv (BGR) or Pillow read them, whichever the published converter
used; labels become single-channel class indices: grey labels as they are, colour-coded
ones through a colour table (``palettes``), SegEarth-OV's 0/255 masks thresholded to 0/1.
Label functions given to jobs are module-level functions or frozen dataclasses, so a
process pool can pickle them.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from foundation.errors import DataError
from foundation.images import header_size

from .palettes import RGB, registered_palette
from .raw_index import Entry

# Raw tiles are large by design (iSAID up to ~4000x13000): no decompression-bomb limit.
Image.MAX_IMAGE_PIXELS = None


def decode_cv2(entry: Entry, flag: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """As mmcv.imread / cv2.imread decode the file (BGR for colour)."""
    array = cv2.imdecode(np.frombuffer(entry.read(), dtype=np.uint8), flag)
    if array is None:
        raise DataError(f"{entry.path}: cannot decode the image; download it again")
    return array


def decode_pil(entry: Entry) -> Image.Image:
    try:
        with entry.open() as f:
            im = Image.open(io.BytesIO(f.read()))
            im.load()
        return im
    except (OSError, ValueError, SyntaxError) as err:
        raise DataError(f"{entry.path}: cannot decode the image ({err})") from err


def entry_size(entry: Entry) -> tuple[int, int]:
    """(height, width) from the header when Pillow can parse it (``header_size``: as the
    loaders see it), else by decoding."""
    with entry.open() as f:
        size = header_size(f)
    if size is None:
        array = decode_cv2(entry, cv2.IMREAD_UNCHANGED)
        return array.shape[0], array.shape[1]
    return size[1], size[0]


def index_label(entry: Entry, table: dict[RGB, int] | None = None) -> np.ndarray:
    """A label as mmseg reads it (Pillow, a palette's indices kept): class indices. A
    3-channel label whose channels are equal is a grey label; a colour-coded one (which mmseg
    cannot read as classes) is mapped through ``table`` (other colours 255), or is an error
    where no table is given."""
    array = np.array(decode_pil(entry))
    if is_colour_coded(array):
        if table is None:
            raise DataError(f"{entry.path}: colour label where class indices were expected")
        return colours_to_index(array[..., :3], table, 255)
    if array.ndim == 3:
        array = array[..., 0]
    return _as_uint8(entry, array)


def _as_uint8(entry: Entry, array: np.ndarray) -> np.ndarray:
    if array.dtype != np.uint8:
        if array.size and (array.min() < 0 or array.max() > 255):
            raise DataError(f"{entry.path}: label values outside 0..255")
        array = array.astype(np.uint8)
    return array


def is_colour_coded(array: np.ndarray) -> bool:
    """An RGB(A) array whose channels differ somewhere."""
    return (
        array.ndim == 3
        and array.shape[2] >= 3
        and not (
            np.array_equal(array[..., 0], array[..., 1])
            and np.array_equal(array[..., 1], array[..., 2])
        )
    )


def colours_to_index(rgb: np.ndarray, table: dict[RGB, int], default: int) -> np.ndarray:
    """Exact colour match (mmseg's iSAID rule): each RGB colour of ``table`` becomes its
    index, any other colour ``default``."""
    packed = rgb[..., 0].astype(np.uint32) << 16 | rgb[..., 1].astype(np.uint32) << 8 | rgb[..., 2]
    out = np.full(rgb.shape[:2], default, dtype=np.uint8)
    for (r, g, b), idx in table.items():
        out[packed == ((r << 16) | (g << 8) | b)] = idx
    return out


@functools.cache
def _isprs_lut() -> np.ndarray:
    lut = np.zeros(2 * 255 + 3 * 255 + 4 * 255 + 1, dtype=np.uint8)
    for idx, (r, g, b) in enumerate(registered_palette("PotsdamDataset"), start=1):
        lut[2 * b + 3 * g + 4 * r] = idx
    return lut


def isprs_colours_to_index(bgr: np.ndarray) -> np.ndarray:
    """mmseg's Potsdam/Vaihingen rule, bit for bit: a BGR pixel is keyed by 2B + 3G + 4R and
    matched to the keys of the registered ISPRS palette (PotsdamDataset's, which
    ISPRSDataset shares): its colour k is label k + 1 (white 1 impervious surface, blue 2
    building, cyan 3 low vegetation, green 4 tree, yellow 5 car, red 6 clutter); anything
    else is 0 (ignored by reduce_zero_label). For 0/255 colours the key is exact (no two
    colours share one)."""
    key = (
        2 * bgr[..., 0].astype(np.uint16)
        + 3 * bgr[..., 1].astype(np.uint16)
        + 4 * bgr[..., 2].astype(np.uint16)
    )
    return _isprs_lut()[key]


def binarise(gray: np.ndarray, threshold: int) -> np.ndarray:
    """0/255 mask -> 0/1 (value >= threshold is 1, SegEarth-OV's rule); a mask that already
    holds only 0 and 1 is kept as it is (the rule would turn it all 0)."""
    values = np.unique(gray)
    if values.size and values.max() <= 1:
        return gray.astype(np.uint8)
    return (gray >= threshold).astype(np.uint8)


# ----------------------------------------------------------------------------------------
# Label functions (picklable)


def grey_threshold(threshold: int) -> Callable[[Entry], np.ndarray]:
    """A label function: cv2 greyscale decoding (as SegEarth-OV) then ``binarise``."""
    return _GreyThreshold(threshold)


@dataclass(frozen=True)
class _GreyThreshold:
    threshold: int

    def __call__(self, entry: Entry) -> np.ndarray:
        return binarise(decode_cv2(entry, cv2.IMREAD_GRAYSCALE), self.threshold)


@dataclass(frozen=True)
class ColourLabel:
    """A label function: the file decoded as cv2 does, its exact RGB colours mapped by
    ``table``, any other colour ``default`` (mmseg's iSAID and SegEarth-OV's UAVid rule)."""

    table: dict[RGB, int]
    default: int = 0

    def __call__(self, entry: Entry) -> np.ndarray:
        rgb = cv2.cvtColor(decode_cv2(entry, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        return colours_to_index(rgb, self.table, self.default)


@dataclass(frozen=True)
class IndexLabel:
    """A label function: ``index_label`` with a colour table for colour-coded releases."""

    table: dict[RGB, int]

    def __call__(self, entry: Entry) -> np.ndarray:
        return index_label(entry, self.table)
