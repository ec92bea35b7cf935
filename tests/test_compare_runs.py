"""tools/compare_runs.py: result folders written by the CLI -> the published figure's table.

Expected values are read from the result files by this test itself (``ovss_results.json``)
and compared with what the tool prints and writes (Markdown, CSV, LaTeX, PNG).
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
from conftest import ROOT, TINY, cli_args, out_dir
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


def _tool():
    spec = importlib.util.spec_from_file_location("compare_runs_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare_runs = _tool()


def cli(ckpt, data_root, work, method, datasets, *extra):
    args = cli_args(ckpt, data_root, work, "--datasets", datasets, *extra, method=method)
    assert eval_customized.main(args) == 0


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
        "clip": out_dir(work, "CLIP"),
        "farslip": out_dir(work, "FarSLIP1"),
        "clear": out_dir(clear, "FarSLIP1"),
        "segearth": out_dir(seg, "CLIP"),
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


def bold_value(cell):
    m = re.fullmatch(r"\*\*(.+)\*\*", cell)
    return (m.group(1), True) if m else (cell, False)


def test_cli_runs_give_the_figure_table_with_means_and_bold_best(runs, tool_run):
    stdout, out = tool_run
    _, folders = runs
    assert open(os.path.join(out, "comparison.md")).read() == stdout
    sections = md_sections(stdout)
    notes, (header, rows), (details,) = sections["Table 1: 3 runs"]
    assert "settings: protocol=farslip" in notes[0] and "model_type" not in notes[0]
    assert header == [
        "domain",
        "backbone",
        "method",
        "attention",
        "precision",
        "quick_gelu",
        "long_clip",
        "weights",
        "Vaihingen",
        "UDD5",
        "VDD",
        "mean",
    ]
    # general-domain first, then remote sensing; attentions as a column, not merged
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
        shown = [bold_value(c)[0] for c in row[8:]]
        want = [f"{miou[d]:.2f}" if d in miou else "–" for d in columns]
        # the mean: only for the run with all three datasets (CLIP); the others: missing
        want.append(f"{mean:.2f}" if len(miou) == 3 else "–")
        assert shown == want
    for j, column in enumerate(columns + ["mean"]):
        values = [
            round(m[column], 2)
            if column in m
            else (round(mean, 2) if column == "mean" and len(m) == 3 else None)
            for m, mean in expected
        ]
        top = max(v for v in values if v is not None)
        for row, v in zip(rows, values, strict=True):
            assert bold_value(row[8 + j])[1] == (v == top), (column, row)
    assert details[1][0] == "prob_thd" and details[1][1:] == ["0.0"] * 3

    # the segearth run is never merged into the farslip table
    notes, (header, rows), (details,) = sections["Table 2: 1 run"]
    assert "protocol=segearth" in notes[0] and "cls_token_lambda=-0.3" in notes[0]
    differs = set(notes[1].removeprefix("differs from table 1 in: ").split(", "))
    assert differs == {"protocol", "cls_token_lambda", "prob_thd", "bg_idx"}
    assert header == ["domain", "backbone", "method", "precision", "weights", "UDD5", "VDD", "mean"]
    miou, mean = summary(folders["segearth"])
    assert rows == [
        ["general", TINY, "CLIP", "fp32", rows[0][4]]
        + [f"**{miou[d]:.2f}**" for d in ("UDD5Dataset", "VDDDataset")]
        + [f"**{mean:.2f}**"]
    ]
    assert details[1] == ["prob_thd", "0.4", "0.3"] and details[2] == ["bg_idx", "4", "0"]
    assert f"`{folders['segearth']}`" in stdout

    # published reference rows: as in SPEC §10, grouped general / RS, then backbone
    notes, (header, rows), _ = sections["Published (SPEC §10, reference)"]
    assert header == ["domain", "backbone", "method", *PUBLISHED_COLUMNS, "mean"]
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
    assert any("no run is a published" in n for n in notes)  # tiny models: nothing to compare


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
    assert len(ours) == 4 and sum(r["kind"] == "published" for r in rows) == 11
    by_folder = {r["folder"]: r for r in ours}
    for key, folder in folders.items():
        miou, mean = summary(folder)
        row = by_folder[folder]
        for dataset, short in SHORT.items():
            assert row[short] == (f"{miou[dataset]:.4f}" if dataset in miou else ""), key
        assert row["mean"] == (f"{mean:.4f}" if key in ("clip", "segearth") else "")
        assert row["attention"] == ("ClearCLIP" if key == "clear" else "SegEarth")
        assert row["table"] == ("2" if key == "segearth" else "1")
        assert "protocol=" + ("segearth" if key == "segearth" else "farslip") in row["settings"]
    assert by_folder[folders["segearth"]]["best"] == "UDD5;VDD;mean"

    tex = open(os.path.join(out, "comparison.tex")).read()
    tabulars = latex_tabulars(tex)
    assert [len(counts) for _, counts in tabulars] == [4, 2, 12]  # header + rows
    for declared, counts in tabulars:
        assert counts and all(c == declared for c in counts), (declared, counts)
    assert tex.count(r"\textbf{") == stdout.count("**") // 2
    assert r"ignore\_residual" in tex and tex.count(r"\toprule") == 3

    png = Image.open(os.path.join(out, "comparison.png"))
    # documented layout (ovss/compare.py): 420 px labels + 80 px per value column + 20 px
    # margin; 2 x 20 px margins + per table 60 px title band + 28 px per row, 30 px between.
    tables = [(3, 4), (1, 3), (11, 9)]  # (rows, value columns): table 1, table 2, published
    width = 420 + 80 * max(c for _, c in tables) + 20
    height = 40 + sum(60 + 28 * r for r, _ in tables) + 30 * (len(tables) - 1)
    assert png.size == (width, height)
    assert np.asarray(png.convert("L")).std() > 20  # drawn, not blank


def make_run(root, template, method, vit_type, miou, **changes):
    """A result folder written by ovss.results from a real CLI record, with our numbers."""
    records = []
    for dataset, value in miou.items():
        record = copy.deepcopy(template)
        s = record["settings"]
        s.update(method=method, vit_type=vit_type, dataset=dataset)
        s["class_file"] = f"configs/cls_{CLASS_FILES[dataset]}.txt"
        sha = hashlib.sha256(open(os.path.join(ROOT, s["class_file"]), "rb").read()).hexdigest()
        s["class_file_sha"] = "sha256:" + sha
        s.update({k: v(dataset) if callable(v) else v for k, v in changes.items()})
        record.update(dataset=dataset, metrics={**record["metrics"], "mIoU": value})
        records.append(record)
    folder = os.path.join(root, vit_type, method)
    for record in records:
        results.save_dataset(folder, record)
    results.write_summary(folder, f"{vit_type} {method}", summary_settings(records), records)
    return folder


@pytest.fixture(scope="module")
def template(runs):
    return json.load(open(os.path.join(runs[1]["clip"], "datasets", "UDD5Dataset.json")))


def published_row(text, backbone, method):
    _, (_, rows), _ = md_sections(text)["Published (SPEC §10, reference)"]
    row = next(r for r in rows if r[1:3] == [backbone, method])
    return [float(bold_value(c)[0]) for c in row[3:]]


def test_with_published_differences_only_for_the_published_protocol(template, tmp_path, capsys):
    work = str(tmp_path / "w")
    make_run(work, template, "GeoRSCLIP", "ViT-B-32", {"UDD5Dataset": 30.0, "VDDDataset": 40.0})
    seg = str(tmp_path / "seg")
    make_run(
        seg,
        template,
        "FarSLIP1",
        "ViT-B-16",
        {"UDD5Dataset": 40.0},
        protocol="segearth",
        cls_token_lambda=-0.3,
        prob_thd=0.4,
        bg_idx=4,
    )
    own = str(tmp_path / "own")
    make_run(own, template, "LRSCLIP", "ViT-B-16", {"VDDDataset": 30.0}, class_file_sha="sha256:00")
    out = str(tmp_path / "o")
    assert compare_runs.main([work, "--with-published", "--out", out, "--format", "md"]) == 0
    published = published_row(capsys.readouterr().out, "ViT-B-16", "FarSLIP1")
    # a run of all eight datasets at published + offsets
    offsets = [0.5, -1.25, 2.0, 0.0, -0.3, 1.1, 0.25, -2.5]
    values = dict(zip(EIGHT, np.add(published[:8], offsets), strict=True))
    make_run(work, template, "FarSLIP1", "ViT-B-16", values)
    assert (
        compare_runs.main([work, seg, own, "--with-published", "--out", out, "--format", "md,csv"])
        == 0
    )
    text = capsys.readouterr().out
    sections = md_sections(text)
    notes, (header, rows), _ = sections["Reproduction check: ours - published"]
    assert header == [
        "table",
        "backbone",
        "method",
        "precision",
        "weights",
        *PUBLISHED_COLUMNS,
        "mean",
    ]
    assert [r[1:3] for r in rows] == [["ViT-B-16", "FarSLIP1"], ["ViT-B-32", "GeoRSCLIP"]]
    assert rows[0][5:13] == [f"{o:+.2f}" for o in offsets]
    assert rows[0][13] == f"{np.mean(np.add(published[:8], offsets)) - published[8]:+.2f}"
    geo = published_row(text, "ViT-B-32", "GeoRSCLIP")
    assert rows[1][5:14] == ["–"] * 4 + [f"{30 - geo[4]:+.2f}", f"{40 - geo[5]:+.2f}"] + ["–"] * 3
    skipped = [n for n in notes if n.startswith("not compared")]
    assert len(skipped) == 2
    assert (
        "FarSLIP1 ViT-B-16" in skipped[0] and "protocol=segearth (published: farslip)" in skipped[0]
    )
    assert "UDD5 prob_thd=0.4" in skipped[0] and seg in skipped[0]
    assert "LRSCLIP ViT-B-16" in skipped[1] and "VDD class file differs" in skipped[1]
    # our tables: remote sensing by backbone; the segearth run and the run with its own
    # class file apart (their settings differ)
    _, (header, ours), _ = sections["Table 1: 2 runs"]
    assert [r[1:3] for r in ours] == [["ViT-B-16", "FarSLIP1"], ["ViT-B-32", "GeoRSCLIP"]]
    assert md_sections(text)["Table 2: 1 run"][1][1][0][2] == "FarSLIP1"
    assert md_sections(text)["Table 3: 1 run"][1][1][0][2] == "LRSCLIP"
    assert "differs from table 1 in: class_file_sha" in sections["Table 3: 1 run"][0]
    diff_csv = [
        r
        for r in csv.DictReader(open(os.path.join(out, "comparison.csv")))
        if r["kind"] == "difference"
    ]
    assert [r["OEM"] for r in diff_csv] == ["+0.5000", ""]


def test_unknown_method_missing_dataset_and_column_option(template, tmp_path, capsys):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    make_run(a, template, "MyCLIP", "ViT-B-16", {"UDD5Dataset": 10.0, "VDDDataset": 20.0})
    make_run(a, template, "CLIP", "ViT-B-16", {"UDD5Dataset": 12.0, "VDDDataset": 18.0})
    make_run(b, template, "FarSLIP1", "ViT-B-16", {"UDD5Dataset": 11.0}, data_root="/elsewhere")
    # a setting the tool has never heard of (a new model family's): compared all the same
    make_run(b, template, "SkyCLIP", "ViT-B-16", {"UDD5Dataset": 9.0}, new_family_knob=2)
    out = str(tmp_path / "o")
    assert compare_runs.main([a, b, "--out", out, "--format", "md"]) == 0
    sections = md_sections(capsys.readouterr().out)
    _, (header, rows), _ = sections["Table 1: 2 runs"]
    assert [(r[0], r[2]) for r in rows] == [("general", "CLIP"), ("other", "MyCLIP")]
    assert [r[-3:] for r in rows] == [
        ["**12.00**", "18.00", "**15.00**"],
        ["10.00", "**20.00**", "**15.00**"],
    ]  # a tie: both bold
    notes, _, _ = sections["Table 2: 1 run"]  # another data root: another table
    assert notes[1] == "differs from table 1 in: data_root"
    notes, (_, rows), _ = sections["Table 3: 1 run"]
    assert "new_family_knob=2" in notes[0] and rows[0][2] == "SkyCLIP"
    assert notes[1] == "differs from table 1 in: new_family_knob"

    assert compare_runs.main([a, b, "--column", "data_root", "--out", out, "--format", "md"]) == 0
    sections = md_sections(capsys.readouterr().out)
    assert list(sections) == ["Table 1: 3 runs", "Table 2: 1 run"]
    _, (header, rows), (details,) = sections["Table 1: 3 runs"]
    assert "data_root" in header and header[-3:] == ["UDD5", "VDD", "mean"]
    farslip = next(r for r in rows if r[2] == "FarSLIP1")
    assert farslip[header.index("data_root")] == "/elsewhere" and farslip[-2:] == ["–", "–"]
    assert "data_root" not in [d[0] for d in details]


def test_errors_are_one_line(template, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = make_run(str(tmp_path / "broken"), template, "CLIP", "ViT-B-16", {"UDD5Dataset": 1.0})
    damaged = os.path.join(broken, "datasets", "UDD5Dataset.json")
    with open(damaged, "w") as f:
        f.write("{half")
    fine = make_run(str(tmp_path / "fine"), template, "CLIP", "ViT-B-16", {"UDD5Dataset": 1.0})
    cases = [
        ([str(tmp_path / "missing")], "missing: no such folder"),
        ([str(empty)], "empty: no results found"),
        ([broken], f"{damaged}: not readable as JSON"),
        ([fine, "--column", "colour"], "--column colour: no run records such a setting"),
        ([fine, "--format", "md,pdf"], "--format pdf: choose from md, csv, tex, png"),
    ]
    for argv, expected in cases:
        assert compare_runs.main([*argv, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], err
