"""ovss.results: atomic per-dataset records and the tables rebuilt from them."""

from __future__ import annotations

import csv
import json
import os

from ovss import results


def record(dataset, miou, classes=("a", "b")):
    return {
        "dataset": dataset,
        "settings": {"prob_thd": 0.1, "bg_idx": 0, "cls_token_lambda": -0.3, "model_type": "X"},
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
    records = [record("A", 10.0), record("B", 21.12345)]
    results.write_summary(out, "ViT-B-16 CLIP", {"method": "CLIP", "protocol": "farslip"}, records)
    total = open(os.path.join(out, results.TOTAL_FILE)).read().splitlines()
    assert total == ["A,B,mean", "10.0000,21.1234,15.5617"]
    rows = list(csv.DictReader(open(os.path.join(out, results.CSV_FILE))))
    assert [r["class"] for r in rows] == ["a", "b", "mean", "a", "b", "mean"]
    assert rows[1]["IoU"] == "nan" and rows[2]["IoU"] == "10.0000"
    payload = json.load(open(os.path.join(out, results.JSON_FILE)))
    assert set(payload["datasets"]) == {"A", "B"} and abs(payload["mean_mIoU"] - 15.561725) < 1e-9
    md = open(os.path.join(out, results.MD_FILE)).read()
    assert "settings: method=CLIP, protocol=farslip" in md and "## B (mIoU 21.1234" in md
    assert "prob_thd=0.1, bg_idx=0, cls_token_lambda=-0.3" in md
    assert not [f for f in os.listdir(out) if f.startswith(".tmp")]  # atomic, no leftovers


def test_dataset_records_round_trip_and_damage(tmp_path):
    out = str(tmp_path)
    results.save_dataset(out, record("A", 3.0))
    assert results.load_dataset(out, "A")["metrics"]["mIoU"] == 3.0
    assert results.load_dataset(out, "B") is None
    with open(results.dataset_path(out, "A"), "w") as f:
        f.write("{half a json")
    assert results.load_dataset(out, "A") is None  # damaged: recomputed, not a crash


def test_text_table_columns():
    table = results.text_table("M", [record("A", 1.0), record("B", 3.0)]).splitlines()
    assert table[0].split() == ["model", "A", "B", "mean"]
    assert table[1].split() == ["M", "1.0000", "3.0000", "2.0000"]
