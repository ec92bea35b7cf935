"""compare_runs.py --with-published: a published number is subtracted only from a run of the
published model (the zoo's weights), backbone, protocol and full data; any other run of that
model is shown beside the nearest published row, not subtracted, with the reason.

Runs are written in the real on-disk format from a record the CLI wrote.
"""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

from foundation.datasets import DATASETS
from references import SEGEARTH
from reporting import published
from test_compare_runs import (
    BESIDE_TITLE,
    DIFF_TITLE,
    EIGHT,
    PUBLISHED_COLUMNS,
    cell,
    cli_template,
    compare_runs,
    make_run,
    md_sections,
)

FARSLIP1_B16 = next(
    r for r in published.PUBLISHED if (r.method, r.vit_type) == ("FarSLIP1", "ViT-B-16")
)
CLIP_B16 = next(
    r
    for r in published.PUBLISHED
    if (r.method, r.vit_type, r.protocol) == ("CLIP", "ViT-B-16", published.FARSLIP)
)
SEGEARTH_OV = next(r for r in published.PUBLISHED if r.protocol is published.SEGEARTH)
OFFSETS = [0.5, -1.25, 2.0, 0.0, -0.3, 1.1, 0.25, -2.5]
SIMFEATUP = "simfeatup sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def template(tiny_checkpoint, data_root, tmp_path_factory):
    return cli_template(tmp_path_factory, tiny_checkpoint, data_root)


def shifted(row, offsets=OFFSETS):
    return dict(zip(EIGHT, np.add([row.miou[d] for d in EIGHT], offsets), strict=True))


def compare(capsys, tmp_path, *paths):
    """The tool with --with-published: (Markdown sections, CSV rows by kind)."""
    out = str(tmp_path / "out")
    argv = [*map(str, paths), "--with-published", "--out", out, "--format", "md,csv"]
    assert compare_runs.main(argv) == 0
    kinds = {}
    for r in csv.DictReader(open(os.path.join(out, "comparison.csv"))):
        kinds.setdefault(r["kind"], []).append(r)
    return md_sections(capsys.readouterr().out), kinds


def beside(kinds, folder):
    """(our row, the published row under it) of a run folder in the beside table (CSV)."""
    rows = kinds["beside"]
    i = next(i for i, r in enumerate(rows) if r["folder"] == folder)
    assert rows[i]["row"] == "ours"
    return rows[i], rows[i + 1]


def test_published_model_full_data_gets_the_difference_others_the_reason(
    template, tmp_path, capsys
):
    w = tmp_path / "w"
    values = shifted(FARSLIP1_B16)
    zoo = make_run(w, template, "FarSLIP1", "ViT-B-16", values, run="zoo")
    own = make_run(w, template, "FarSLIP1", "ViT-B-16", values, run="own", weights="own")
    partial = make_run(
        w,
        template,
        "FarSLIP1",
        "ViT-B-16",
        values,
        run="partial",
        num_images=lambda d: 3 if d == "LoveDADataset" else DATASETS[d].images or 3,
    )
    # records written before the 'weights' setting: the checkpoint's name (or hub tag) decides
    hub = make_run(
        w, template, "CLIP", "ViT-B-16", shifted(CLIP_B16), weights=None,
        checkpoint="openai (hub tag)",
    )  # fmt: skip
    old_own = make_run(
        w, template, "GeoRSCLIP", "ViT-B-32", {"UDD5Dataset": 30.0}, weights=None,
        checkpoint="/data/my_finetune.pt",
    )  # fmt: skip
    old_zoo = make_run(
        w, template, "RemoteCLIP", "ViT-B-32", {"VDDDataset": 20.0}, weights=None,
        checkpoint="/somewhere/RemoteCLIP-ViT-B-32.pt",
    )  # fmt: skip
    sections, kinds = compare(capsys, tmp_path, w)

    notes, (header, rows), _ = sections[DIFF_TITLE]
    assert header == [
        "table", "backbone", "model", "precision", "weights", "published", *PUBLISHED_COLUMNS,
        "mean",
    ]  # fmt: skip
    assert [(r[1], r[2], r[5]) for r in rows] == [
        ("ViT-B-16", "CLIP", "FarSLIP table"),
        ("ViT-B-16", "FarSLIP1", "FarSLIP table"),
        ("ViT-B-32", "RemoteCLIP", "FarSLIP table"),
    ]
    for row, ref in zip(rows[:2], (CLIP_B16, FARSLIP1_B16), strict=True):
        assert row[6:14] == [f"{o:+.2f}" for o in OFFSETS]
        ours = np.mean([ref.miou[d] + o for d, o in zip(EIGHT, OFFSETS, strict=True)])
        assert row[14] == f"{ours - ref.mean:+.2f}"
    remote = next(r for r in published.PUBLISHED if r.method == "RemoteCLIP")
    assert rows[2][6:15] == ["–"] * 5 + [f"{20 - remote.miou['VDDDataset']:+.2f}"] + ["–"] * 3
    assert "image count not fixed by the protocol (not checked): OEM, UDD5, UAVid" in notes
    assert [r["folder"] for r in kinds["difference"]] == [hub, zoo, old_zoo]
    assert [r["OEM"] for r in kinds["difference"]] == ["+0.5000", "+0.5000", ""]

    assert {r["folder"] for r in kinds["beside"] if r["row"] == "ours"} == {own, partial, old_own}
    for folder, reason in (
        (own, "your weights (--pretrained)"),
        (partial, "3 of 1669 LoveDA images"),
        (old_own, "your weights (my_finetune.pt; the zoo's: RS5M_ViT-B-32.pt)"),
    ):
        ours, ref = beside(kinds, folder)
        assert ours["reason"] == reason
        assert ref["row"] == "published: FarSLIP table" and ref["reason"] == ""
    # beside, not subtracted: our numbers and the published ones as they are
    ours, ref = beside(kinds, own)
    names = [n for n in PUBLISHED_COLUMNS]
    assert [float(ours[n]) for n in names] == pytest.approx([values[d] for d in EIGHT])
    assert [float(ref[n]) for n in [*names, "mean"]] == [
        *(FARSLIP1_B16.miou[d] for d in EIGHT),
        FARSLIP1_B16.mean,
    ]
    ours, _ = beside(kinds, partial)
    assert ours["partial"] == "LoveDA 3/1669; mean"
    _, (header, rows), _ = sections[BESIDE_TITLE]
    marked = [r for r in rows if any("partial" in c for c in r)]
    assert len(marked) == 1 and cell(marked[0][header.index("LoveDA")])[2] == "partial 3/1669"
    assert cell(marked[0][header.index("mean")])[2] == "partial"


def test_segearth_ov_row_only_with_simfeatup_and_the_segearth_protocol(template, tmp_path, capsys):
    segearth = dict(
        protocol="segearth",
        cls_token_lambda=-0.3,
        quick_gelu=True,
        prob_thd=lambda d: SEGEARTH[d][0],
        bg_idx=lambda d: SEGEARTH[d][1],
    )
    values = shifted(SEGEARTH_OV)
    w = tmp_path / "w"
    full = make_run(
        w, template, "CLIP", "ViT-B-16", values, run="full", upsampler=SIMFEATUP, **segearth
    )
    bare = make_run(w, template, "CLIP", "ViT-B-16", values, run="bare", **segearth)
    farslip = make_run(w, template, "CLIP", "ViT-B-16", values, run="farslip", upsampler=SIMFEATUP)
    thd = make_run(
        w, template, "CLIP", "ViT-B-16", values, run="thd", upsampler=SIMFEATUP,
        **{**segearth, "prob_thd": 0.0},
    )  # fmt: skip
    gelu = make_run(
        w, template, "CLIP", "ViT-B-16", values, run="gelu", upsampler=SIMFEATUP,
        **{**segearth, "quick_gelu": False},
    )  # fmt: skip
    sections, kinds = compare(capsys, tmp_path, w)

    _, (_, rows), _ = sections[DIFF_TITLE]
    assert [r["folder"] for r in kinds["difference"]] == [full]
    ours, _ = beside(kinds, gelu)  # the OpenAI weights built without QuickGELU
    assert "quick_gelu" in ours["reason"]
    assert rows[0][5] == "SegEarth-OV Table 1"
    assert rows[0][6:14] == [f"{o:+.2f}" for o in OFFSETS]
    assert rows[0][14] == f"{np.mean(list(values.values())) - SEGEARTH_OV.mean:+.2f}"

    ours, ref = beside(kinds, bare)  # no upsampler: SegEarth-OV's row, beside
    assert ours["reason"] == "other protocol: upsampler=– (published: simfeatup)"
    assert ref["row"] == "published: SegEarth-OV Table 1" and ref["UDD5"] == "50.6000"
    ours, ref = beside(kinds, farslip)  # an upsampler is not the FarSLIP table's protocol
    assert ref["row"] == "published: FarSLIP table"
    assert ours["reason"] == f"other protocol: upsampler={SIMFEATUP[:29]} (published: none)"
    ours, ref = beside(kinds, thd)  # not SegEarth-OV's per-dataset thresholds
    assert ref["row"] == "published: SegEarth-OV Table 1"
    wrong = [d for d, (t, _) in SEGEARTH.items() if t != 0.0]
    assert ours["reason"] == "other protocol: " + "; ".join(
        f"{DATASETS[d].short} prob_thd=0.0 (published: {SEGEARTH[d][0]})" for d in wrong
    )


def test_runs_of_other_models_are_not_compared(template, tmp_path, capsys):
    w = tmp_path / "w"
    make_run(w, template, "DemoCLIP", "DemoCLIP-ViT-T-16", {"UDD5Dataset": 30.0})
    sections, kinds = compare(capsys, tmp_path, w)
    assert DIFF_TITLE not in sections and BESIDE_TITLE not in sections
    notes = sections["Published: FarSLIP table (reference)"][0]
    assert (
        "no run is of a model with a published row (on its datasets): nothing to compare" in notes
    )

    other = make_run(w, template, "FarSLIP2", "ViT-L-14", {"UDD5Dataset": 30.0}, weights="own")
    sections, kinds = compare(capsys, tmp_path, w)
    ours, ref = beside(kinds, other)
    assert ours["reason"] == "your weights (--pretrained); vit-type ViT-L-14 (published: ViT-B-16)"
    assert (ref["backbone"], ref["model"]) == ("ViT-B-16", "FarSLIP2")
