"""Synthetic official downloads (file and folder names, zips, colour-coded labels) and
independent references of what the published converters make of them.

Each ``make_<dataset>(dir, rng)`` writes a small download in its release format and returns
a ``Raw``: the RAW arguments to pass, the size options, and ``expected``: output image stem
-> (image array as a loader reads it, label array as the published converter writes it).
The references are written from the published converters' facts (colour tables, split
lists, tiling loops transliterated), not imported from ``tools/dataset_converters``.
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

# ----------------------------------------------------------------------------------------
# Published facts, restated.

ISPRS = {  # RGB -> label (Potsdam, Vaihingen); other colours 0
    (255, 255, 255): 1,
    (0, 0, 255): 2,
    (0, 255, 255): 3,
    (0, 255, 0): 4,
    (255, 255, 0): 5,
    (255, 0, 0): 6,
}
ISAID = {
    (0, 0, 0): 0, (0, 0, 63): 1, (0, 63, 63): 2, (0, 63, 0): 3, (0, 63, 127): 4,
    (0, 63, 191): 5, (0, 63, 255): 6, (0, 127, 63): 7, (0, 127, 127): 8, (0, 0, 127): 9,
    (0, 0, 191): 10, (0, 0, 255): 11, (0, 191, 127): 12, (0, 127, 191): 13,
    (0, 127, 255): 14, (0, 100, 155): 15,
}  # fmt: skip
UAVID = {
    (0, 0, 0): 0, (128, 0, 0): 1, (128, 64, 128): 2, (192, 0, 192): 3, (0, 128, 0): 4,
    (128, 128, 0): 5, (64, 64, 0): 6, (64, 0, 128): 3,
}  # fmt: skip
UDD5 = {(107, 142, 35): 0, (102, 102, 156): 1, (128, 64, 128): 2, (0, 0, 142): 3, (0, 0, 0): 4}
VDD = {
    (0, 0, 0): 0, (102, 102, 156): 1, (128, 64, 128): 2, (107, 142, 35): 3, (0, 0, 142): 4,
    (70, 70, 70): 5, (28, 42, 168): 6,
}  # fmt: skip
OFF_PALETTE = (10, 200, 90)  # a colour of no class table


def ref_colour(rgb: np.ndarray, table: dict, default: int) -> np.ndarray:
    out = np.full(rgb.shape[:2], default, np.uint8)
    for y in range(rgb.shape[0]):
        for x in range(rgb.shape[1]):
            out[y, x] = table.get(tuple(int(v) for v in rgb[y, x]), default)
    return out


def ref_grid(h: int, w: int, clip: int, stride: int) -> list[tuple[int, int, int, int]]:
    """mmseg's clip_big_image boxes (x0, y0, x1, y1), transliterated."""

    def count(size):
        k = math.ceil((size - clip) / stride)
        return k if k * stride + clip >= size else k + 1

    x, y = np.meshgrid(np.arange(count(w) + 1), np.arange(count(h) + 1))
    xmin, ymin = x.ravel() * clip, y.ravel() * clip
    xoff = np.where(xmin + clip > w, w - xmin - clip, 0)
    yoff = np.where(ymin + clip > h, h - ymin - clip, 0)
    boxes = np.stack(
        [xmin + xoff, ymin + yoff, np.minimum(xmin + clip, w), np.minimum(ymin + clip, h)], 1
    )
    return sorted({tuple(int(v) for v in b) for b in boxes})


# ----------------------------------------------------------------------------------------
# Writing


def rgb_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    small = rng.integers(0, 256, (max(h // 8, 2), max(w // 8, 2), 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.int16)
    img += rng.integers(-20, 20, img.shape, dtype=np.int16)
    return np.clip(img, 0, 255).astype(np.uint8)


def blocks(rng: np.random.Generator, h: int, w: int, n: int, block: int = 8) -> np.ndarray:
    """Blocky values 0..n-1 (each value present)."""
    small = rng.integers(0, n, (-(-h // block), -(-w // block)))
    small.flat[:n] = np.arange(n)
    return np.kron(small, np.ones((block, block), int))[:h, :w].astype(np.uint8)


def colour_label(rng, h: int, w: int, table: dict, off_palette: bool = True) -> np.ndarray:
    colours = list(dict.fromkeys(table))
    if off_palette:
        colours.append(OFF_PALETTE)
    idx = blocks(rng, h, w, len(colours))
    return np.array(colours, np.uint8)[idx]


def encode(array: np.ndarray, ext: str) -> bytes:
    """RGB (3-channel) or single-channel array -> file bytes (cv2, RGB stored as RGB)."""
    if array.ndim == 3:
        array = array[..., ::-1]
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if ext in (".jpg", ".JPG") else []
    ok, buf = cv2.imencode(ext.lower(), np.ascontiguousarray(array), params)
    assert ok
    return buf.tobytes()


def write_files(root: str, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def write_zip(path: str, files: dict[str, bytes]) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, data in files.items():
            z.writestr(rel, data)
    return path


def read_color(data: bytes) -> np.ndarray:
    """cv2's colour decoding, as RGB."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


def read_gray(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)


@dataclass
class Raw:
    raw: list[str]
    options: list[str] = field(default_factory=list)
    expected: dict[str, tuple[np.ndarray | bytes, np.ndarray]] = field(default_factory=dict)


def tiles(expected, prefix, img, lab, boxes_xy):
    for x0, y0, x1, y1 in boxes_xy:
        expected[f"{prefix}_{x0}_{y0}_{x1}_{y1}"] = (img[y0:y1, x0:x1], lab[y0:y1, x0:x1])


# ----------------------------------------------------------------------------------------
# The eight datasets of the FarSLIP table


def make_potsdam(d: str, rng) -> Raw:
    clip, stride = 64, 32
    imgs, labs, raw = {}, {}, Raw([], ["--clip-size", str(clip), "--stride-size", str(stride)])
    for tile, (h, w) in {"2_13": (130, 150), "7_13": (64, 100), "2_10": (70, 70)}.items():
        img, lab = rgb_image(rng, h, w), colour_label(rng, h, w, ISPRS)
        lab[0, :3] = (0, 0, 0)  # no-colour pixels
        imgs[f"2_Ortho_RGB/top_potsdam_{tile}_RGB.tif"] = encode(img, ".tif")
        labs[f"top_potsdam_{tile}_label_noBoundary.tif"] = encode(lab, ".tif")
        if tile != "2_10":  # 2_10 is a train tile
            tiles(raw.expected, tile, img, ref_colour(lab, ISPRS, 0), ref_grid(h, w, clip, stride))
    raw.raw = [
        write_zip(f"{d}/2_Ortho_RGB.zip", imgs),
        write_zip(f"{d}/5_Labels_all_noBoundary.zip", labs),
    ]
    return raw


def make_vaihingen(d: str, rng) -> Raw:
    clip, stride = 48, 24
    top, eroded, raw = {}, {}, Raw([], ["--clip-size", str(clip), "--stride-size", str(stride)])
    areas = [("area2", 100, 140, rng), ("area38", 48, 60, rng), ("area1", 50, 50, rng)]
    # Published quirks (own rng: other sets unchanged): tiles smaller than the clip get a
    # negative start (area4, area8) or, at most clip - stride, no crop at all (area6).
    own = np.random.default_rng(22)
    areas += [("area4", 30, 100, own), ("area6", 20, 60, own), ("area8", 60, 40, own)]
    for area, h, w, gen in areas:
        img, lab = rgb_image(gen, h, w), colour_label(gen, h, w, ISPRS)
        top[f"top/top_mosaic_09cm_{area}.tif"] = encode(img, ".tif")
        eroded[f"top_mosaic_09cm_{area}_noBoundary.tif"] = encode(lab, ".tif")
        if area != "area1":  # area1 is a train area
            tiles(raw.expected, area, img, ref_colour(lab, ISPRS, 0), ref_grid(h, w, clip, stride))
    # the (non-eroded) training ground truth shares the image names; area9 has only a label
    top["gts_for_participants/top_mosaic_09cm_area1.tif"] = encode(
        colour_label(rng, 50, 50, ISPRS), ".tif"
    )
    eroded["top_mosaic_09cm_area9_noBoundary.tif"] = encode(
        colour_label(rng, 40, 40, ISPRS), ".tif"
    )
    write_zip(f"{d}/vaihingen/ISPRS_semantic_labeling_Vaihingen.zip", top)
    write_zip(
        f"{d}/vaihingen/ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip", eroded
    )
    raw.raw = [f"{d}/vaihingen"]
    return raw


def ref_slide(h: int, w: int, ph: int, pw: int, overlap: int):
    """mmseg's iSAID (and SegEarth-OV's UAVid) padding rule (a smaller side is padded unless
    the other side equals the patch) and slide_crop windows (y0, y1, x0, x1), transliterated."""
    if (h < ph and w != pw) or (w < pw and h != ph):
        h, w = max(h, ph), max(w, pw)
    boxes = set()
    for x in range(0, w, pw - overlap):
        for y in range(0, h, ph - overlap):
            x_str, x_end = x, x + pw
            if x_end > w:
                x_str, x_end = x_str - (x_end - w), w
            y_str, y_end = y, y + ph
            if y_end > h:
                y_str, y_end = y_str - (y_end - h), h
            boxes.add((y_str, y_end, x_str, x_end))
    return h, w, sorted(boxes)


def make_isaid(d: str, rng) -> Raw:
    ph = pw = 64
    overlap = 16
    raw = Raw(
        [f"{d}/iSAID"],
        ["--patch-width", str(pw), "--patch-height", str(ph), "--overlap-area", str(overlap)],
    )
    images, masks = {}, {}
    sizes = [("P0001", 150, 100, rng), ("P0002", 40, 50, rng), ("P0003", 40, 150, rng)]
    sizes.append(("P0004", 64, 64, rng))
    # Published quirk (own rng: other sets unchanged): one side equal to the patch and the
    # other smaller is not padded (a negative start in the name).
    own = np.random.default_rng(23)
    sizes += [("P0005", 64, 40, own), ("P0006", 20, 64, own)]
    for name, h, w, gen in sizes:
        img, lab = rgb_image(gen, h, w), colour_label(gen, h, w, ISAID)
        images[f"images/{name}.png"] = encode(img, ".png")
        masks[f"images/{name}_instance_color_RGB.png"] = encode(lab, ".png")
        masks[f"images/{name}_instance_id_RGB.png"] = encode(lab, ".png")  # other masks: ignored
        H, W, boxes = ref_slide(h, w, ph, pw, overlap)
        img_p = np.zeros((H, W, 3), np.uint8)
        img_p[:h, :w] = img
        lab_p = np.full((H, W), 255, np.uint8)
        lab_p[:h, :w] = ref_colour(lab, ISAID, 0)
        for y0, y1, x0, x1 in boxes:
            raw.expected[f"{name}_{y0}_{y1}_{x0}_{x1}"] = (img_p[y0:y1, x0:x1], lab_p[y0:y1, x0:x1])
    write_zip(f"{d}/iSAID/val/images/part1.zip", images)
    write_zip(f"{d}/iSAID/val/Semantic_masks/images.zip", masks)
    train = {"images/P9000.png": encode(rgb_image(rng, 70, 70), ".png")}
    write_zip(f"{d}/iSAID/train/images/part1.zip", train)
    return raw


def ref_uavid(array: np.ndarray, ph: int, pw: int, pad: int) -> dict:
    """SegEarth-OV's UAVid slide_crop_* (overlap 0), transliterated: (y0, y1, x0, x1) ->
    patch. Padding only under its strict conditions, so a frame with one side equal to the
    patch and the other shorter is cut with a negative start (Python slicing)."""
    h, w = array.shape[:2]
    if (h < ph and w > pw) or (h > ph and w < pw) or (h < ph and w < pw):
        shape = (ph if h < ph else h, pw if w < pw else w)
        padded = np.full(shape + array.shape[2:], pad, array.dtype)
        padded[:h, :w] = array
        array, (h, w) = padded, shape
    out = {}
    for x in range(0, w, pw):
        for y in range(0, h, ph):
            x_str, x_end = (x - (x + pw - w), w) if x + pw > w else (x, x + pw)
            y_str, y_end = (y - (y + ph - h), h) if y + ph > h else (y, y + ph)
            out[(y_str, y_end, x_str, x_end)] = array[y_str:y_end, x_str:x_end]
    return out


def make_uavid(d: str, rng) -> Raw:
    pw, ph = 64, 48
    raw = Raw([f"{d}/UAVid"], ["--patch-width", str(pw), "--patch-height", str(ph)])
    files = {}
    for seq, frame, (h, w) in [("seq21", "000000", (100, 150)), ("seq22", "000100", (96, 128))]:
        img, lab = rgb_image(rng, h, w), colour_label(rng, h, w, UAVID)
        files[f"test_gt/{seq}/Images/{frame}.png"] = encode(img, ".png")
        files[f"test_gt/{seq}/Labels/{frame}.png"] = encode(lab, ".png")
        _, _, boxes = ref_slide(h, w, ph, pw, 0)
        ref = ref_colour(lab, UAVID, 0)
        for y0, y1, x0, x1 in boxes:
            raw.expected[f"{seq}_{frame}_{y0}_{y1}_{x0}_{x1}"] = (
                img[y0:y1, x0:x1],
                ref[y0:y1, x0:x1],
            )
    # Published quirks (own rng: other sets unchanged): a width equal to the patch with a
    # shorter height is not padded (negative start in the name); the name stops at a dot.
    own = np.random.default_rng(21)
    for seq, frame, (h, w) in [("seq23", "000200", (30, 64)), ("seq24", "000300.v2", (40, 90))]:
        img, lab = rgb_image(own, h, w), colour_label(own, h, w, UAVID)
        files[f"test_gt/{seq}/Images/{frame}.png"] = encode(img, ".png")
        files[f"test_gt/{seq}/Labels/{frame}.png"] = encode(lab, ".png")
        labs = ref_uavid(ref_colour(lab, UAVID, 0), ph, pw, 255)
        for (y0, y1, x0, x1), patch in ref_uavid(img, ph, pw, 0).items():
            stem = f"{seq}_{frame.split('.')[0]}_{y0}_{y1}_{x0}_{x1}"
            raw.expected[stem] = (patch, labs[(y0, y1, x0, x1)])
    files["uavid_val/seq16/Images/000000.png"] = encode(rgb_image(rng, 48, 64), ".png")
    write_files(f"{d}/UAVid", files)
    return raw


def make_uavid_val(d: str, rng) -> Raw:
    """The release's ``uavid_val`` only (not the protocol's split): converted with ``--split
    val`` into the folders next to the protocol's (``UAVid/img_dir/val``)."""
    pw, ph = 64, 48
    raw = Raw([f"{d}/uavid_release"], ["--patch-width", str(pw), "--patch-height", str(ph)])
    files = {}
    for seq, frame, (h, w) in [("seq16", "000000", (96, 128)), ("seq17", "000100", (100, 150))]:
        img, lab = rgb_image(rng, h, w), colour_label(rng, h, w, UAVID)
        files[f"uavid_val/{seq}/Images/{frame}.png"] = encode(img, ".png")
        files[f"uavid_val/{seq}/Labels/{frame}.png"] = encode(lab, ".png")
        labs = ref_uavid(ref_colour(lab, UAVID, 0), ph, pw, 255)
        for (y0, y1, x0, x1), patch in ref_uavid(img, ph, pw, 0).items():
            raw.expected[f"{seq}_{frame}_{y0}_{y1}_{x0}_{x1}"] = (patch, labs[(y0, y1, x0, x1)])
    files["uavid_test/seq30/Images/000000.png"] = encode(rgb_image(rng, 48, 64), ".png")
    write_files(f"{d}/uavid_release", files)
    return raw


def make_loveda(d: str, rng) -> Raw:
    raw = Raw([f"{d}/Val.zip"])
    files = {}
    for area, name in [("Urban", "3514"), ("Urban", "3515"), ("Rural", "2522")]:
        img, lab = rgb_image(rng, 64, 64), blocks(rng, 64, 64, 8)
        files[f"Val/{area}/images_png/{name}.png"] = encode(img, ".png")
        files[f"Val/{area}/masks_png/{name}.png"] = encode(lab, ".png")
        raw.expected[name] = (files[f"Val/{area}/images_png/{name}.png"], lab)
    write_zip(f"{d}/Val.zip", files)
    return raw


def make_openearthmap(d: str, rng) -> Raw:
    raw = Raw([f"{d}/OpenEarthMap.zip"])
    files, root = {}, "OpenEarthMap_wo_xBD"
    for region, n in [("aachen", 1), ("aachen", 2), ("kyoto", 5), ("kyoto", 6)]:
        name = f"{region}_{n}"
        img, lab = rgb_image(rng, 64, 64), blocks(rng, 64, 64, 9)
        files[f"{root}/{region}/images/{name}.tif"] = encode(img, ".tif")
        if n == 2:  # one label saved in palette mode: its indices are the classes
            buf = _pil_bytes(Image.fromarray(lab, mode="L").convert("P"), "TIFF")
            files[f"{root}/{region}/labels/{name}.tif"] = buf
        else:
            files[f"{root}/{region}/labels/{name}.tif"] = encode(lab, ".tif")
        if n != 6:  # kyoto_6 is a train image
            raw.expected[name] = (files[f"{root}/{region}/images/{name}.tif"], lab)
    files[f"{root}/val.txt"] = b"aachen_1.tif\naachen_2.tif\nkyoto_5.tif\nxbd_only_1.tif\n"
    files[f"{root}/train.txt"] = b"kyoto_6.tif\n"
    write_zip(f"{d}/OpenEarthMap.zip", files)
    return raw


def _pil_bytes(im: Image.Image, fmt: str) -> bytes:
    import io

    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def make_udd5(d: str, rng) -> Raw:
    raw = Raw([f"{d}/UDD"])  # the download: UDD/UDD5 beside UDD6
    files = {"train/src/DJI_0001.JPG": encode(rgb_image(rng, 40, 40), ".JPG")}
    files["train/gt/DJI_0001.png"] = encode(blocks(rng, 40, 40, 5), ".png")
    for name, colour in [("DJI_0100", False), ("DJI_0101", True)]:
        img, idx = rgb_image(rng, 60, 80), blocks(rng, 60, 80, 5)
        files[f"val/src/{name}.JPG"] = encode(img, ".JPG")
        if colour:  # a colour-coded label
            inv = {v: k for k, v in UDD5.items()}
            files[f"val/gt/{name}.png"] = encode(
                np.array([inv[i] for i in range(5)], np.uint8)[idx], ".png"
            )
        else:
            files[f"val/gt/{name}.png"] = encode(idx, ".png")
        raw.expected[name] = (files[f"val/src/{name}.JPG"], idx)
    # Own rng (other sets unchanged). A palette-mode label drawn with the UDD repo's
    # label2colormap.py colours (UDD6 order): mmseg reads its indices, so they are kept.
    own = np.random.default_rng(5)
    img, idx = rgb_image(own, 60, 80), blocks(own, 60, 80, 5)
    files["val/src/DJI_0102.JPG"] = encode(img, ".JPG")
    udd6 = [(0, 0, 0), (102, 102, 156), (128, 64, 128), (107, 142, 35), (0, 0, 142), (70, 70, 70)]
    im = Image.fromarray(idx, mode="L").convert("P")
    im.putpalette([c for colour in udd6 for c in colour])
    files["val/gt/DJI_0102.png"] = _pil_bytes(im, "PNG")
    raw.expected["DJI_0102"] = (files["val/src/DJI_0102.JPG"], idx)
    files["val/src/DJI_0103.png"] = encode(img, ".png")  # not a .JPG: the config skips it
    write_files(f"{d}/UDD/UDD5", files)
    udd6_val = {"val/src/DJI_0100.JPG": encode(img, ".JPG"), "val/gt/DJI_0100.png": b""}
    write_files(f"{d}/UDD/UDD6", udd6_val)  # another set of the download: ignored
    return raw


def make_vdd(d: str, rng) -> Raw:
    raw = Raw([f"{d}/VDD.zip"])
    files = {}
    for split in ("train", "val", "test"):
        for i in range(2):
            name = f"{split}_{i:03d}"
            img, lab = rgb_image(rng, 56, 72), colour_label(rng, 56, 72, VDD)
            files[f"VDD/{split}/src/{name}.JPG"] = encode(img, ".JPG")
            files[f"VDD/{split}/gt/{name}.png"] = encode(lab, ".png")
            if split == "test":
                raw.expected[name] = (
                    files[f"VDD/{split}/src/{name}.JPG"],
                    ref_colour(lab, VDD, 255),
                )
    write_zip(f"{d}/VDD.zip", files)
    return raw


# ----------------------------------------------------------------------------------------
# SegEarth-OV's nine single-class benchmarks


def mask(rng, h: int, w: int) -> np.ndarray:
    """A 0/255 mask with a few in-between values (anti-aliased edges)."""
    m = (blocks(rng, h, w, 2) * 255).astype(np.uint8)
    m[0, :4] = (100, 127, 128, 200)
    return m


def binary(gray: np.ndarray, threshold: int = 128) -> np.ndarray:
    return (gray >= threshold).astype(np.uint8)


def make_whu_aerial(d: str, rng) -> Raw:
    raw, files = Raw([f"{d}/WHU"]), {}
    for split, names in [("train", ["100"]), ("val", ["200", "201"]), ("test", ["300"])]:
        for name in names:
            img, m = rgb_image(rng, 48, 48), mask(rng, 48, 48)
            files[f"aerial/{split}/image/{name}.tif"] = encode(img, ".tif")
            files[f"aerial/{split}/label/{name}.tif"] = encode(m, ".tif")
            if split == "val":
                raw.expected[name] = (img, binary(m))
    write_files(f"{d}/WHU", files)
    return raw


def make_whu_sat_ii(d: str, rng) -> Raw:
    raw, files = Raw([f"{d}/sat2.zip"]), {}
    base = "Satellite_dataset_II_East_Asia/1.cropped"
    for split, names in [("train", ["0"]), ("test", ["5", "6"])]:
        for name in names:
            img, m = rgb_image(rng, 40, 56), mask(rng, 40, 56)
            files[f"{base}/{split}/image/{name}.tif"] = encode(img, ".tif")
            files[f"{base}/{split}/label/{name}.tif"] = encode(m, ".tif")
            if split == "test":
                raw.expected[name] = (files[f"{base}/{split}/image/{name}.tif"], binary(m))
    # A decoy under the uncropped scenes: never converted (no rng draw: other sets unchanged).
    decoy = "Satellite_dataset_II_East_Asia/0.original/test"
    files[f"{decoy}/image/5.tif"] = encode(np.zeros((40, 56, 3), np.uint8), ".tif")
    files[f"{decoy}/label/5.tif"] = encode(np.zeros((40, 56), np.uint8), ".tif")
    write_zip(f"{d}/sat2.zip", files)
    return raw


def make_inria(d: str, rng) -> Raw:
    clip = 50
    raw = Raw([f"{d}/AerialImageDataset"], ["--clip-size", str(clip), "--stride-size", str(clip)])
    files = {}
    for name, (h, w) in {"austin1": (120, 100), "tyrol-w36": (50, 75), "austin2": (50, 50)}.items():
        img, m = rgb_image(rng, h, w), mask(rng, h, w)
        files[f"train/images/{name}.tif"] = encode(img, ".tif")
        files[f"train/gt/{name}.tif"] = encode(m, ".tif")
        if name != "austin2":  # not in FCtL's split_test
            tiles(raw.expected, name, img, binary(m), ref_grid(h, w, clip, clip))
    files["test/images/bellingham1.tif"] = encode(rgb_image(rng, 50, 50), ".tif")
    write_files(f"{d}/AerialImageDataset", files)
    return raw


def make_xbd(d: str, rng) -> Raw:
    raw, files = Raw([f"{d}/xBD"]), {}
    for split, event in [
        ("train", "hurricane-harvey_00000001"),
        ("test", "guatemala-volcano_00000003"),
        ("test", "palu-tsunami_00000010"),
    ]:
        for when in ("pre", "post"):
            img = rgb_image(rng, 48, 48)
            target = blocks(rng, 48, 48, 2 if when == "pre" else 5)
            files[f"{split}/images/{event}_{when}_disaster.png"] = encode(img, ".png")
            files[f"{split}/targets/{event}_{when}_disaster_target.png"] = encode(target, ".png")
            if split == "test" and when == "pre":
                raw.expected[f"{event}_pre_disaster"] = (
                    files[f"{split}/images/{event}_pre_disaster.png"],
                    binary(target, 1),
                )
    write_files(f"{d}/xBD", files)
    return raw


def make_chn6_cug(d: str, rng) -> Raw:
    raw, files = Raw([f"{d}/CHN6-CUG"]), {}
    for split, names in [("train", ["am100001"]), ("val", ["bj100005", "sh100010"])]:
        for name in names:
            img, m = rgb_image(rng, 48, 48), mask(rng, 48, 48)
            files[f"{split}/images/{name}_sat.jpg"] = encode(img, ".jpg")
            files[f"{split}/gt/{name}_mask.png"] = encode(m, ".png")
            if split == "val":
                raw.expected[name] = (files[f"{split}/images/{name}_sat.jpg"], binary(m))
    write_files(f"{d}/CHN6-CUG", files)
    return raw


def make_road_sets(d: str, rng) -> dict[str, Raw]:
    """One GlobalRoadSet_Val.zip for the three road sets."""
    files, raws = {}, {}
    for key, folder, names, img_sfx, gt_sfx in [
        ("deepglobe", "DeepGlobe_test_1530", ["104", "119"], "_sat", "_mask"),
        ("massachusetts", "Massachusetts_test_49", ["10378780_15", "10828720_15"], "", ""),
        ("spacenet", "SpaceNet_test_567", ["AOI_2_Vegas_img1", "AOI_2_Vegas_img2"], "", ""),
    ]:
        raw = raws[key] = Raw([f"{d}/GlobalRoadSet_Val.zip"])
        for name in names:
            img, m = rgb_image(rng, 40, 48), mask(rng, 40, 48)
            files[f"GlobalRoadSet_Val/{folder}/img/{name}{img_sfx}.jpg"] = encode(img, ".jpg")
            files[f"GlobalRoadSet_Val/{folder}/gt/{name}{gt_sfx}.png"] = encode(m, ".png")
            raw.expected[name] = (
                files[f"GlobalRoadSet_Val/{folder}/img/{name}{img_sfx}.jpg"],
                binary(m),
            )
    write_zip(f"{d}/GlobalRoadSet_Val.zip", files)
    return raws


def make_wbs_si(d: str, rng) -> Raw:
    raw, files = Raw([f"{d}/archive.zip"]), {}
    base = "WaterBodiesDatasetPreprocessed/WaterBodiesDatasetPreprocessed"
    for name in ("water_body_2396", "water_body_8", "water_body_1"):  # the last one: not val
        img, m = rgb_image(rng, 48, 40), mask(rng, 48, 40)
        files[f"{base}/Images/{name}.jpg"] = encode(img, ".jpg")
        files[f"{base}/Masks/{name}.jpg"] = encode(m, ".jpg")  # JPEG masks, as released
        if name != "water_body_1":
            raw.expected[name] = (
                files[f"{base}/Images/{name}.jpg"],
                binary(read_gray(files[f"{base}/Masks/{name}.jpg"])),
            )
    # A second copy outside WaterBodiesDatasetPreprocessed: ignored (no rng draw).
    files["Water Bodies Dataset/Images/water_body_8.jpg"] = encode(
        np.zeros((48, 40, 3), np.uint8), ".jpg"
    )
    files["Water Bodies Dataset/Masks/water_body_8.jpg"] = encode(
        np.zeros((48, 40), np.uint8), ".jpg"
    )
    write_zip(f"{d}/archive.zip", files)
    return raw


def make_all(d: str, seed: int = 0) -> dict[str, Raw]:
    """Every dataset's download under ``d``: converter name -> Raw."""
    rng = np.random.default_rng(seed)
    raws = {
        "openearthmap": make_openearthmap(d, rng),
        "loveda": make_loveda(d, rng),
        "potsdam": make_potsdam(d, rng),
        "vaihingen": make_vaihingen(d, rng),
        "udd5": make_udd5(d, rng),
        "vdd": make_vdd(d, rng),
        "uavid": make_uavid(d, rng),
        "isaid": make_isaid(d, rng),
        "whu-aerial": make_whu_aerial(d, rng),
        "whu-sat-ii": make_whu_sat_ii(d, rng),
        "inria": make_inria(d, rng),
        "xbd": make_xbd(d, rng),
        "chn6-cug": make_chn6_cug(d, rng),
        "wbs-si": make_wbs_si(d, rng),
    }
    raws.update(make_road_sets(d, rng))
    return raws
