"""tools/benchmark.py methods: every row's code path runs on a tiny CLIP (12 blocks, so the
published SC-CLIP / ResCLIP layer settings apply; 112 px input, divisible by every proxy's
patch) with random proxy and upsampler files, and the table reports ratios to SegEarth.
Timings are never asserted: only that they were taken and related correctly."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from conftest import ROOT

TOOL = os.path.join(ROOT, "tools", "benchmark.py")
TINY_BENCH = "ViT-T-16-bench"
CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {
        "image_size": 112,
        "layers": 12,
        "width": 64,
        "head_width": 16,
        "patch_size": 16,
    },
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmark_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rows(bench):
    """The methods mode (tools/benchmark_methods.py; importable once benchmark.py ran)."""
    import benchmark_methods

    return benchmark_methods


@pytest.fixture(scope="module")
def tiny_args(tmp_path_factory):
    """The methods mode's flags for the tiny model, 2 windows of 112 px, one timed call."""
    folder = tmp_path_factory.mktemp("bench_cfg")
    path = folder / f"{TINY_BENCH}.json"
    path.write_text(json.dumps(CONFIG))
    return [
        "methods", "--vit-type", TINY_BENCH, "--model-config", str(path), "--device", "cpu",
        "--windows", "2", "--window-batch", "2", "--window-size", "112", "--repeats", "1",
    ]  # fmt: skip


def test_rows_and_flags(bench, rows):
    args = bench.parse_args(["methods"])
    assert list(rows.selected_cases(args)) == list(rows.METHOD_CASES)
    args = bench.parse_args(["methods", "--all-attentions", "--cases", "ResCLIP"])
    chosen = list(rows.selected_cases(args))
    assert chosen[0] == "SegEarth" and chosen[-1] == "ResCLIP"
    assert set(chosen) == {"SegEarth", "ResCLIP", *rows.ATTENTION_CASES}
    assert len(rows.ATTENTION_CASES) == 8 and "SegEarth" not in rows.ATTENTION_CASES
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(["methods", "--model-type", "NACLIP"])
    assert exit_info.value.code == 2


def test_every_row_in_process(bench, rows, tiny_args, tmp_path):
    """Each row's child path (config, files, segmentor, timing, memory) in this process."""
    args = bench.parse_args(tiny_args)
    cases = rows.selected_cases(args)
    rows.prepare_files(args, cases, str(tmp_path))
    results = {}
    for label in cases:
        args.child, args.files = label, str(tmp_path)
        results[label] = rows.measure_case(args)
    for label, row in results.items():
        case = rows.CASES[label]
        assert row["model_type"] == case.model_type
        assert row["upsampler"] == case.upsampler
        assert len(row["seconds"]) == 1 and row["windows_per_s"] > 0
        assert row["peak_mb"] > 0 and row["peak_scope"] == "timed calls"
        assert row["queries"] == 14  # OpenEarthMap's class file, synonyms included
    assert results["ProxyCLIP/dinov2-b14-reg"]["options"]["proxy"] == "dinov2-b14-reg"
    assert results["SC-CLIP"]["facts"]["source"] == "published settings for 12 layers"

    table = rows.methods_table(results)
    assert len(table) == 1 + len(results)
    ref = results["SegEarth"]
    for label, line in zip(results, table[1:], strict=True):
        cells = line[26:].split()
        row = results[label]
        assert float(cells[1]) == pytest.approx(
            row["windows_per_s"] / ref["windows_per_s"], abs=6e-3
        )
        assert float(cells[5]) == pytest.approx(row["peak_mb"] / ref["peak_mb"], abs=6e-3)
    assert table[1][26:].split()[1:8:2] == ["1.00"] * 4  # SegEarth against itself


def test_one_process_per_row(bench, rows, tiny_args, tmp_path, capsys):
    """The parent: each row (and the reference again) from a fresh process, the table
    printed, the JSON written."""
    out = tmp_path / "methods.json"
    bench.main([*tiny_args, "--cases", "ResCLIP", "--json", str(out)])
    report = json.loads(out.read_text())
    rows = report["rows"]
    assert list(rows) == ["SegEarth", "ResCLIP"]
    assert report["again"]["case"] == "SegEarth"  # the reference once more, after the rows
    pids = {row["pid"] for row in [*rows.values(), report["again"]]}
    assert len(pids) == 3 and os.getpid() not in pids
    printed = capsys.readouterr().out
    assert "2 window(s) 112x112 per call, window_batch 2" in printed
    assert "load average" in printed and "ResCLIP" in printed
    assert "SegEarth measured again after the rows" in printed
    assert rows["ResCLIP"]["model_type"] == "ResCLIP" and rows["ResCLIP"]["upsampler"] is False


def test_a_rows_error_is_one_line(bench, rows, tiny_args, tmp_path, capsys):
    """A row that cannot run (here: its files are missing) ends the benchmark with the
    child's one-line error, named by the row, and exit status 2."""
    args = bench.parse_args(tiny_args)
    with pytest.raises(bench.UserError, match=r"^row ResCLIP: .*random_ViT-T-16-bench\.pt"):
        rows.run_child(tiny_args, "ResCLIP", str(tmp_path))
    assert os.path.isfile(args.classes)  # the default, found in the repository
    with pytest.raises(SystemExit) as exit_info:  # before any heavy work
        bench.main([*tiny_args, "--classes", str(tmp_path / "none.txt")])
    assert exit_info.value.code == 2
    assert "--classes" in capsys.readouterr().err
