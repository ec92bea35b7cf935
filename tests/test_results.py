"""ovss.results: atomic per-dataset records and the tables rebuilt from them, each number with
its image count, partial datasets and short means marked in every file."""

from __future__ import annotations

import csv
import json
import os

from PIL import Image

from ovss import results
from ovss.charts import chart_title, save_iou_chart


def record(dataset, miou, classes=("a", "b"), images=None):
    settings = {"prob_thd": 0.1, "bg_idx": 0, "cls_token_lambda": -0.3, "model_type": "X"}
    if images is not None:
        settings["num_images"] = images
    return {
        "dataset": dataset,
        "settings": settings,
        "metrics": {
            "mIoU": miou,
            "mAcc": 50.0,
            "aAcc": 60.0,
            "classes": list(classes),
            "IoU": [miou - 1, None],
            "Acc": [40.0, None],
        },
    }


def test_summary_files(tmp_path):
    out = str(tmp_path)
    records = [record("A", 10.0, images=5), record("B", 21.12345, images=7)]
    results.write_summary(out, "ViT-B-16 CLIP", {"method": "CLIP", "protocol": "farslip"}, records)
    total = open(os.path.join(out, results.TOTAL_FILE)).read().splitlines()
    # the seed's two CSV lines first, then comment lines a CSV reader skips
    assert total[:2] == ["A,B,mean", "10.0000,21.1234,15.5617"]
    assert total[2:] == ["# images: A 5, B 7", "# mean over 2 datasets"]
    assert list(csv.reader(total, strict=True))[1] == ["10.0000", "21.1234", "15.5617"]
    rows = list(csv.DictReader(open(os.path.join(out, results.CSV_FILE))))
    assert [r["class"] for r in rows] == ["a", "b", "mean", "a", "b", "mean"]
    assert rows[1]["IoU"] == "nan" and rows[2]["IoU"] == "10.0000"
    assert {r["images"] for r in rows} == {"5", "7"}
    payload = json.load(open(os.path.join(out, results.JSON_FILE)))
    assert set(payload["datasets"]) == {"A", "B"} and abs(payload["mean_mIoU"] - 15.561725) < 1e-9
    assert payload["complete"] and payload["mean_over"] == ["A", "B"]
    assert payload["datasets"]["B"]["num_images"] == 7
    md = open(os.path.join(out, results.MD_FILE)).read()
    assert "settings: method=CLIP, protocol=farslip" in md and "## B (mIoU 21.1234 on 7" in md
    assert "prob_thd=0.1, bg_idx=0, cls_token_lambda=-0.3" in md
    assert not [f for f in os.listdir(out) if f.startswith(".")]  # atomic, no leftovers


def test_partial_datasets_and_short_means_are_marked_in_every_file(tmp_path):
    """LoveDA's protocol split has 1669 images, VDD's 40; UDD5's count is not fixed."""
    out = str(tmp_path)
    records = [
        record("LoveDADataset", 30.0, images=3),
        record("UDD5Dataset", 40.0, images=2),
        record("VDDDataset", 50.0, images=40),
    ]
    requested = ["LoveDADataset", "UDD5Dataset", "VDDDataset", "iSAIDDataset", "ISPRSDataset"]
    results.write_summary(out, "M", {"method": "M"}, records, requested)

    total = open(os.path.join(out, results.TOTAL_FILE)).read().splitlines()
    assert total[0] == "LoveDADataset,UDD5Dataset,VDDDataset,mean"
    assert total[2] == "# images: LoveDADataset 3 of 1669 (partial), UDD5Dataset 2, VDDDataset 40"
    assert total[3].startswith("# mean over 3 of 5 requested datasets (not finished: ")
    assert "Vaihingen, iSAID" in total[3] and "1 of them partial (LoveDA)" in total[3]

    payload = json.load(open(os.path.join(out, results.JSON_FILE)))
    love, udd, vdd = (payload["datasets"][d] for d in requested[:3])
    assert (love["num_images"], love["protocol_images"], love["partial"]) == (3, 1669, True)
    assert (udd["protocol_images"], udd["partial"]) == (None, False)
    assert (vdd["protocol_images"], vdd["partial"]) == (40, False)
    assert not payload["complete"] and len(payload["requested"]) == 5
    assert "3 of 5 requested" in payload["mean_note"]

    md = open(os.path.join(out, results.MD_FILE)).read()
    assert "| M | 30.0000 partial | 40.0000 | 50.0000 |" in md
    assert "| images | 3 of 1669 (partial) | 2 | 40 |" in md
    assert "## LoveDA (mIoU 30.0000 on 3 of 1669 images, partial)" in md
    assert "## UDD5 (mIoU 40.0000 on 2 images)" in md  # display names for people
    assert "mean over 3 of 5 requested datasets" in md

    table = results.text_table("M", records, requested).splitlines()
    assert table[0].split() == ["model", "LoveDA", "UDD5", "VDD", "mean"]
    assert table[1].split() == ["M", "30.0000", "partial", "40.0000", "50.0000", "40.0000"]
    assert "3 of 1669 (partial)" in table[2]
    assert table[-2] == "partial: fewer images than the protocol's split: LoveDA 3 of 1669"
    assert table[-1].startswith("mean over 3 of 5 requested datasets")


def test_chart_title_names_the_dataset_and_its_images(tmp_path):
    partial = record("LoveDADataset", 30.0, images=3)
    full = record("VDDDataset", 30.0, images=40)
    title = chart_title(partial, "ViT-B-16 CLIP")
    assert title.startswith("LoveDA: ViT-B-16 CLIP")
    assert "3 of 1669 images (PARTIAL" in title
    assert chart_title(full, "L").endswith("\n40 images")
    path = save_iou_chart(str(tmp_path), partial, "ViT-B-16 CLIP")
    assert Image.open(path).text["Title"] == title  # the written file carries it


def test_dataset_records_round_trip_and_damage(tmp_path):
    out = str(tmp_path)
    results.save_dataset(out, record("A", 3.0))
    assert results.load_dataset(out, "A")["metrics"]["mIoU"] == 3.0
    assert results.load_dataset(out, "B") is None
    assert set(results.load_folder(out)) == {"A"}
    with open(results.dataset_path(out, "A"), "w") as f:
        f.write("{half a json")
    assert results.load_dataset(out, "A") is None  # damaged: recomputed, not a crash
    assert results.load_folder(out) == {}


def test_text_table_columns():
    table = results.text_table("M", [record("A", 1.0), record("B", 3.0)]).splitlines()
    assert table[0].split() == ["model", "A", "B", "mean"]
    assert table[1].split() == ["M", "1.0000", "3.0000", "2.0000"]
    assert table[2].split() == ["images", "?", "?"]  # not recorded: said, not guessed


def test_table_order_is_the_published_one_then_others():
    got = results.table_order(["MyDataset", "iSAIDDataset", "OpenEarthMapDataset"])
    assert got == ["OpenEarthMapDataset", "iSAIDDataset", "MyDataset"]
