"""Tiling: the published crop positions and the jobs that cut an image and its label.

``grid_boxes`` is mmseg's rule for Potsdam, Vaihingen and (SegEarth-OV) Inria;
``slide_boxes`` is mmseg's rule for iSAID and (SegEarth-OV) UAVid. Both reproduce the
published positions, edge handling and file names exactly, the published tools' quirks on
images smaller than a tile included (see their docstrings).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from foundation.errors import ConfigError, DataError

from .decode import decode_cv2, decode_pil, entry_size
from .pool import Job, all_exist
from .raw_index import Entry
from .writing import Out, write_image, write_label


def _grid_count(size: int, clip: int, stride: int) -> int:
    """mmseg's row/column count for Potsdam-style clipping."""
    k = -(-(size - clip) // stride)  # ceil
    return k if k * stride + clip >= size else k + 1


def grid_boxes(height: int, width: int, clip: int, stride: int) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) of mmseg's Potsdam/Vaihingen (and SegEarth-OV's Inria) clipping.

    The row/column count comes from the stride, but the boxes start at multiples of the
    clip size, and a box past the edge is shifted back to end on it: with clip 512 and
    stride 256 the crops do not overlap except the last row/column, which ends at the
    border. Repeated boxes (the published code writes them twice, to one name) appear once.
    A side smaller than ``clip`` gets, as published, no box if it is at most ``clip -
    stride`` (the count is then -1), else one box starting at ``size - clip``: a negative
    start, which numpy slicing reads from the end (the crop is the last ``max(2 * size -
    clip, 0)``..``size`` pixels) and which the file name carries. (An obvious bug, kept: the
    names and pixels are what the published tools write.)
    """
    boxes: list[tuple[int, int, int, int]] = []
    for row in range(_grid_count(height, clip, stride) + 1):
        for col in range(_grid_count(width, clip, stride) + 1):
            x, y = col * clip, row * clip
            box = (
                min(x, width - clip),
                min(y, height - clip),
                min(x + clip, width),
                min(y + clip, height),
            )
            if box not in boxes:
                boxes.append(box)
    return boxes


def slide_boxes(
    height: int, width: int, patch_h: int, patch_w: int, overlap: int
) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """mmseg's iSAID (and SegEarth-OV's UAVid) patches: (padded height, padded width,
    [(y0, y1, x0, x1)]).

    A side shorter than the patch is padded at the bottom/right to it (images with 0, labels
    with 255) unless the other side equals the patch (the published conditions compare with
    strict ``<``/``>``). Windows start every ``patch - overlap`` pixels from 0 while the start
    is inside; one past the edge is shifted back to end on it. So an unpadded 500x896 image
    (patch 896) gets the one window (-396, 500, 0, 896): numpy reads the negative start from
    the end, and the name carries it (an obvious bug, kept: the names and pixels are what the
    published tools write). Repeated windows appear once.
    """
    if overlap >= min(patch_h, patch_w):
        raise ConfigError(f"--overlap-area {overlap} must be smaller than the patch size")
    if not (height == patch_h or width == patch_w):
        height, width = max(height, patch_h), max(width, patch_w)
    boxes: list[tuple[int, int, int, int]] = []
    for x in range(0, width, patch_w - overlap):
        for y in range(0, height, patch_h - overlap):
            x0, y0 = min(x, width - patch_w), min(y, height - patch_h)
            box = (y0, y0 + patch_h, x0, x0 + patch_w)
            if box not in boxes:
                boxes.append(box)
    return height, width, boxes


def pad_to(array: np.ndarray, height: int, width: int, value: int) -> np.ndarray:
    """Pad at the bottom and right (mmcv.impad's default placement)."""
    pad_h, pad_w = height - array.shape[0], width - array.shape[1]
    if pad_h == 0 and pad_w == 0:
        return array
    spec = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, spec, constant_values=value)


# ----------------------------------------------------------------------------------------
# Jobs


def grid_jobs(pairs: list, out: Out, options: dict, label_fn: Callable) -> list[Job]:
    """One ``grid_crop_pair`` job per (key, image, label), sized by ``--clip-size`` and
    ``--stride-size``."""
    clip, stride = options["clip_size"], options["stride_size"]
    return [
        Job(grid_crop_pair, (image, label, out, key, clip, stride, label_fn))
        for key, image, label in pairs
    ]


def slide_jobs(pairs: list, out: Out, options: dict, label_fn: Callable) -> list[Job]:
    """One ``slide_crop_pair`` job per (key, image, label), sized by ``--patch-width`` (the
    width), ``--patch-height`` and ``--overlap-area``."""
    height, width = options["patch_height"], options["patch_width"]
    overlap = options["overlap_area"]
    return [
        Job(slide_crop_pair, (image, label, out, key, height, width, overlap, label_fn))
        for key, image, label in pairs
    ]


def _damaged(image: Entry, label: Entry, img: np.ndarray, lab: np.ndarray) -> DataError:
    return DataError(
        f"{image.path} is {img.shape[1]}x{img.shape[0]} but its label {label.path} is "
        f"{lab.shape[1]}x{lab.shape[0]}; the download is damaged"
    )


def grid_crop_pair(
    image: Entry,
    label: Entry,
    out: Out,
    prefix: str,
    clip: int,
    stride: int,
    label_fn: Callable[[Entry], np.ndarray],
    *,
    overwrite: bool,
) -> tuple[list[str], bool]:
    """One big tile and its label cut by ``grid_boxes`` into ``<prefix>_<x0>_<y0>_<x1>_<y1>``
    crops (mmseg's Potsdam/Vaihingen names); the image is decoded as cv2 does (BGR, 8-bit
    3-channel) and written back as PNG, so pixel values are unchanged."""
    height, width = entry_size(image)
    boxes = grid_boxes(height, width, clip, stride)
    stems = [f"{prefix}_{x0}_{y0}_{x1}_{y1}" for x0, y0, x1, y1 in boxes]
    outputs = [p for stem in stems for p in out.pair(stem)]
    if not overwrite and all_exist(outputs):
        return outputs, False
    img = decode_cv2(image, cv2.IMREAD_COLOR)
    lab = label_fn(label)
    if img.shape[:2] != lab.shape[:2] or img.shape[:2] != (height, width):
        raise _damaged(image, label, img, lab)
    for (x0, y0, x1, y1), stem in zip(boxes, stems, strict=True):
        write_image(out.img(stem), np.ascontiguousarray(img[y0:y1, x0:x1]))
        write_label(out.seg(stem), np.ascontiguousarray(lab[y0:y1, x0:x1]))
    return outputs, True


def slide_crop_pair(
    image: Entry,
    label: Entry,
    out: Out,
    prefix: str,
    patch_h: int,
    patch_w: int,
    overlap: int,
    label_fn: Callable[[Entry], np.ndarray],
    *,
    overwrite: bool,
) -> tuple[list[str], bool]:
    """One image and its label cut by ``slide_boxes`` into ``<prefix>_<y0>_<y1>_<x0>_<x1>``
    patches (mmseg's iSAID names); the image is read as Pillow's RGB (as published), padded
    with 0, the label padded with 255."""
    height, width = entry_size(image)
    padded_h, padded_w, boxes = slide_boxes(height, width, patch_h, patch_w, overlap)
    stems = [f"{prefix}_{y0}_{y1}_{x0}_{x1}" for y0, y1, x0, x1 in boxes]
    outputs = [p for stem in stems for p in out.pair(stem)]
    if not overwrite and all_exist(outputs):
        return outputs, False
    rgb = np.asarray(decode_pil(image).convert("RGB"))
    lab = label_fn(label)
    if rgb.shape[:2] != lab.shape[:2] or rgb.shape[:2] != (height, width):
        raise _damaged(image, label, rgb, lab)
    bgr = pad_to(np.ascontiguousarray(rgb[..., ::-1]), padded_h, padded_w, 0)
    lab = pad_to(lab, padded_h, padded_w, 255)
    for (y0, y1, x0, x1), stem in zip(boxes, stems, strict=True):
        write_image(out.img(stem), np.ascontiguousarray(bgr[y0:y1, x0:x1]))
        write_label(out.seg(stem), np.ascontiguousarray(lab[y0:y1, x0:x1]))
    return outputs, True
