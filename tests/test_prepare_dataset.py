"""tools/prepare_dataset.py: official downloads -> the configs' layout, checked labels.

Synthetic downloads in the release formats (tests/raw_downloads.py) are converted with
tile sizes scaled down through the size options; file names, tile counts, image pixels and
label values are compared with independent references; the converted tree is evaluated
through the CLI; broken label sets fail the check with one line each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

import eval_customized
from conftest import ROOT, cli_args, out_dir
from custom_datasets import UDD5Dataset  # noqa: F401  (registers it)
from foundation.datasets import DATASETS
from foundation.errors import ConfigError, DataError
from ovss.config import dataset_configs
from ovss.data_check import check_dataset, check_labels, dataset_layout
from raw_downloads import (
    ISAID,
    ISPRS,
    UAVID,
    UDD5,
    VDD,
    colour_label,
    make_all,
    make_loveda,
    make_potsdam,
    make_uavid_val,
    read_color,
    ref_grid,
    ref_slide,
    write_zip,
)
from synthetic import EXTRA_LAYOUTS, LAYOUTS, make_dataset

sys.path.insert(0, os.path.join(ROOT, "tools"))
import prepare_dataset  # noqa: E402
from dataset_converters import find, uavid, vdd  # noqa: E402
from dataset_converters.decode import isprs_colours_to_index  # noqa: E402
from dataset_converters.palettes import colour_table, registered_palette  # noqa: E402
from dataset_converters.tiling import grid_boxes, slide_boxes  # noqa: E402

ALL_LAYOUTS = {**LAYOUTS, **EXTRA_LAYOUTS}
DATASET_OF = {
    "openearthmap": "OpenEarthMapDataset",
    "loveda": "LoveDADataset",
    "potsdam": "PotsdamDataset",
    "vaihingen": "ISPRSDataset",
    "udd5": "UDD5Dataset",
    "vdd": "VDDDataset",
    "uavid": "UAVidDataset",
    "isaid": "iSAIDDataset",
    "whu-aerial": "WHUAerialDataset",
    "whu-sat-ii": "WHUSatIIDataset",
    "inria": "InriaDataset",
    "xbd": "xBDDataset",
    "chn6-cug": "CHN6CUGDataset",
    "deepglobe": "DeepGlobeRoadDataset",
    "massachusetts": "MassachusettsRoadDataset",
    "spacenet": "SpaceNetRoadDataset",
    "wbs-si": "WBSSIDataset",
}


def convert(name, raw, root, *extra):
    return prepare_dataset.main(
        [name, *raw.raw, "--data-root", str(root), "--nproc", "1", *raw.options, *extra]
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Every dataset converted from its synthetic download into one data root."""
    raw_dir = tmp_path_factory.mktemp("downloads")
    root = tmp_path_factory.mktemp("data")
    raws = make_all(str(raw_dir))
    assert sorted(raws) == sorted(DATASET_OF)
    for name, raw in raws.items():
        assert convert(name, raw, root) == 0, name
    return str(root), raws


def output_files(root, dataset):
    layout = ALL_LAYOUTS[dataset]
    img_dir, ann_dir = os.path.join(root, layout.img_dir), os.path.join(root, layout.ann_dir)
    return layout, img_dir, ann_dir


@pytest.mark.parametrize("name", sorted(DATASET_OF))
def test_converted_layout_names_pixels_and_labels(prepared, name):
    root, raws = prepared
    expected = raws[name].expected
    layout, img_dir, ann_dir = output_files(root, DATASET_OF[name])
    assert sorted(os.listdir(img_dir)) == sorted(s + layout.img_suffix for s in expected)
    assert sorted(os.listdir(ann_dir)) == sorted(s + layout.ann_suffix for s in expected)
    for stem, (image, label) in expected.items():
        img_path = os.path.join(img_dir, stem + layout.img_suffix)
        if isinstance(image, bytes):  # released in the target format: copied unchanged
            assert open(img_path, "rb").read() == image, stem
        else:
            assert np.array_equal(read_color(open(img_path, "rb").read()), image), stem
        with Image.open(os.path.join(ann_dir, stem + layout.ann_suffix)) as im:
            assert im.mode == "L", (stem, im.mode)
            assert np.array_equal(np.array(im), label), stem


def test_tile_counts_follow_the_published_formulas():
    """Potsdam's 6000x6000 tiles: 144 crops each, 14 val tiles = 2016 (the protocol)."""
    assert len(grid_boxes(6000, 6000, 512, 256)) == 144
    for h, w, clip, stride in [
        (6000, 6000, 512, 256),
        (2557, 1887, 512, 256),
        (130, 150, 64, 32),
        (300, 1000, 512, 256),  # a side under the clip: one crop with a negative start
        (200, 1000, 512, 256),  # at most clip - stride: no crop (as published)
        (40, 50, 64, 32),
    ]:
        assert sorted(grid_boxes(h, w, clip, stride)) == ref_grid(h, w, clip, stride)
    assert grid_boxes(300, 512, 512, 256) == [(0, -212, 512, 300)]
    assert len(grid_boxes(5000, 5000, 1000, 1000)) == 25  # Inria: 27 tiles x 25 = 675
    for h, w, ph, pw, ov in [
        (800, 800, 896, 896, 384),
        (4000, 2500, 896, 896, 384),
        (2160, 3840, 1080, 1280, 0),
        (2160, 4096, 1080, 1280, 0),
    ]:
        H, W, boxes = slide_boxes(h, w, ph, pw, ov)
        assert (H, W, sorted(boxes)) == ref_slide(h, w, ph, pw, ov)
    for h, w, ph, pw, ov in [
        (500, 896, 896, 896, 384),
        (896, 20, 896, 896, 384),
        (720, 1280, 1080, 1280, 0),
    ]:
        H, W, boxes = slide_boxes(h, w, ph, pw, ov)  # not padded, as published
        assert (H, W, sorted(boxes)) == ref_slide(h, w, ph, pw, ov)
    assert slide_boxes(500, 896, 896, 896, 384)[2] == [(-396, 500, 0, 896)]
    assert len(slide_boxes(2160, 3840, 1080, 1280, 0)[2]) == 6  # a UAVid frame


def test_converted_tree_evaluates_through_the_cli(prepared, tiny_checkpoint, tmp_path):
    root, _ = prepared
    args = cli_args(tiny_checkpoint, root, tmp_path, "--datasets", "segearth-all")
    assert eval_customized.main(args) == 0
    out = out_dir(tmp_path)
    lines = open(os.path.join(out, "ovss_results_total.txt")).read().splitlines()
    assert lines[0].split(",")[:-1] == list(DATASET_OF.values())
    values = [float(v) for v in lines[1].split(",")]
    assert all(0.0 <= v <= 100.0 for v in values)
    for name, dataset in DATASET_OF.items():
        record = json.load(open(os.path.join(out, "datasets", f"{dataset}.json")))
        assert record["settings"]["num_images"] == len(prepared[1][name].expected), dataset


def test_rerun_skips_and_overwrite_redoes(tmp_path, capsys):
    raw = make_potsdam(str(tmp_path / "dl"), np.random.default_rng(5))
    root = tmp_path / "data"
    assert convert("potsdam", raw, root, "--nproc", "2") == 0
    _, img_dir, ann_dir = output_files(str(root), "PotsdamDataset")
    files = sorted(os.path.join(ann_dir, f) for f in os.listdir(ann_dir))
    assert len(files) == len(raw.expected)
    old = 1_000_000_000
    for path in files:
        os.utime(path, (old, old))
    capsys.readouterr()
    assert convert("Potsdam", raw, root) == 0
    assert "0 converted, 2 already done" in capsys.readouterr().out
    assert all(os.stat(p).st_mtime == old for p in files)
    os.remove(files[0])
    assert convert("PotsdamDataset", raw, root) == 0
    assert os.path.isfile(files[0]) and "1 converted, 1 already done" in capsys.readouterr().out
    assert convert("potsdam", raw, root, "--overwrite") == 0
    assert all(os.stat(p).st_mtime != old for p in files)
    for stem, (_, label) in raw.expected.items():  # the pool wrote what one process writes
        assert np.array_equal(np.array(Image.open(os.path.join(ann_dir, stem + ".png"))), label)


def test_protocol_count_mismatch_is_a_warning(tmp_path, capsys):
    raw = make_loveda(str(tmp_path / "dl"), np.random.default_rng(1))
    assert convert("loveda", raw, tmp_path / "data") == 0
    out, err = capsys.readouterr()
    assert "LoveDADataset: 3 images (protocol: 1669)" in out
    assert "WARNING: LoveDADataset has 3 images but the protocol has 1669" in err
    assert "0 background" in out and "6 agricultural" in out and "ignored (0, 255)" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["marsdata", "x"], "unknown dataset 'marsdata'; choose one of openearthmap"),
        (["potsdam", "x", "--patch-width", "64"], "potsdam has no option --patch-width"),
        (["potsdam", "/no/such.zip"], "RAW /no/such.zip does not exist"),
    ],
)
def test_bad_arguments_are_one_line(argv, message, tmp_path, capsys):
    assert prepare_dataset.main([*argv, "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_potsdam_without_the_label_zip_is_one_line(tmp_path, capsys):
    raw = make_potsdam(str(tmp_path / "dl"), np.random.default_rng(2))
    assert prepare_dataset.main(["potsdam", raw.raw[0], "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "image(s) without a label in RAW" in err and "\n" not in err


def test_names_resolve():
    assert find("Potsdam").name == find("PotsdamDataset").name == "potsdam"
    assert find("ISPRSDataset").name == find("Vaihingen").name == "vaihingen"
    assert find("WHU-Sat.II").name == find("whu_sat_II").name == "whu-sat-ii"
    assert find("xBD-pre").dataset == "xBDDataset" and find("iSAID").dataset == "iSAIDDataset"
    with pytest.raises(ConfigError):
        find("cityscapes")
    available = dataset_configs()
    for name, dataset in DATASET_OF.items():
        assert find(name).dataset == dataset and dataset in available


# ----------------------------------------------------------------------------------------
# The label check: each broken label set is one line.


def good_root(tmp_path, dataset="UDD5Dataset"):
    root = str(tmp_path / "data")
    make_dataset(root, dataset, count=3, seed=4)
    cfg_layout = dataset_layout(
        dict(type=dataset, data_root=root, data_prefix=dict(
            img_path=LAYOUTS[dataset].img_dir, seg_map_path=LAYOUTS[dataset].ann_dir))
    )  # fmt: skip
    labels = sorted(os.path.join(cfg_layout.seg_dir, f) for f in os.listdir(cfg_layout.seg_dir))
    return root, cfg_layout, labels


def all_zero(labels):
    for path in labels:
        cv2.imwrite(path, np.zeros_like(cv2.imread(path, cv2.IMREAD_UNCHANGED)))


def palette_out_of_range(labels):
    """A colour-quantised label in palette mode: its indices are not the classes."""
    label = cv2.imread(labels[1], cv2.IMREAD_UNCHANGED)
    rgb = colour_label(np.random.default_rng(0), *label.shape, UDD5, off_palette=False)
    Image.fromarray(rgb).convert("P", palette=Image.Palette.WEB).save(labels[1])


def palette_wrong_order(labels):
    """In-range palette indices, but the palette draws index k in another class's colour."""
    label = cv2.imread(labels[0], cv2.IMREAD_UNCHANGED)
    label[label == 255] = 0
    colours = {v: k for k, v in UDD5.items()}  # class -> colour
    order = [4, 3, 2, 1, 0]  # index i drawn in the colour of class order[i]
    im = Image.fromarray(np.array([order.index(k) for k in range(5)], np.uint8)[label], mode="P")
    im.putpalette([c for i in range(5) for c in colours[order[i]]])
    im.save(labels[0])


def out_of_range(labels):
    label = cv2.imread(labels[2], cv2.IMREAD_UNCHANGED)
    label[:2, :2] = 9
    cv2.imwrite(labels[2], label)


def size_mismatch(labels):
    label = cv2.imread(labels[1], cv2.IMREAD_UNCHANGED)
    cv2.imwrite(labels[1], label[:-3])


def colour_coded(labels):
    label = cv2.imread(labels[0], cv2.IMREAD_UNCHANGED)
    cv2.imwrite(labels[0], np.stack([label, label // 2, label], -1))


BROKEN = {
    "all_zero": (all_zero, "hold the single value 0: the labels are broken"),
    "palette_out_of_range": (
        palette_out_of_range,
        "is a palette-mode PNG whose palette indices are not class indices (indices",
    ),
    "palette_wrong_order": (
        palette_wrong_order,
        "palette indices are not class indices (index 0 drawn in the colour of class 4 (background))",
    ),
    "out_of_range": (out_of_range, "holds value(s) [9] outside the class list (5 classes"),
    "size_mismatch": (size_mismatch, "but its label"),
    "colour_coded": (colour_coded, "is a RGB colour image, not class indices"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_labels_fail_the_check_with_one_line(case, tmp_path, capsys):
    root, layout, labels = good_root(tmp_path)
    assert check_labels(layout).count == 3
    mutate, message = BROKEN[case]
    mutate(labels)
    with pytest.raises(DataError) as info:
        check_labels(layout)
    assert message in str(info.value) and "\n" not in str(info.value)
    capsys.readouterr()
    assert prepare_dataset.main(["check", root, "--nproc", "2"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and message in err[0]


def test_pre_run_check_stays_cheap_and_the_run_reports_a_size_mismatch(tmp_path):
    _, layout, labels = good_root(tmp_path)
    size_mismatch(labels)
    assert check_dataset(layout) == 3  # signatures only: sizes are not read before a run


def test_all_zero_with_reduce_zero_label(tmp_path):
    """LoveDA's 0 is ignored: an all-zero set is broken too."""
    _, layout, labels = good_root(tmp_path, "LoveDADataset")
    all_zero(labels)
    with pytest.raises(DataError, match="hold the single value 0"):
        check_labels(layout)


def test_check_command_on_a_good_root(prepared, tmp_path, capsys):
    root = str(tmp_path / "copy")
    shutil.copytree(os.path.join(prepared[0], "potsdam"), os.path.join(root, "potsdam"))
    shutil.copytree(
        os.path.join(prepared[0], "GlobalRoadSet_Val"), os.path.join(root, "GlobalRoadSet_Val")
    )
    capsys.readouterr()
    assert prepare_dataset.main(["check", root, "--nproc", "1"]) == 0
    out = capsys.readouterr().out
    assert "checked 4 dataset(s): 4 good, 0 broken" in out
    count = len(prepared[1]["potsdam"].expected)
    assert f"PotsdamDataset: {count} images (protocol: 2016)" in out and "5 clutter" in out


def test_isprs_colour_key_is_mmsegs():
    """mmseg's 2B+3G+4R key: every 0/255 colour maps as its exact colour would."""
    colours = np.array(
        [[(r, g, b) for r in (0, 255) for g in (0, 255) for b in (0, 255)]], np.uint8
    )
    got = isprs_colours_to_index(colours[..., ::-1].copy())[0]
    assert got.tolist() == [ISPRS.get(tuple(int(v) for v in c), 0) for c in colours[0]]


def test_raw_may_be_the_extracted_folder(tmp_path):
    """Potsdam unpacked by the user (zips extracted) gives the same files as the zips."""
    raw = make_potsdam(str(tmp_path / "dl"), np.random.default_rng(3))
    extracted = tmp_path / "unzipped"
    for path in raw.raw:
        shutil.unpack_archive(path, extracted)
    folder = type(raw)([str(extracted)], raw.options, raw.expected)
    assert convert("potsdam", folder, tmp_path / "data") == 0
    _, _, ann_dir = output_files(str(tmp_path / "data"), "PotsdamDataset")
    assert sorted(os.listdir(ann_dir)) == sorted(s + ".png" for s in raw.expected)


def test_nested_zip(tmp_path):
    """A zip holding the two zips (as some mirrors ship them)."""
    raw = make_potsdam(str(tmp_path / "dl"), np.random.default_rng(3))
    outer = write_zip(
        str(tmp_path / "potsdam_all.zip"),
        {os.path.basename(p): open(p, "rb").read() for p in raw.raw},
    )
    nested = type(raw)([outer], raw.options, raw.expected)
    assert convert("potsdam", nested, tmp_path / "data") == 0
    _, _, ann_dir = output_files(str(tmp_path / "data"), "PotsdamDataset")
    assert len(os.listdir(ann_dir)) == len(raw.expected)


# ----------------------------------------------------------------------------------------
# Names, list, the light commands, the colour tables, UAVid's val split.


def test_names_forgive_case_aliases_and_near_misses(tmp_path, capsys):
    assert find("POTSDAM").name == find("potsdam").name == "potsdam"
    assert find("Vaihingen").dataset == find("isprs").dataset == "ISPRSDataset"
    assert find("whu-sat2").dataset == find("WHU_Sat_II").dataset == "WHUSatIIDataset"
    assert find("OEM").name == "openearthmap" and find("water").name == "wbs-si"
    assert prepare_dataset.main(["potsdm", "x", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown dataset 'potsdm' (did you mean potsdam?)" in err and "\n" not in err


def test_list_names_every_dataset_with_its_count_and_where_it_is_published(capsys):
    assert prepare_dataset.main(["list"]) == 0
    out = capsys.readouterr().out
    blocks = out.split("\n\n")[1:]
    assert len(blocks) == len(DATASETS) == 17
    for block, (dataset_type, info) in zip(blocks, DATASETS.items(), strict=True):
        lines = block.splitlines()
        assert lines[0].split()[0] == info.name, lines[0]
        assert info.title in lines[0]
        assert dataset_type in lines[1]
        count = "not fixed by the protocol" if info.images is None else f"{info.images} (protocol)"
        assert f"images: {count}" in block
        assert f"published: {info.published}" in block
        assert "RAW: " in block
    assert "--split val: uavid_val is the release's validation split" in out


def test_help_list_and_argument_mistakes_import_no_heavy_module():
    """--help, list and a mistyped name or option answer before mmseg/torch are imported."""
    code = (
        "import sys; sys.path.insert(0, 'tools'); import prepare_dataset as p\n"
        "codes = [p.main(['list']), p.main(['potsdm', 'x']), p.main(['uavid', 'x', '--split', "
        "'train']), p.main(['potsdam', '/no/such.zip'])]\n"
        "try:\n    p.main(['--help'])\nexcept SystemExit as e:\n    codes.append(e.code)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('mmseg', 'torch', "
        "'open_clip', 'mmcv'))\n"
        "print(codes, heavy)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[0, 2, 2, 2, 0] []"
    assert "uavid has no --split train (its other splits: val)" in run.stderr


def test_colour_tables_are_the_registered_palettes():
    """The converters' tables, read from the registered palettes, are the published ones
    (restated in raw_downloads), the stated extra colours aside."""
    assert colour_table("PotsdamDataset", first=1) == ISPRS
    assert registered_palette("ISPRSDataset") == registered_palette("PotsdamDataset")
    assert colour_table("iSAIDDataset") == ISAID
    assert {**colour_table("UAVidDataset"), **uavid.MOVING_CAR} == UAVID
    assert colour_table("UDD5Dataset") == UDD5
    assert {**colour_table("VDDDataset"), **vdd.WATER_ALSO} == {**VDD, (0, 200, 200): 6}


def test_uavid_val_alone_is_refused_with_what_to_pass(tmp_path, capsys):
    raw = make_uavid_val(str(tmp_path / "dl"), np.random.default_rng(8))
    assert convert("uavid", raw, tmp_path / "data") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "no test_gt/<seq>/Images in RAW, but uavid_val holds 2 image(s)" in err
    assert "not the protocol's (the labelled test set test_gt)" in err
    assert "add --split val to convert uavid_val into" in err
    assert not os.path.exists(tmp_path / "data" / "UAVid")
    assert prepare_dataset.main(["potsdam", *raw.raw, "--split", "val"]) == 2
    assert "potsdam has no --split val (its other splits: none)" in capsys.readouterr().err


def test_uavid_val_with_split_option_is_written_next_to_the_protocol_folders(tmp_path, capsys):
    raw = make_uavid_val(str(tmp_path / "dl"), np.random.default_rng(8))
    root = tmp_path / "data"
    assert convert("UAVid", raw, root, "--split", "val") == 0
    out = capsys.readouterr().out
    note = [line for line in out.splitlines() if line.startswith("note: --split val")]
    assert len(note) == 1
    assert "uavid_val is the release's validation split, not the protocol's" in note[0]
    assert "written to UAVid/img_dir/val + UAVid/ann_dir/val, which cfg_uavid.py" in note[0]
    assert f"UAVidDataset: {len(raw.expected)} images in UAVid/img_dir/val" in out
    assert "protocol:" not in out
    assert not os.path.exists(root / "UAVid" / "img_dir" / "test")
    img_dir, ann_dir = root / "UAVid" / "img_dir" / "val", root / "UAVid" / "ann_dir" / "val"
    assert sorted(os.listdir(img_dir)) == sorted(s + ".png" for s in raw.expected)
    for stem, (image, label) in raw.expected.items():
        assert np.array_equal(read_color(open(img_dir / f"{stem}.png", "rb").read()), image)
        assert np.array_equal(np.array(Image.open(ann_dir / f"{stem}.png")), label), stem
