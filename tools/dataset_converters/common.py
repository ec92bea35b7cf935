"""What every converter shares: reading the downloads, tiling, colour tables, writing, running.

- **Raw files.** RAW arguments may be zips, folders, or folders holding zips (nested zips
  are unpacked to a temporary folder). Each file becomes an ``Entry`` with a virtual path
  ``<RAW name>/<path inside>`` (a zip's members continue its path), so a converter selects
  files by folder and file names, wherever the user unpacked them. Members are read
  straight from the zips: nothing is extracted twice.
- **Tiling.** ``grid_boxes`` is mmseg's rule for Potsdam, Vaihingen and (SegEarth-OV) Inria;
  ``slide_boxes`` is mmseg's rule for iSAID and (SegEarth-OV) UAVid. Both reproduce the
  published positions, edge handling and file names exactly, the published tools' quirks on
  images smaller than a tile included (see their docstrings).
- **Writing.** Every output is written by ``foundation.files.write_atomic`` (a hidden ``.part``
  file, then a rename), so an interrupted run never leaves a half-written file that a rerun
  would take as finished; labels are single-channel 8-bit files (Pillow reads them as 'L',
  never 'P').
- **Running.** A converter plans ``Job``s (one per source image or tile); they run in a
  process pool with a progress bar; a job whose outputs all exist is skipped unless
  ``overwrite``.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing import Pool

import cv2
import numpy as np
from PIL import Image

from foundation.errors import ConfigError, DataError
from foundation.files import write_atomic
from ovss.data_check import DatasetLayout, header_size

# Raw tiles are large by design (iSAID up to ~4000x13000): no decompression-bomb limit.
Image.MAX_IMAGE_PIXELS = None

# ----------------------------------------------------------------------------------------
# Raw files


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


def index_raw(paths: Sequence[str], tmp_dir: str) -> list[Entry]:
    """Every file under the RAW arguments (zips opened, nested zips unpacked to tmp_dir)."""
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
            raise DataError(f"RAW {raw} does not exist; pass the downloaded zip(s) or their folder")
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


# ----------------------------------------------------------------------------------------
# Decoding


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


def index_label(entry: Entry, table: dict[tuple[int, int, int], int] | None = None) -> np.ndarray:
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


# ----------------------------------------------------------------------------------------
# Colour tables


def colours_to_index(
    rgb: np.ndarray, table: dict[tuple[int, int, int], int], default: int
) -> np.ndarray:
    """Exact colour match (mmseg's iSAID rule): each RGB colour of ``table`` becomes its
    index, any other colour ``default``."""
    packed = rgb[..., 0].astype(np.uint32) << 16 | rgb[..., 1].astype(np.uint32) << 8 | rgb[..., 2]
    out = np.full(rgb.shape[:2], default, dtype=np.uint8)
    for (r, g, b), idx in table.items():
        out[packed == ((r << 16) | (g << 8) | b)] = idx
    return out


def isprs_colours_to_index(bgr: np.ndarray) -> np.ndarray:
    """mmseg's Potsdam/Vaihingen rule, bit for bit: a BGR pixel is keyed by 2B + 3G + 4R and
    matched to the keys of (RGB) white 1 impervious surface, blue 2 building, cyan 3 low
    vegetation, green 4 tree, yellow 5 car, red 6 clutter; anything else is 0 (ignored by
    reduce_zero_label). For 0/255 colours the key is exact (no two colours share one)."""
    key = (
        2 * bgr[..., 0].astype(np.uint16)
        + 3 * bgr[..., 1].astype(np.uint16)
        + 4 * bgr[..., 2].astype(np.uint16)
    )
    lut = np.zeros(2 * 255 + 3 * 255 + 4 * 255 + 1, dtype=np.uint8)
    for idx, (r, g, b) in enumerate(ISPRS_RGB, start=1):
        lut[2 * b + 3 * g + 4 * r] = idx
    return lut[key]


ISPRS_RGB = (  # label 1..6 (0: no colour); RGB as in the ISPRS legend
    (255, 255, 255),  # impervious surfaces
    (0, 0, 255),  # building
    (0, 255, 255),  # low vegetation
    (0, 255, 0),  # tree
    (255, 255, 0),  # car
    (255, 0, 0),  # clutter / background
)


def binarise(gray: np.ndarray, threshold: int) -> np.ndarray:
    """0/255 mask -> 0/1 (value >= threshold is 1, SegEarth-OV's rule); a mask that already
    holds only 0 and 1 is kept as it is (the rule would turn it all 0)."""
    values = np.unique(gray)
    if values.size and values.max() <= 1:
        return gray.astype(np.uint8)
    return (gray >= threshold).astype(np.uint8)


# ----------------------------------------------------------------------------------------
# Tiling


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
# Writing


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


# ----------------------------------------------------------------------------------------
# Jobs


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

    def img(self, stem: str) -> str:
        return os.path.join(self.img_dir, stem + self.img_suffix)

    def seg(self, stem: str) -> str:
        return os.path.join(self.seg_dir, stem + self.seg_suffix)

    def pair(self, stem: str) -> tuple[str, str]:
        return self.img(stem), self.seg(stem)


@dataclass(frozen=True)
class Job:
    """One unit of work: ``fn(*args, overwrite=...)`` returns the paths it is responsible
    for and whether it wrote them. ``outputs``, when known before running, lets the runner
    skip a finished job without starting it."""

    fn: Callable[..., tuple[list[str], bool]]
    args: tuple
    outputs: tuple[str, ...] = ()


@dataclass
class RunResult:
    written: int = 0  # jobs that wrote files
    skipped: int = 0  # jobs whose outputs all existed
    outputs: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


def all_exist(paths: Iterable[str]) -> bool:
    return all(os.path.isfile(p) for p in paths)


def _run_one(task: tuple[Job, bool]) -> tuple[list[str], bool, str | None]:
    job, overwrite = task
    try:
        outputs, wrote = job.fn(*job.args, overwrite=overwrite)
        return outputs, wrote, None
    except DataError as err:
        return [], False, str(err)


def run_jobs(
    jobs: Sequence[Job], nproc: int, overwrite: bool, desc: str, bar: bool = True
) -> RunResult:
    """Run the jobs (a process pool when nproc > 1) with a tqdm progress bar."""
    from tqdm import tqdm

    result = RunResult()
    todo = []
    for job in jobs:
        if job.outputs and not overwrite and all_exist(job.outputs):
            result.skipped += 1
            result.outputs.update(job.outputs)
        else:
            todo.append((job, overwrite))
    with tqdm(
        total=len(jobs), initial=result.skipped, desc=desc, unit="file", disable=not bar
    ) as progress:
        if nproc > 1 and len(todo) > 1:
            with Pool(min(nproc, len(todo))) as pool:
                done = pool.imap_unordered(_run_one, todo)
                _collect(done, result, progress)
        else:
            _collect(map(_run_one, todo), result, progress)
    return result


def _collect(done, result: RunResult, progress) -> None:
    for outputs, wrote, error in done:
        if error:
            result.errors.append(error)
        elif wrote:
            result.written += 1
        else:
            result.skipped += 1
        result.outputs.update(outputs)
        progress.update(1)


# ----------------------------------------------------------------------------------------
# Job functions shared by several converters


def copy_pair(
    image: Entry, label: Entry, img_path: str, seg_path: str, label_fn: Callable, *, overwrite: bool
) -> tuple[list[str], bool]:
    """One image copied (or re-encoded) and its label converted by ``label_fn(entry)``."""
    outputs = [img_path, seg_path]
    if not overwrite and all_exist(outputs):
        return outputs, False
    array = label_fn(label)
    height, width = entry_size(image)
    if array.shape[:2] != (height, width):
        raise DataError(
            f"{image.path} is {width}x{height} but its label {label.path} is "
            f"{array.shape[1]}x{array.shape[0]}; the download is damaged"
        )
    put_image(image, img_path)
    write_label(seg_path, array)
    return outputs, True


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


def grey_threshold(threshold: int) -> Callable[[Entry], np.ndarray]:
    """A label function: cv2 greyscale decoding (as SegEarth-OV) then ``binarise``."""
    return _GreyThreshold(threshold)


@dataclass(frozen=True)
class _GreyThreshold:
    threshold: int

    def __call__(self, entry: Entry) -> np.ndarray:
        return binarise(decode_cv2(entry, cv2.IMREAD_GRAYSCALE), self.threshold)


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
        raise DataError(
            f"{image.path} is {img.shape[1]}x{img.shape[0]} but its label {label.path} is "
            f"{lab.shape[1]}x{lab.shape[0]}; the download is damaged"
        )
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
        raise DataError(
            f"{image.path} is {rgb.shape[1]}x{rgb.shape[0]} but its label {label.path} is "
            f"{lab.shape[1]}x{lab.shape[0]}; the download is damaged"
        )
    bgr = pad_to(np.ascontiguousarray(rgb[..., ::-1]), padded_h, padded_w, 0)
    lab = pad_to(lab, padded_h, padded_w, 255)
    for (y0, y1, x0, x1), stem in zip(boxes, stems, strict=True):
        write_image(out.img(stem), np.ascontiguousarray(bgr[y0:y1, x0:x1]))
        write_label(out.seg(stem), np.ascontiguousarray(lab[y0:y1, x0:x1]))
    return outputs, True


@dataclass(frozen=True)
class Converter:
    """A dataset's converter as the entry point sees it.

    ``plan(entries, out, options)`` returns the jobs; ``expected`` is the protocol's image
    count with the default ``options`` (None where the protocol fixes none).
    """

    name: str
    dataset: str
    title: str
    raw: str
    plan: Callable[[list[Entry], Out, dict], list[Job]]
    expected: int | None = None
    options: dict[str, int] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


def folder_plan(
    entries: list[Entry],
    out: Out,
    title: str,
    image_key: Callable[[Entry], str | None],
    label_key: Callable[[Entry], str | None],
    label_fn: Callable[[Entry], np.ndarray],
    keep: Callable[[str], bool] = lambda key: True,
) -> list[Job]:
    """One ``copy_pair`` job per image whose key ``keep`` accepts (the binary benchmarks)."""
    images = {k: e for k, e in by_key(entries, image_key).items() if keep(k)}
    labels = by_key(entries, label_key)
    pairs = pair_up(title, images, labels, "images")
    return [
        Job(copy_pair, (image, label, *out.pair(key), label_fn), out.pair(key))
        for key, image, label in pairs
    ]


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def in_folder(folder: str, suffixes: Sequence[str] = IMAGE_SUFFIXES, strip: str = "") -> Callable:
    """A key function: the file's stem (``strip`` removed from its end when there) if it lies
    in a folder named ``folder`` (case-insensitive) and has one of ``suffixes``."""

    def key(entry: Entry) -> str | None:
        if entry.parent.lower() != folder.lower() or entry.suffix.lower() not in suffixes:
            return None
        return (strip_suffix(entry.stem, strip) if strip else None) or entry.stem

    return key
