"""ovss.settings: settings are read generically from the resolved config and compared."""

from __future__ import annotations

from mmengine.config import Config

from ovss.settings import (
    NOT_COMPARED,
    comparable,
    run_settings,
    settings_line,
    summary_settings,
)

V = {"torch": "x"}


def resolved(**model):
    base = dict(
        type="CustomizedSegmentation",
        name_path="/x/cls.txt",
        model_name="CLIP",
        vit_type="ViT-B-16",
        pretrained="/w.pt",
        model_type="SegEarth",
        prob_thd=0.0,
        bg_idx=0,
        cls_token_lambda=0.0,
        device="cpu",
        precision="fp32",
        text_cache_dir="/cache",
    )
    pipeline = [dict(type="LoadImageFromFile"), dict(type="Resize", scale=(448, 448))]
    return Config(
        dict(
            model={**base, **model},
            protocol="farslip",
            test_dataloader=dict(dataset=dict(pipeline=pipeline)),
        )
    )


def test_every_model_key_is_recorded_but_plumbing():
    s = run_settings(resolved(my_new_knob=7), "sha256:abc", V)
    assert s["my_new_knob"] == 7 and s["model_type"] == "SegEarth" and s["resize"] == [448, 448]
    assert s["fingerprint"] == "sha256:abc" and s["protocol"] == "farslip"
    assert not {"type", "name_path", "text_cache_dir", "model_name"} & set(s)
    assert (s["method"], s["checkpoint"], s["long_clip"]) == ("CLIP", "/w.pt", "auto")
    assert "my_new_knob=7" in settings_line(s) and "method=CLIP" in settings_line(s)


def test_resume_compares_every_setting_that_can_change_a_number():
    a = run_settings(resolved(my_new_knob=7), "sha256:abc", V)
    assert comparable(a) == comparable(run_settings(resolved(my_new_knob=7), "sha256:abc", V))
    assert comparable(a) != comparable(run_settings(resolved(my_new_knob=8), "sha256:abc", V))
    assert comparable(a) != comparable(run_settings(resolved(my_new_knob=7), "sha256:def", V))
    moved = run_settings(
        resolved(my_new_knob=7, device="cuda", pretrained="/b.pt"), "sha256:abc", V
    )
    assert comparable(a) == comparable(moved)  # device and path change no number
    assert {"device", "checkpoint", "versions"} <= NOT_COMPARED


def test_protocol_override_is_visible():
    cfg = resolved(prob_thd=0.2)
    cfg.protocol_overrides = ["prob_thd"]
    assert run_settings(cfg, "x", V)["protocol"] == "farslip (modified: prob_thd)"


def test_summary_splits_common_and_per_dataset():
    records = [
        {"dataset": "A", "settings": {"model_type": "SegEarth", "prob_thd": 0.4, "data_root": "r"}},
        {"dataset": "B", "settings": {"model_type": "SegEarth", "prob_thd": 0.1, "data_root": "r"}},
    ]
    summary = summary_settings(records)
    assert summary["model_type"] == "SegEarth" and "prob_thd" not in summary
    assert summary["datasets"] == {
        "A": {"prob_thd": 0.4, "data_root": "r"},
        "B": {"prob_thd": 0.1, "data_root": "r"},
    }
