"""compare_runs.py: every run below a work dir (any depth, old and new layouts), runs that
differ in one setting never merged, partial data marked in every format, heatmaps on a fixed
colour scale with a labelled colour bar.

Runs are written in the real on-disk format from a record the CLI wrote.
"""

from __future__ import annotations

import csv
import os

import matplotlib
import numpy as np
import pytest
from PIL import Image

from foundation.errors import ResultsError
from reporting import comparison, heatmap, runs, tables
from test_compare_runs import cell, cli_template, compare_runs, make_run, md_sections

UDD5_VDD = {"UDD5Dataset": 10.0, "VDDDataset": 20.0}


@pytest.fixture(scope="module")
def template(tiny_checkpoint, data_root, tmp_path_factory):
    return cli_template(tmp_path_factory, tiny_checkpoint, data_root)


def tool(capsys, tmp_path, *argv):
    out = str(tmp_path / "out")
    assert compare_runs.main([*map(str, argv), "--out", out]) == 0
    return md_sections(capsys.readouterr().out), out


def rows_of(section):
    _, (header, rows), _ = section
    return [dict(zip(header, r, strict=True)) for r in rows]


def test_every_run_below_the_work_dir_is_listed_and_none_merged(template, tmp_path, capsys):
    w = tmp_path / "w"
    # new layout: <work-dir>/<vit-type>/<method>/<run-name>/, runs differing only in
    # model_type (a column) and only in a --cfg-options value (separate tables)
    seg = make_run(w, template, "FarSLIP1", "ViT-B-16", UDD5_VDD, run="segearth")
    clear = make_run(
        w, template, "FarSLIP1", "ViT-B-16", UDD5_VDD, run="clear", model_type="ClearCLIP"
    )
    stride = make_run(
        w, template, "FarSLIP1", "ViT-B-16", UDD5_VDD, run="stride56", slide_stride=56
    )
    # the old layout, <work-dir>/<vit-type>/<method>/ holding the files itself, with a run
    # of the new layout below it; and a run deep below the work dir
    old = make_run(w, template, "CLIP", "ViT-B-16", {"UDD5Dataset": 5.0})
    nested = make_run(w, template, "CLIP", "ViT-B-16", {"UDD5Dataset": 6.0}, run="again")
    deep = make_run(w / "a" / "b" / "c", template, "SkyCLIP", "ViT-B-32", {"UDD5Dataset": 7.0})
    # not runs: hidden folders, logs, caches, drawings (even holding result files)
    for skipped in (".trash", "logs", "text_cache", "demo_drawings"):
        make_run(w / skipped, template, "GeoRSCLIP", "ViT-B-32", {"UDD5Dataset": 99.0})

    found = runs.find_result_folders([str(w)])
    assert sorted(found) == sorted([seg, clear, stride, old, nested, deep])
    sections, _ = tool(capsys, tmp_path, w)
    listed = [r for title, s in sections.items() if title.startswith("Table") for r in rows_of(s)]
    assert len(listed) == 6 and not any(r["model"] == "GeoRSCLIP" for r in listed)
    first = rows_of(sections["Table 1: 5 runs"])
    farslip = [r for r in first if r["model"] == "FarSLIP1"]
    assert [r["method (model_type)"] for r in farslip] == ["ClearCLIP", "SegEarth"]
    assert [cell(r["UDD5"])[0] for r in farslip] == ["10.00", "10.00"]  # equal numbers, two rows
    (notes,) = [s[0] for s in sections.values() if "slide_stride=56" in s[0][0]]
    assert notes[1] == "differs from table 1 in: slide_stride"
    assert rows_of(next(s for s in sections.values() if s[0] is notes))[0]["model"] == "FarSLIP1"
    text = open(os.path.join(str(tmp_path / "out"), "comparison.md")).read()
    for folder in (seg, clear, stride, old, nested, deep):
        assert f"`{folder}`" in text


def test_read_runs_reads_exactly_the_given_folders(template, tmp_path):
    w = tmp_path / "w"
    old = make_run(w, template, "CLIP", "ViT-B-16", {"UDD5Dataset": 5.0})
    nested = make_run(w, template, "CLIP", "ViT-B-16", {"UDD5Dataset": 6.0}, run="again")
    assert [r.folder for r in runs.read_runs([old])] == [old]
    assert [r.miou for r in runs.read_runs([nested, old])] == [
        {"UDD5Dataset": 6.0},
        {"UDD5Dataset": 5.0},
    ]
    with pytest.raises(ResultsError, match="not a run folder"):
        runs.read_runs([str(w)])
    md, written = comparison.write_comparison([old, nested], str(tmp_path / "o"), ["md", "csv"])
    assert written == [
        str(tmp_path / "o" / "comparison.md"),
        str(tmp_path / "o" / "comparison.csv"),
    ]
    assert open(written[0]).read() == md and "Table 1: 2 runs" in md


def test_partial_data_is_marked_in_every_format(template, tmp_path, capsys):
    w = tmp_path / "w"
    values = {"LoveDADataset": 30.0, "VDDDataset": 20.0, "UDD5Dataset": 10.0}
    partial = make_run(
        w, template, "FarSLIP1", "ViT-B-16", values,
        num_images=lambda d: {"LoveDADataset": 3, "VDDDataset": 40, "UDD5Dataset": 7}[d],
    )  # fmt: skip
    sections, out = tool(capsys, tmp_path, w)
    (title,) = sections
    notes = sections[title][0]
    row = rows_of(sections[title])[0]
    # LoveDA: 3 of 1669; VDD: its full 40; UDD5: the protocol fixes no count
    assert cell(row["LoveDA"]) == ("30.00", True, "partial 3/1669")
    assert cell(row["VDD"]) == ("20.00", True, None) and cell(row["UDD5"])[2] is None
    assert cell(row["mean"]) == ("20.00", True, "partial")
    assert notes[1] == (
        f"partial (fewer images than the protocol's split): FarSLIP1 ViT-B-16 ({partial}): "
        "LoveDA 3 of 1669 images; a mean over them is marked partial too"
    )
    (line,) = csv.DictReader(open(os.path.join(out, "comparison.csv")))
    assert line["LoveDA"] == "30.0000" and line["partial"] == "LoveDA 3/1669; mean"
    tex = open(os.path.join(out, "comparison.tex")).read()
    assert r"\textbf{30.00}$^\dagger$" in tex and r"\textbf{20.00}$^\dagger$" in tex
    assert tex.count(r"$^\dagger$") == 3  # LoveDA, mean, and the caption's explanation
    assert r"$^\dagger$ partial: fewer images than the protocol's split" in tex

    # the PNG: drawn again with the full count, only the partial cells change
    run = runs.collect_runs([str(w)])[0]
    marked = tables.run_tables([run])[1]
    run.per_dataset["LoveDADataset"]["num_images"] = 1669
    full = tables.run_tables([run])[1]
    assert not full[0].rows[0].partial
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    heatmap.heatmap(marked, str(a))
    heatmap.heatmap(full, str(b))
    differs = np.any(np.asarray(Image.open(a)) != np.asarray(Image.open(b)), axis=-1)
    _, _, (panel,) = heatmap.heatmap_layout(marked)
    left, top, _, bottom = panel.cells
    columns = marked[0].columns
    changed = [
        c
        for j, c in enumerate(columns)
        if differs[top:bottom, left + 80 * j : left + 80 * (j + 1)].any()
    ]
    assert changed == ["LoveDADataset", "mean"]
    assert differs[:top].any()  # the title says what the dagger means


def viridis(value):
    return np.array(matplotlib.colormaps["viridis"](value)[:3]) * 255


def test_heatmap_uses_a_fixed_scale_with_a_labelled_colour_bar(template, tmp_path):
    w = tmp_path / "w"
    make_run(w, template, "FarSLIP1", "ViT-B-16", {"UDD5Dataset": 9.04, "VDDDataset": 8.99})
    our = tables.run_tables(runs.collect_runs([str(w)]))[1]
    diff = tables.Table(
        "difference", "d", [], ["model"], ["UDD5Dataset"],
        [tables.Row({"model": "x"}, {"UDD5Dataset": 0.01}, ("a", "b"))], signed=True,
    )  # fmt: skip
    shown = [*our, diff]
    fig = heatmap.heatmap_figure(shown)
    bars = fig.axes[1::2]
    assert [b.get_title(loc="left") for b in bars] == ["mIoU (%)", "Δ mIoU (points)"]
    norms = [ax.images[0].norm for ax in fig.axes[0::2]]
    assert [(n.vmin, n.vmax) for n in norms] == [(0.0, 100.0), (-10.0, 10.0)]
    assert heatmap.colour_scale(our[0]) == ("viridis", 0.0, 100.0, "mIoU (%)")

    path = tmp_path / "h.png"
    heatmap.heatmap(shown, str(path))
    png = np.asarray(Image.open(path).convert("RGB")).astype(float)
    _, _, panels = heatmap.heatmap_layout(shown)
    left, top, right, bottom = panels[0].cells
    # 9.04 and 8.99: the same dark colour of the 0-100 scale, not the two ends of viridis
    corners = [png[top + 3, left + 3], png[top + 3, left + 80 + 3]]  # clear of the text
    for pixel, value in zip(corners, (9.04, 8.99), strict=True):
        assert np.abs(pixel - viridis(value / 100)).max() <= 3, (pixel, value)
    # the colour bar runs from viridis(0) at the bottom to viridis(1) at the top
    bar_left, bar_top, bar_right, bar_bottom = panels[0].bar
    x = (bar_left + bar_right) // 2
    for y in range(bar_top + 2, bar_bottom - 1, 4):
        fraction = (bar_bottom - y - 0.5) / (bar_bottom - bar_top)
        assert np.abs(png[y, x] - viridis(fraction)).max() <= 12, (y, fraction)
    # a difference of +0.01 is near white on -10..+10, not the end of the scale
    left, top, _, _ = panels[1].cells
    assert png[top + 3, left + 3].min() > 230


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
    (empty / "logs" / "datasets").mkdir(parents=True)  # logs/ is never a run folder
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
