"""tools/compare_runs.py: run folders written by the CLI -> the published figure's tables.

Expected values are read from the result files by this test itself (``ovss_results.json``)
and compared with what the tool prints and writes (Markdown, CSV, LaTeX, PNG). The helpers
here (``make_run``, ``md_sections``, ``cell``) are shared by ``test_reporting_*.py``.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import eval_customized
from conftest import ROOT, TINY, cli_args
from foundation.datasets import protocol_images
from foundation.zoo import MODEL_ZOO, checkpoint_names
from ovss import results
from ovss.settings import summary_settings

TOOL = os.path.join(ROOT, "tools", "compare_runs.py")
FOUR = "UDD5Dataset,VDDDataset,ISPRSDataset"
SHORT = {"ISPRSDataset": "Vaihingen", "UDD5Dataset": "UDD5", "VDDDataset": "VDD"}
PUBLISHED_COLUMNS = ["OEM", "LoveDA", "Potsdam", "Vaihingen", "UDD5", "VDD", "UAVid", "iSAID"]
EIGHT = (
    "OpenEarthMapDataset",
    "LoveDADataset",
    "PotsdamDataset",
    "ISPRSDataset",
    "UDD5Dataset",
    "VDDDataset",
    "UAVidDataset",
    "iSAIDDataset",
)
CLASS_FILES = dict(
    zip(
        EIGHT,
        ("openearthmap", "loveda", "potsdam", "vaihingen", "udd5", "vdd", "uavid", "iSAID"),
        strict=True,
    )
)
FARSLIP_TITLE = "Published: FarSLIP table (reference)"
SEGEARTH_TITLE = "Published: SegEarth-OV Table 1 (reference)"
DIFF_TITLE = "Reproduction check: ours - published"
BESIDE_TITLE = "Published rows beside runs (not subtracted)"


def _tool():
    spec = importlib.util.spec_from_file_location("compare_runs_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare_runs = _tool()


def cli(ckpt, data_root, work, method, datasets, *extra):
    args = cli_args(ckpt, data_root, work, "--datasets", datasets, *extra, method=method)
    assert eval_customized.main(args) == 0


def run_folder(work, method, vit_type=TINY):
    """The one folder below ``<work>/<vit-type>/<method>`` holding a run's results (the
    CLI's layout may add a run name below it)."""
    found = [
        folder
        for folder, _, files in os.walk(os.path.join(str(work), vit_type, method))
        if results.JSON_FILE in files
    ]
    assert len(found) == 1, found
    return found[0]


_TEMPLATES: dict[tuple[str, str], dict] = {}


def cli_template(tmp_path_factory, ckpt, data_root):
    """A record exactly as the CLI writes it (one dataset of the tiny model); one CLI run per
    session, shared by the test modules (a copy each)."""
    key = (str(ckpt), str(data_root))
    if key not in _TEMPLATES:
        work = tmp_path_factory.mktemp("template")
        cli(ckpt, data_root, work, "CLIP", "UDD5Dataset")
        folder = run_folder(work, "CLIP")
        _TEMPLATES[key] = json.load(open(os.path.join(folder, "datasets", "UDD5Dataset.json")))
    return copy.deepcopy(_TEMPLATES[key])


def zoo_checkpoint(method, vit_type, default):
    """What a run of the zoo's own weights records as its checkpoint."""
    entry = MODEL_ZOO.get(method)
    if entry is None:
        return default
    names = checkpoint_names(entry, vit_type)
    return f"/ckpts/{names[0]}" if names else f"{entry.tag} (hub tag)"


def make_run(root, template, method, vit_type, miou, *, run=None, weights="published", **changes):
    """A run folder written by ovss.results from a real CLI record, with our numbers.

    Folder ``<root>/<vit-type>/<method>[/<run>]``; every dataset on the protocol's full image
    count unless ``num_images`` is changed; ``weights``: "published" (the zoo's file or tag),
    "own" (--pretrained) or None (an old record without the setting). ``changes``: settings
    (a callable gets the dataset type)."""
    records = []
    for dataset, value in miou.items():
        record = copy.deepcopy(template)
        s = record["settings"]
        s.update(method=method, vit_type=vit_type, dataset=dataset)
        s["num_images"] = protocol_images(dataset) or s["num_images"]
        s.pop("weights", None)
        if weights is not None:
            s["weights"] = weights
        if weights == "published":
            s["checkpoint"] = zoo_checkpoint(method, vit_type, s["checkpoint"])
        s["class_file"] = f"configs/cls_{CLASS_FILES[dataset]}.txt"
        sha = hashlib.sha256(open(os.path.join(ROOT, s["class_file"]), "rb").read()).hexdigest()
        s["class_file_sha"] = "sha256:" + sha
        s.update({k: v(dataset) if callable(v) else v for k, v in changes.items()})
        record.update(dataset=dataset, metrics={**record["metrics"], "mIoU": value})
        records.append(record)
    folder = os.path.join(root, vit_type, method, *([run] if run else []))
    for record in records:
        results.save_dataset(folder, record)
    results.write_summary(folder, f"{vit_type} {method}", summary_settings(records), records)
    return folder


def md_sections(text):
    """'## title' -> (lines before the first table, main table (header, rows), other tables)."""
    sections = {}
    for block in text.split("\n## ")[1:]:
        title, _, body = block.partition("\n")
        tables, current, notes = [], None, []
        for line in body.splitlines():
            if line.startswith("|"):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if current is None:
                    current = [cells]
                    tables.append(current)
                elif not set("".join(cells)) <= set("-:"):
                    current.append(cells)
            else:
                current = None
                if not tables and line.strip():
                    notes.append(line.strip())
        sections[title] = (notes, (tables[0][0], tables[0][1:]), tables[1:])
    return sections


def cell(text):
    """A value cell -> (value text, bold, partial mark or None)."""
    m = re.fullmatch(r"(\*\*)?([^*(]+?)(\*\*)?(?: \((partial[^)]*)\))?", text)
    assert m, text
    return m.group(2), bool(m.group(1)), m.group(4)


def bold_value(text):
    value, bold, _ = cell(text)
    return value, bold


@pytest.fixture(scope="module")
def runs(tiny_checkpoint, data_root, tmp_path_factory):
    """Four CLI runs: CLIP (3 datasets) and FarSLIP1 (2) in one work dir, FarSLIP1 with
    ClearCLIP attention, CLIP with the segearth protocol."""
    base = tmp_path_factory.mktemp("runs")
    work, clear, seg = base / "work", base / "clear", base / "segearth"
    cli(tiny_checkpoint, data_root, work, "CLIP", FOUR)
    cli(tiny_checkpoint, data_root, work, "FarSLIP1", "UDD5Dataset,VDDDataset")
    cli(
        tiny_checkpoint,
        data_root,
        clear,
        "FarSLIP1",
        "UDD5Dataset,VDDDataset",
        "--model-type",
        "ClearCLIP",
    )
    cli(tiny_checkpoint, data_root, seg, "CLIP", "UDD5Dataset,VDDDataset", "--protocol", "segearth")
    folders = {
        "clip": run_folder(work, "CLIP"),
        "farslip": run_folder(work, "FarSLIP1"),
        "clear": run_folder(clear, "FarSLIP1"),
        "segearth": run_folder(seg, "CLIP"),
    }
    return [str(work), str(clear), str(seg)], folders


@pytest.fixture(scope="module")
def tool_run(runs, tmp_path_factory):
    """The tool as a user runs it, all formats, with the published rows."""
    out = tmp_path_factory.mktemp("comparison")
    done = subprocess.run(
        [sys.executable, TOOL, *runs[0], "--with-published", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, str(out)


def summary(folder):
    payload = json.load(open(os.path.join(folder, "ovss_results.json")))
    miou = {d: r["metrics"]["mIoU"] for d, r in payload["datasets"].items()}
    return miou, payload["mean_mIoU"]


def test_cli_runs_give_the_figure_table_with_means_and_bold_best(runs, tool_run):
    stdout, out = tool_run
    _, folders = runs
    assert open(os.path.join(out, "comparison.md")).read() == stdout
    assert "the published description" not in stdout
    sections = md_sections(stdout)
    notes, (header, rows), (details,) = sections["Table 1: 3 runs"]
    assert "settings: protocol=farslip" in notes[0] and "model_type" not in notes[0]
    assert header == [
        "domain",
        "backbone",
        "model",
        "method (model_type)",
        "precision",
        "quick_gelu",
        "long_clip",
        "weights",
        "Vaihingen",
        "UDD5",
        "VDD",
        "mean",
    ]
    # general-domain first, then remote sensing; methods (model_type) as a column, not merged
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("general", "CLIP", "SegEarth"),
        ("remote sensing", "FarSLIP1", "ClearCLIP"),
        ("remote sensing", "FarSLIP1", "SegEarth"),
    ]
    assert all(r[1] == TINY and r[4] == "fp32" for r in rows)
    assert [r[5] for r in rows] == ["False", "True", "True"]  # QuickGELU: zoo vs CLIP default
    fingerprint = json.load(open(os.path.join(folders["clip"], "settings.json")))["fingerprint"]
    assert all(r[7] == fingerprint.split(":")[1][:12] for r in rows)

    expected = [summary(folders[k]) for k in ("clip", "clear", "farslip")]
    columns = ["ISPRSDataset", "UDD5Dataset", "VDDDataset"]
    for row, (miou, mean) in zip(rows, expected, strict=True):
        shown = [cell(c)[0] for c in row[8:]]
        want = [f"{miou[d]:.2f}" if d in miou else "–" for d in columns]
        # the mean: only for the run with all three datasets (CLIP); the others: missing
        want.append(f"{mean:.2f}" if len(miou) == 3 else "–")
        assert shown == want
        # 3 generated images: Vaihingen (398) and VDD (40) are partial, so is a mean over
        # them; UDD5's protocol fixes no count
        marks = [cell(c)[2] for c in row[8:]]
        assert marks == [
            "partial 3/398" if "ISPRSDataset" in miou else None,
            None,
            "partial 3/40",
            "partial" if len(miou) == 3 else None,
        ]
    assert [n for n in notes if n.startswith("partial")] == [
        f"partial (fewer images than the protocol's split): {name} {TINY} ({folders[key]}): "
        f"{parts}; a mean over them is marked partial too"
        for name, key, parts in (
            ("CLIP", "clip", "Vaihingen 3 of 398 images, VDD 3 of 40 images"),
            ("FarSLIP1", "clear", "VDD 3 of 40 images"),
            ("FarSLIP1", "farslip", "VDD 3 of 40 images"),
        )
    ]
    for j, column in enumerate(columns + ["mean"]):
        values = [
            round(m[column], 2)
            if column in m
            else (round(mean, 2) if column == "mean" and len(m) == 3 else None)
            for m, mean in expected
        ]
        top = max(v for v in values if v is not None)
        for row, v in zip(rows, values, strict=True):
            assert cell(row[8 + j])[1] == (v == top), (column, row)
    assert details[1][0] == "prob_thd" and details[1][1:] == ["0.0"] * 3
    assert ["num_images", "3", "3", "3"] in details

    # the segearth run is never merged into the farslip table
    notes, (header, rows), (details,) = sections["Table 2: 1 run"]
    assert "protocol=segearth" in notes[0] and "cls_token_lambda=-0.3" in notes[0]
    differs = set(notes[1].removeprefix("differs from table 1 in: ").split(", "))
    assert differs == {"protocol", "cls_token_lambda", "prob_thd", "bg_idx"}
    assert header == ["domain", "backbone", "model", "precision", "weights", "UDD5", "VDD", "mean"]
    miou, mean = summary(folders["segearth"])
    assert rows == [
        ["general", TINY, "CLIP", "fp32", rows[0][4]]
        + [f"**{miou['UDD5Dataset']:.2f}**", f"**{miou['VDDDataset']:.2f}** (partial 3/40)"]
        + [f"**{mean:.2f}** (partial)"]
    ]
    assert details[1] == ["prob_thd", "0.4", "0.3"] and details[2] == ["bg_idx", "4", "0"]
    assert f"`{folders['segearth']}`" in stdout

    # published reference rows, one table per published protocol, with their sources
    notes, (header, rows), _ = sections[FARSLIP_TITLE]
    assert header == ["domain", "backbone", "model", *PUBLISHED_COLUMNS, "mean"]
    assert "https://github.com/NJU-LHRS/FarSLIP" in notes[1]
    assert [(r[0], r[1], r[2]) for r in rows][:3] == [
        ("general", "ViT-B-16", "CLIP (OpenAI)"),
        ("general", "ViT-B-32", "CLIP (OpenAI)"),
        ("remote sensing", "ViT-B-16", "FarSLIP1"),
    ]
    assert len(rows) == 11 and [r[1] for r in rows[2:]] == ["ViT-B-16"] * 4 + ["ViT-B-32"] * 5
    farslip2_b32 = next(r for r in rows if r[1:3] == ["ViT-B-32", "FarSLIP2"])
    assert [bold_value(c)[0] for c in farslip2_b32[3:]] == [
        "26.66",
        "30.79",
        "40.38",
        "24.33",
        "36.77",
        "38.54",
        "32.82",
        "13.66",
        "30.49",
    ]
    for r in rows:
        values = [float(bold_value(c)[0]) for c in r[3:]]
        assert abs(np.mean(values[:8]) - values[8]) < 0.006, r  # the published means add up
    isaid = [float(bold_value(r[10])[0]) for r in rows]
    assert [bold_value(r[10])[1] for r in rows] == [v == max(isaid) for v in isaid]
    notes, (header, rows), _ = sections[SEGEARTH_TITLE]
    assert "SimFeatUp" in notes[0] and "https://github.com/likyoo/SegEarth-OV" in notes[1]
    assert [bold_value(c)[0] for c in rows[0][3:]] == [
        "40.3", "36.9", "47.1", "29.1", "50.6", "45.3", "42.5", "21.7", "39.2"
    ]  # fmt: skip

    # tiny models on 3 images with --pretrained: every run beside its nearest published row
    assert DIFF_TITLE not in sections
    _, (header, rows), _ = sections[BESIDE_TITLE]
    assert header[:6] == ["table", "backbone", "model", "weights", "row", "reason"]
    rows = as_dicts(header, rows)
    ours, published = rows[::2], rows[1::2]
    assert [(r["table"], r["model"], r["row"]) for r in ours] == [
        ("1", "CLIP", "ours"),
        ("1", "FarSLIP1", "ours"),
        ("1", "FarSLIP1", "ours"),
        ("2", "CLIP", "ours"),
    ]
    for r in ours:
        reason = r["reason"]
        assert "your weights" in reason and f"vit-type {TINY} (published: ViT-B-16)" in reason
        assert "3 of 40 VDD images" in reason
    assert "other protocol: model_type=ClearCLIP (published: SegEarth)" in ours[1]["reason"]
    # the segearth run is nearest to SegEarth-OV's row (it lacks only SimFeatUp)
    assert [r["row"] for r in published] == ["published: FarSLIP table"] * 3 + [
        "published: SegEarth-OV Table 1"
    ]
    assert "upsampler=– (published: simfeatup)" in ours[3]["reason"]
    assert published[3]["model"] == "SegEarth-OV (CLIP + SimFeatUp)"
    assert published[3]["UDD5"] == "50.6"  # as published, not subtracted
    miou, _ = summary(folders["segearth"])
    assert ours[3]["UDD5"] == f"{miou['UDD5Dataset']:.2f}"  # ours, as it is
    assert ours[3]["VDD"] == f"{miou['VDDDataset']:.2f} (partial 3/40)"


def as_dicts(header, rows):
    return [dict(zip(header, r, strict=True)) for r in rows]


def latex_tabulars(text):
    """(declared column count, [cell count of each row]) per tabular."""
    found = []
    for spec, body in re.findall(r"\\begin\{tabular\}\{([^}]*)\}(.*?)\\end\{tabular\}", text, re.S):
        counts = []
        for line in body.splitlines():
            line = line.strip()
            if not line.endswith(r"\\"):
                assert line in ("", r"\toprule", r"\midrule", r"\bottomrule"), line
                continue
            cells = re.split(r"(?<!\\)&", line[:-2])
            spans = [re.match(r"\s*\\multicolumn\{(\d+)\}", c) for c in cells]
            counts.append(sum(int(s.group(1)) if s else 1 for s in spans))
        found.append((len(re.findall(r"[lcr]", spec)), counts))
    return found


def test_csv_latex_and_png(runs, tool_run):
    stdout, out = tool_run
    _, folders = runs
    rows = list(csv.DictReader(open(os.path.join(out, "comparison.csv"))))
    ours = [r for r in rows if r["kind"] == "runs"]
    assert len(ours) == 4 and sum(r["kind"] == "published" for r in rows) == 12
    assert sum(r["kind"] == "beside" for r in rows) == 8
    by_folder = {r["folder"]: r for r in ours}
    for key, folder in folders.items():
        miou, mean = summary(folder)
        row = by_folder[folder]
        for dataset, short in SHORT.items():
            assert row[short] == (f"{miou[dataset]:.4f}" if dataset in miou else ""), key
        assert row["mean"] == (f"{mean:.4f}" if key in ("clip", "segearth") else "")
        assert row["method (model_type)"] == ("ClearCLIP" if key == "clear" else "SegEarth")
        assert row["model"] == ("FarSLIP1" if key in ("clear", "farslip") else "CLIP")
        assert row["table"] == ("2" if key == "segearth" else "1")
        assert "protocol=" + ("segearth" if key == "segearth" else "farslip") in row["settings"]
        assert row["partial"] == {
            "clip": "Vaihingen 3/398; VDD 3/40; mean",
            "segearth": "VDD 3/40; mean",
        }.get(key, "VDD 3/40")
    assert by_folder[folders["segearth"]]["best"] == "UDD5;VDD;mean"

    tex = open(os.path.join(out, "comparison.tex")).read()
    tabulars = latex_tabulars(tex)
    assert [len(counts) for _, counts in tabulars] == [4, 2, 12, 2, 9]  # header + rows
    for declared, counts in tabulars:
        assert counts and all(c == declared for c in counts), (declared, counts)
    assert tex.count(r"\textbf{") == stdout.count("**") // 2
    assert r"ignore\_residual" in tex and tex.count(r"\toprule") == 5
    # a dagger on every partial cell, and in the caption of the 3 tables that have one
    assert tex.count(r"$^\dagger$") == stdout.count("(partial") + 3
    assert (
        "the published description" not in tex
        and "the published description" not in open(os.path.join(out, "comparison.csv")).read()
    )

    png = Image.open(os.path.join(out, "comparison.png"))
    # documented layout (reporting/heatmap.py): 420 px labels + 80 px per value column + a
    # 90 px colour bar + 20 px margin; 2 x 20 px margins + per table 60 px title band + 28 px
    # per row, 30 px between tables.
    tables = [(3, 4), (1, 3), (11, 9), (1, 9), (8, 9)]  # (rows, value columns)
    width = 420 + 80 * max(c for _, c in tables) + 90 + 20
    height = 40 + sum(60 + 28 * r for r, _ in tables) + 30 * (len(tables) - 1)
    assert png.size == (width, height)
    assert np.asarray(png.convert("L")).std() > 20  # drawn, not blank
