"""One folder per distinct run (ovss.run_folder) through the CLI: runs that differ keep their
own results, the same run is one folder across invocations, --resume computes nothing twice
and reads the earlier layout; partial data and short means are marked; missing datasets are
one line before torch is imported; files follow the umask."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
from PIL import Image

import eval_customized
import ovss.evaluate
from conftest import ROOT, TINY, cli_args
from ovss import run_folder
from synthetic import make_dataset

sys.path.insert(0, os.path.join(ROOT, "tools"))

import compare_runs  # noqa: E402


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """LoveDA (2 of its protocol's 1669 images: partial) and UDD5 (no fixed count)."""
    path = str(tmp_path_factory.mktemp("rf_data"))
    make_dataset(path, "LoveDADataset", count=2, seed=11, sizes=((120, 160),))
    make_dataset(path, "UDD5Dataset", count=2, seed=12, sizes=((100, 130),))
    return path


def method_dir(work, method="CLIP", vit_type=TINY) -> str:
    return os.path.join(str(work), vit_type, method)


def runs_in(work, method="CLIP") -> list[str]:
    folder = method_dir(work, method)
    return sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))


def cli(ckpt, root, work, *extra) -> int:
    return eval_customized.main(cli_args(ckpt, root, work, "--datasets", "udd5", *extra))


def count_computed(monkeypatch) -> list[str]:
    """The datasets the run loop really evaluates (recorded, then done as usual)."""
    seen: list[str] = []
    real = ovss.evaluate.run_dataset

    def counting(cfg, name, *args, **kwargs):
        seen.append(name)
        return real(cfg, name, *args, **kwargs)

    monkeypatch.setattr(ovss.evaluate, "run_dataset", counting)
    return seen


def test_runs_differing_in_one_setting_keep_their_own_folders(
    tiny_checkpoint, root, tmp_path, capsys, monkeypatch
):
    work = tmp_path / "w"
    assert cli(tiny_checkpoint, root, work) == 0
    assert cli(tiny_checkpoint, root, work, "--model-type", "NACLIP") == 0
    assert cli(tiny_checkpoint, root, work, "--cfg-options", "model.slide_stride=56") == 0
    printed = capsys.readouterr().out
    runs = runs_in(work)
    assert len(runs) == 3, runs
    names = {r.rsplit("-", 1)[0] for r in runs}  # <name>-<hash>: the own checkpoint's stem
    assert names == {"tiny16", "tiny16_NACLIP", "tiny16_slide_stride-56"}
    for run in runs:
        folder = os.path.join(method_dir(work), run)
        assert f"run folder: {folder}" in printed  # said at the start and the end
        assert printed.count(f"run folder: {folder}") == 2
        settings = json.load(open(os.path.join(folder, "settings.json")))
        assert os.path.isfile(os.path.join(folder, "datasets", "UDD5Dataset.json"))
        if "NACLIP" in run:
            assert settings["model_type"] == "NACLIP"
        elif "stride" in run:
            assert settings["slide_stride"] == 56
        else:
            assert (settings["model_type"], settings["slide_stride"]) == ("SegEarth", 112)

    # the comparison finds every one of them below the work dir
    assert compare_runs.main([str(work), "--out", str(tmp_path / "cmp"), "--format", "md"]) == 0
    compared = capsys.readouterr().out
    for run in runs:
        assert run in compared, run

    # the same settings again: the same folder, nothing computed with --resume; the hash
    # decides, so a folder renamed by hand (same hash) is still the run's
    computed = count_computed(monkeypatch)
    (naclip,) = [r for r in runs if "NACLIP" in r]
    renamed = "my_naclip-" + naclip.rsplit("-", 1)[1]
    os.rename(os.path.join(method_dir(work), naclip), os.path.join(method_dir(work), renamed))
    assert cli(tiny_checkpoint, root, work, "--model-type", "NACLIP", "--resume") == 0
    assert computed == [] and len(runs_in(work)) == 3 and renamed in runs_in(work)
    printed = capsys.readouterr().out
    assert "UDD5: finished earlier with the same settings, skipped" in printed
    assert f"run folder: {os.path.join(method_dir(work), renamed)}" in printed


def test_invocations_with_the_same_settings_fill_one_folder(tiny_checkpoint, root, tmp_path):
    work = tmp_path / "w"
    args = cli_args(tiny_checkpoint, root, work)
    assert eval_customized.main([*args, "--datasets", "loveda"]) == 0
    assert eval_customized.main([*args, "--datasets", "udd5"]) == 0
    (run,) = runs_in(work)
    folder = os.path.join(method_dir(work), run)
    total = open(os.path.join(folder, "ovss_results_total.txt")).read().splitlines()
    assert total[0] == "LoveDADataset,UDD5Dataset,mean"
    assert total[3] == "# mean over 2 datasets; 1 of them partial (LoveDA)"


def test_resume_takes_results_of_the_earlier_layout(
    tiny_checkpoint, root, tmp_path, capsys, monkeypatch
):
    """Results of ``<work-dir>/<vit>/<method>/datasets/`` (before run folders) are reused by
    --resume when their settings are the same (copied into the run folder), else not."""
    first = tmp_path / "first"
    assert cli(tiny_checkpoint, root, first) == 0
    (run,) = runs_in(first)
    work = tmp_path / "old"
    old = method_dir(work)
    shutil.copytree(os.path.join(method_dir(first), run, "datasets"), os.path.join(old, "datasets"))
    capsys.readouterr()
    computed = count_computed(monkeypatch)
    assert cli(tiny_checkpoint, root, work, "--resume") == 0
    printed = capsys.readouterr().out
    assert computed == []
    assert f"UDD5: finished earlier with the same settings in {old} (copied" in printed
    copied = os.path.join(old, run, "datasets", "UDD5Dataset.json")
    assert json.load(open(copied)) == json.load(
        open(os.path.join(old, "datasets", "UDD5Dataset.json"))
    )
    assert os.path.isfile(os.path.join(old, run, "ovss_results_total.txt"))
    # other settings: the old result is not theirs
    assert cli(tiny_checkpoint, root, work, "--resume", "--model-type", "GAV") == 0
    assert computed == ["UDD5Dataset"]


def test_partial_data_and_an_interrupted_run_are_marked(
    tiny_checkpoint, root, tmp_path, capsys, monkeypatch
):
    """Ctrl-C after LoveDA (2 of its 1669 images) of two requested datasets: every file says
    the numbers cover 1 of 2 datasets and LoveDA is partial."""
    real = ovss.evaluate.run_dataset
    calls = []

    def interrupted_after_one(cfg, name, *args, **kwargs):
        calls.append(name)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(cfg, name, *args, **kwargs)

    monkeypatch.setattr(ovss.evaluate, "run_dataset", interrupted_after_one)
    work = tmp_path / "w"
    argv = cli_args(tiny_checkpoint, root, work, "--datasets", "loveda,udd5")
    assert eval_customized.main(argv) == 130
    captured = capsys.readouterr()
    assert "LoveDA: mIoU " in captured.out and "on 2 of 1669 images, partial" in captured.out
    assert "(1 of 2 requested datasets finished and saved)" in captured.out
    (run,) = runs_in(work)
    folder = os.path.join(method_dir(work), run)
    total = open(os.path.join(folder, "ovss_results_total.txt")).read().splitlines()
    assert (
        total[0] == "LoveDADataset,mean"
        and total[2] == "# images: LoveDADataset 2 of 1669 (partial)"
    )
    assert total[3].startswith("# mean over 1 of 2 requested datasets (not finished: UDD5)")
    payload = json.load(open(os.path.join(folder, "ovss_results.json")))
    assert payload["complete"] is False and payload["requested"] == ["LoveDADataset", "UDD5Dataset"]
    assert payload["datasets"]["LoveDADataset"]["partial"] is True
    md = open(os.path.join(folder, "ovss_results.md")).read()
    assert "## LoveDA (mIoU" in md and "on 2 of 1669 images, partial)" in md
    assert "mean over 1 of 2 requested datasets" in md
    chart = Image.open(os.path.join(folder, "charts", "LoveDADataset.png"))
    assert (
        chart.text["Title"].startswith("LoveDA: ")
        and "2 of 1669 images (PARTIAL" in chart.text["Title"]
    )

    # the rest with --resume: the printed table marks LoveDA partial, the mean covers both
    monkeypatch.setattr(ovss.evaluate, "run_dataset", real)
    assert eval_customized.main([*argv, "--resume"]) == 0
    printed = capsys.readouterr().out
    table = printed[printed.rindex("model ") :]
    assert "partial" in table.splitlines()[1] and "2 of 1669 (partial)" in table
    assert "partial: fewer images than the protocol's split: LoveDA 2 of 1669" in table
    assert "mean over 2 datasets; 1 of them partial (LoveDA)" in table
    total = open(os.path.join(folder, "ovss_results_total.txt")).read().splitlines()
    assert total[3] == "# mean over 2 datasets; 1 of them partial (LoveDA)"


def test_missing_datasets_are_one_line_before_torch_is_imported(tiny_checkpoint, root):
    code = (
        "import sys; sys.path[:0] = [sys.argv[1]]; import eval_customized; "
        "rc = eval_customized.main(sys.argv[2:]); print('torch' in sys.modules, rc)"
    )
    argv = cli_args(tiny_checkpoint, root, "/tmp/unused")  # the default eight datasets
    done = subprocess.run(
        [sys.executable, "-c", code, ROOT, *argv], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["False", "2"], done.stdout + done.stderr
    err = done.stderr.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"error: data root {root}: missing OEM (OpenEarthMap/img_dir/val, ")
    for name in ("Potsdam", "Vaihingen", "VDD", "UAVid", "iSAID"):
        assert f" {name} (" in err[0]
    assert err[0].endswith(
        "present: LoveDA, UDD5; run those with --datasets loveda,udd5, or prepare the rest "
        "with tools/prepare_dataset.py"
    )


# ------------------------------------------------------------------ files follow the umask
def written_files(*folders) -> list[str]:
    return [os.path.join(d, f) for top in folders for d, _, fs in os.walk(top) for f in fs]


@pytest.mark.parametrize("umask,readable", [(0o022, True), (0o077, False)])
def test_every_file_the_cli_writes_follows_the_umask(
    umask, readable, tiny_checkpoint, root, tmp_path
):
    work, pred, show = tmp_path / "w", tmp_path / "pred", tmp_path / "show"
    classes = tmp_path / "cls.txt"  # queries new to this process: the text cache is written
    classes.write_text(
        "".join(f"{n} {umask:o}\n" for n in ("other", "wall", "road", "tree", "car"))
    )
    argv = cli_args(tiny_checkpoint, root, work, "--datasets", "udd5")
    argv += ["--cfg-options", f"model.name_path={classes}"]
    argv += ["--pred-dir", str(pred), "--show-dir", str(show)]
    before = os.umask(umask)
    try:
        assert eval_customized.main(argv) == 0
    finally:
        os.umask(before)
    assert [r.rsplit("-", 1)[0] for r in runs_in(work)] == ["tiny16_classes-cls"]  # named
    files = written_files(work, pred, show)
    kinds = {os.path.splitext(f)[1] for f in files}
    assert {".json", ".txt", ".md", ".csv", ".png", ".pt", ".log"} <= kinds, kinds
    assert any("text_cache" in f for f in files) and any("/logs/" in f for f in files)
    for path in files + [d for top in (work, pred, show) for d, _, _ in os.walk(top)]:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if readable:
            assert mode & 0o044 == 0o044, (oct(mode), path)
        else:
            assert mode & 0o077 == 0, (oct(mode), path)


# ------------------------------------------------------------------ the naming rule
def test_name_parts_are_short_and_safe():
    assert run_folder.name_part("model_type", "NACLIP") == "NACLIP"
    assert run_folder.name_part("protocol", "segearth (modified: prob_thd)") == "segearth"
    assert run_folder.name_part("slide_stride", 56) == "slide_stride-56"
    assert run_folder.name_part("quick_gelu", True) == "quick_gelu"
    assert run_folder.name_part("resize", [448, 448]) == "resize-448x448"
    assert run_folder.safe("a b/c:d*e") == "a_b_c_d_e"


def test_the_hash_covers_what_changes_a_number_and_nothing_else():
    base = {"model_type": "SegEarth", "precision": "fp32", "data_root": ["/d"], "class_files": []}
    assert run_folder.run_hash(base) == run_folder.run_hash(dict(reversed(base.items())))
    for key, value in (("model_type", "NACLIP"), ("data_root", ["/e"]), ("class_files", ["x"])):
        assert run_folder.run_hash({**base, key: value}) != run_folder.run_hash(base)
    assert len(run_folder.run_hash(base)) == run_folder.HASH_LENGTH
