"""What exists is discoverable: ``eval_customized.py --list KIND`` from the tables the run
uses, help text for every argument, and every tool's --help without the heavy imports."""

from __future__ import annotations

import argparse
import glob
import os
import re
import subprocess
import sys

import pytest

import eval_customized
import synthetic
from conftest import ROOT
from foundation.datasets import DATASET_GROUPS, DATASETS
from foundation.methods import METHODS
from foundation.zoo import MODEL_ZOO
from ovss.listing import KINDS
from ovss.protocols import PROTOCOLS

HEAVY = ("torch", "mmseg", "mmcv", "open_clip")


def listed(capsys, *argv: str) -> str:
    assert eval_customized.main(["--list", *argv]) == 0
    return capsys.readouterr().out


def test_list_methods_shows_the_zoo_and_where_each_is_published(capsys):
    out = listed(capsys, "methods")
    for method, entry in MODEL_ZOO.items():
        row = next(line for line in out.splitlines() if line.startswith(method + " "))
        assert entry.family in row
        assert all(v in row for v in entry.vit_types or ())
        assert f"  {method}: {entry.published}" in out
    assert "open_clip tag 'openai'" in out


def test_list_attentions_shows_every_model_type_with_its_defaults(capsys):
    out = listed(capsys, "attentions")
    for name, info in METHODS.items():
        assert re.search(rf"^{re.escape(name)} .*{info.kind}", out, re.M), name
        assert f"  {name}: {info.source}" in out
    assert "ProxyCLIP: proxy=dino-b8, proxy_pretrained=None, gamma=3.0, beta=1.2" in out
    assert "SC-CLIP (also SCCLIP)" in out


def test_list_datasets_says_which_are_present_under_the_data_root(tmp_path, capsys):
    synthetic.make_dataset(str(tmp_path), "UDD5Dataset", count=3)
    out = listed(capsys, "datasets", "--data-root", str(tmp_path))
    rows = {line.split()[0]: line for line in out.splitlines() if line and line[0] != " "}
    assert "found (3 images)" in rows["udd5"] and "UDD5Dataset" in rows["udd5"]
    assert "missing (potsdam/img_dir/val)" in rows["potsdam"]
    assert "ISPRSDataset" in rows["vaihingen"] and "isprs" in rows["vaihingen"]
    assert all(info.name in rows for info in DATASETS.values())
    for group, types in DATASET_GROUPS.items():
        assert f"  {group}: {', '.join(DATASETS[t].name for t in types)}" in out
    assert f"  potsdam: {DATASETS['PotsdamDataset'].published}" in out


def test_list_datasets_includes_a_given_dataset_config(tmp_path, capsys):
    config = tmp_path / "my_roofs.py"
    config.write_text(
        "test_dataloader = dict(dataset=dict(type='MyRoofsDataset', "
        "data_prefix=dict(img_path='roofs/img', seg_map_path='roofs/ann')))\n"
    )
    (tmp_path / "roofs" / "img").mkdir(parents=True)
    (tmp_path / "roofs" / "ann").mkdir()
    (tmp_path / "roofs" / "img" / "a.png").write_bytes(b"0")
    out = listed(capsys, "datasets", "--data-root", str(tmp_path), "--dataset-config", str(config))
    row = next(line for line in out.splitlines() if line.startswith("MyRoofsDataset"))
    assert "MyRoofs" in row and "found (1 image)" in row


def test_list_protocols(capsys):
    out = listed(capsys, "protocols")
    for name, protocol in PROTOCOLS.items():
        assert protocol.description in out and name in out
    assert "farslip (default)" in out


def test_help_names_the_list_kinds_and_every_argument_has_help():
    parser = eval_customized.build_parser()
    assert f"--list {{{','.join(KINDS)}}}" in parser.format_help()
    missing = [
        a.option_strings[0]
        for a in parser._actions
        if a.option_strings and (not a.help or a.help == argparse.SUPPRESS)
    ]
    assert not missing, missing


TOOLS = sorted(  # the tools themselves, not the modules they share
    path
    for path in glob.glob(os.path.join(ROOT, "tools", "*.py"))
    if 'if __name__ == "__main__"' in open(path, encoding="utf-8").read()
)


@pytest.mark.parametrize("tool", TOOLS, ids=os.path.basename)
def test_every_tools_help_comes_without_heavy_imports(tool):
    """``python -X importtime TOOL --help``: no torch, mmcv, mmseg or open_clip imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", tool, "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0 and "usage:" in done.stdout, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert not [m for m in imported if m.split(".")[0] in HEAVY]
