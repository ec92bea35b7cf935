"""tools/run_study.py: a study in one command, on the demo model and scenes. It runs its
runs, is interrupted, continues without recomputing what finished, and ends with one
comparison of exactly its runs; the shipped studies load and run."""

from __future__ import annotations

import json
import os
import sys

import pytest
import torch

import ovss.evaluate
from conftest import ROOT
from dense import ATTENTIONS
from foundation.zoo import MODEL_ZOO
from ovss import run_folder

sys.path.insert(0, os.path.join(ROOT, "tools"))

import run_study  # noqa: E402

DEMO_CKPT = os.path.join(ROOT, "demo", "DemoCLIP.pt")
FAST = ["--", "--device", "cpu", "--num-workers", "0"]  # flags for every run of a test


@pytest.fixture(scope="module")
def second_checkpoint(tmp_path_factory):
    """Another DemoCLIP checkpoint: the demo model with its image projection perturbed."""
    state = torch.load(DEMO_CKPT, map_location="cpu")
    generator = torch.Generator().manual_seed(0)
    proj = state["visual.proj"]
    noise = torch.randn(proj.shape, generator=generator) * proj.float().std() * 0.3
    state["visual.proj"] = (proj.float() + noise).to(proj.dtype)
    path = tmp_path_factory.mktemp("ckpt") / "demo_other.pt"
    torch.save(state, path)
    return str(path)


def study_file(tmp_path, text: str) -> str:
    path = tmp_path / "my_study.py"
    path.write_text(text)
    return str(path)


def test_a_study_runs_is_interrupted_continues_and_compares_its_runs(
    second_checkpoint, tmp_path, capsys, monkeypatch
):
    study = study_file(
        tmp_path,
        f"runs = dict(method='DemoCLIP', vit_type='DemoCLIP-ViT-T-16',\n"
        f"            pretrained=[None, {second_checkpoint!r}],\n"
        f"            model_type=['SegEarth', 'NACLIP'])\n"
        f"datasets = 'isaid'\n"
        f"flags = dict(data_root={os.path.join(ROOT, 'demo', 'data')!r})\n",
    )
    work, out = tmp_path / "w", tmp_path / "cmp"
    argv = [study, "--work-dir", str(work), "--out", str(out), *FAST]
    real = ovss.evaluate.run_dataset
    computed: list[str] = []

    def ctrl_c_in_the_second_run(cfg, name, *args, **kwargs):
        computed.append(name)
        if len(computed) == 2:
            raise KeyboardInterrupt
        return real(cfg, name, *args, **kwargs)

    monkeypatch.setattr(ovss.evaluate, "run_dataset", ctrl_c_in_the_second_run)
    assert run_study.main(argv) == 130
    assert "interrupted: 1 of 4 runs finished" in capsys.readouterr().err
    state = json.load(open(out / "study.json"))
    first = state["runs"][0]["folder"]
    assert state["runs"][0]["exit"] == 0 and [r["exit"] for r in state["runs"][1:]] == [
        130,
        None,
        None,
    ]
    record = os.path.join(first, "datasets", "iSAIDDataset.json")
    saved = open(record).read()

    def counting(cfg, name, *args, **kwargs):
        computed.append(name)
        return real(cfg, name, *args, **kwargs)

    computed.clear()
    monkeypatch.setattr(ovss.evaluate, "run_dataset", counting)
    assert run_study.main(argv) == 0
    printed = capsys.readouterr().out
    assert computed == ["iSAIDDataset"] * 3  # runs 2-4; run 1 is not computed again
    assert open(record).read() == saved
    assert "iSAID: finished earlier with the same settings, skipped" in printed
    state = json.load(open(out / "study.json"))
    folders = [r["folder"] for r in state["runs"]]
    assert [r["exit"] for r in state["runs"]] == [0, 0, 0, 0] and folders[0] == first
    assert len(set(folders)) == 4
    names = sorted(os.path.basename(f).rsplit("-", 1)[0] for f in folders)
    assert names == ["NACLIP", "default", "demo_other", "demo_other_NACLIP"]
    # one comparison of exactly these four runs
    assert "comparison of 4 run folder(s)" in printed
    md = (out / "comparison.md").read_text()
    for folder in folders:
        assert os.path.basename(folder) in md, folder


def test_dry_run_lists_every_combination_with_its_command(tmp_path, capsys):
    study = study_file(
        tmp_path,
        "runs = [dict(method='FarSLIP1', vit_type=['ViT-B-16', 'ViT-B-32'], "
        "model_type=['SegEarth', 'GEM']),\n"
        "        dict(method='CLIP', vit_type='ViT-B-16', fqg=True, "
        "cfg_options={'model.slide_stride': 56})]\n"
        "datasets = 'loveda,udd5'\nflags = dict(precision='fp16')\n"
        "cfg_options = {'model.logit_scale': 40}\n",
    )
    assert run_study.main([study, "--dry-run", "--work-dir", "W"]) == 0
    lines = capsys.readouterr().out.splitlines()
    commands = [line.split("eval_customized.py ")[1].split() for line in lines if "eval_" in line]
    assert len(commands) == 5
    assert commands[0][:3] == ["--work-dir", "W", "--resume"]
    assert {
        tuple(c[c.index("--vit-type") + 1 : c.index("--vit-type") + 4]) for c in commands[:4]
    } == {
        ("ViT-B-16", "--model-type", "SegEarth"),
        ("ViT-B-16", "--model-type", "GEM"),
        ("ViT-B-32", "--model-type", "SegEarth"),
        ("ViT-B-32", "--model-type", "GEM"),
    }
    last = commands[4]
    assert "--fqg" in last and last[last.index("--precision") + 1] == "fp16"
    assert last[last.index("--cfg-options") + 1 :] == [
        "model.logit_scale=40",
        "model.slide_stride=56",
    ]
    assert all(c[c.index("--datasets") + 1] == "loveda,udd5" for c in commands)


def test_study_mistakes_are_one_line(tmp_path, capsys):
    cases = [
        ("runs = dict(method='CLIP', colour='red')\n", "unknown flag(s) colour"),
        ("run = dict(method='CLIP')\n", "unknown key(s) run"),
        ("runs = dict(method='CLIP'\n", "not a readable study config"),
    ]
    for text, expected in cases:
        assert run_study.main([study_file(tmp_path, text), "--dry-run"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], err
    assert run_study.main([str(tmp_path / "none.py")]) == 2
    assert "no such study file" in capsys.readouterr().err
    assert run_study.main([study_file(tmp_path, "runs = dict()\n"), "--only", "9"]) == 2


def test_the_run_line_is_the_one_the_cli_prints():
    assert run_study.RUN_LINE == run_folder.RUN_LINE


def test_shipped_studies_cover_the_zoo_and_the_nine_attentions():
    args = run_study.parse_args(["x", "--work-dir", "W"])
    path = os.path.join(ROOT, "studies", "farslip_figure.py")
    figure = run_study.study_runs(run_study.load_study(path), path, args)
    pairs = {(r.flags["method"], r.flags["vit_type"]) for r in figure}
    assert len(pairs) == len(figure)  # no run twice
    methods = {m for m, _ in pairs}
    assert methods == {m for m, e in MODEL_ZOO.items() if e.domain in ("general", "remote sensing")}
    for method, vit_type in pairs:
        allowed = MODEL_ZOO[method].vit_types
        assert allowed is None or vit_type in allowed, (method, vit_type)
    assert all(
        r.flags["protocol"] == "farslip" and r.flags["datasets"] == "farslip" for r in figure
    )
    path = os.path.join(ROOT, "studies", "attention_ablation.py")
    ablation = run_study.study_runs(run_study.load_study(path), path, args)
    attentions = ["vanilla", "MaskCLIP", "SCLIP", "ClearCLIP", "SegEarth", "NACLIP", "GAV", "NOnly"]
    assert [r.flags["model_type"] for r in ablation] == [*attentions, "GEM"]
    assert set(attentions) < set(ATTENTIONS) and "GEM" in ATTENTIONS
    assert len({(r.flags["method"], r.flags["vit_type"]) for r in ablation}) == 1


@pytest.mark.parametrize(
    "study,runs,processes",
    [("attention_ablation", "1,2", []), ("farslip_figure", "1", ["--gpus", "1"])],
)
def test_shipped_studies_run_on_the_demo_model(study, runs, processes, tmp_path, capsys):
    """Each on the demo model and one demo dataset: two runs of the ablation (two folders),
    one of the figure as a process, as --gpus runs them (on the CPU here: the flags after --
    win)."""
    path = os.path.join(ROOT, "studies", f"{study}.py")
    out = tmp_path / "cmp"
    argv = [path, "--demo", "--datasets", "isaid", "--only", runs, "--work-dir", str(tmp_path)]
    assert run_study.main([*argv, "--out", str(out), *processes, *FAST]) == 0
    printed = capsys.readouterr().out
    state = json.load(open(out / "study.json"))
    folders = {r["folder"] for r in state["runs"]}
    assert len(state["runs"]) == len(folders) == len(runs.split(","))
    for folder in folders:
        assert os.path.isfile(os.path.join(folder, "datasets", "iSAIDDataset.json"))
        assert f"{os.sep}DemoCLIP-ViT-T-16{os.sep}DemoCLIP{os.sep}" in folder
    assert f"comparison of {len(folders)} run folder(s)" in printed
    assert (out / "comparison.md").is_file()
    if processes:  # each process's output in its log, the run folder read from it
        for run in state["runs"]:
            log = (out / "logs" / f"run{run['run']:02d}.log").read_text()
            assert f"run folder: {run['folder']}" in log and "iSAID: mIoU" in log


def test_the_methods_study_has_each_method_once_on_one_backbone():
    args = run_study.parse_args(["x", "--work-dir", "W"])
    path = os.path.join(ROOT, "studies", "methods.py")
    runs = run_study.study_runs(run_study.load_study(path), path, args)
    backbones = {(r.flags["method"], r.flags["vit_type"]) for r in runs}
    assert backbones == {("CLIP", "ViT-B-16")}
    methods = [
        (r.flags["model_type"], r.flags.get("proxy"), r.flags.get("upsampler")) for r in runs
    ]
    assert len(set(methods)) == len(methods) == 8
    assert {m for m, _, _ in methods} >= {"SC-CLIP", "ResCLIP", "ProxyCLIP", "SegEarth"}
    (full,) = [r for r in runs if r.flags.get("upsampler")]
    assert full.flags["protocol"] == "segearth" and full.flags["model_type"] == "SegEarth"
