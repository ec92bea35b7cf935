"""configs/ matches the published layouts, class lists and post-processing (docs/protocol.md)."""

from __future__ import annotations

import os

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from conftest import ROOT
from foundation.datasets import DEFAULT_DATASETS
from foundation.datasets import select as select_datasets
from ovss.config import dataset_configs, load_config
from ovss.data_check import dataset_layout
from prompts import read_class_file
from references import CLASSES, EXTRA_CLASSES, EXTRA_SEGEARTH, SEGEARTH
from synthetic import EXTRA_LAYOUTS, LAYOUTS

ALL_LAYOUTS = {**LAYOUTS, **EXTRA_LAYOUTS}
ALL_CLASSES = {**CLASSES, **EXTRA_CLASSES}
ALL_SEGEARTH = {**SEGEARTH, **EXTRA_SEGEARTH}


def test_every_dataset_has_a_config():
    """The eight of the FarSLIP table are the default; SegEarth-OV's nine are on request."""
    assert sorted(DEFAULT_DATASETS) == sorted(LAYOUTS)
    assert sorted(dataset_configs()) == sorted(ALL_LAYOUTS)
    assert len(ALL_LAYOUTS) == 17


@pytest.mark.parametrize("dataset", sorted(ALL_LAYOUTS))
def test_config_matches_spec(dataset):
    cfg = Config.fromfile(dataset_configs()[dataset])
    layout = ALL_LAYOUTS[dataset]
    ds_cfg = cfg.test_dataloader.dataset
    assert ds_cfg.data_prefix == dict(img_path=layout.img_dir, seg_map_path=layout.ann_dir)
    init_default_scope("mmseg")
    found = dataset_layout(ds_cfg)
    assert (found.img_suffix, found.seg_suffix) == (layout.img_suffix, layout.ann_suffix)
    assert found.reduce_zero_label is layout.reduce_zero_label
    assert len(found.classes) == layout.num_classes
    cls = DATASETS.get(ds_cfg.type)
    assert cls.__name__ == dataset and len(cls.METAINFO["classes"]) == layout.num_classes
    queries, idx = read_class_file(os.path.join(ROOT, cfg.model.name_path))
    lines = [
        ",".join(q for q, i in zip(queries, idx, strict=True) if i == k)
        for k in range(max(idx) + 1)
    ]
    assert " / ".join(lines) == ALL_CLASSES[dataset]
    post = cfg.segearth_postprocess
    assert (post.prob_thd, post.bg_idx) == ALL_SEGEARTH[dataset]


def test_dataset_groups():
    available = dataset_configs()
    assert select_datasets(None, available) == list(DEFAULT_DATASETS)
    every = select_datasets("segearth-all", available)
    assert every[:8] == list(DEFAULT_DATASETS) and sorted(every) == sorted(ALL_LAYOUTS)
    assert select_datasets("segearth-road,UDD5Dataset", available) == [
        "CHN6CUGDataset",
        "DeepGlobeRoadDataset",
        "MassachusettsRoadDataset",
        "SpaceNetRoadDataset",
        "UDD5Dataset",
    ]
    assert select_datasets("WBSSIDataset,segearth-water", available) == ["WBSSIDataset"]


@pytest.mark.parametrize("dataset,lam", [("xBDDataset", 0.0), ("InriaDataset", -0.3)])
def test_segearth_protocol_cls_bias_per_dataset(dataset, lam):
    """SegEarth-OV ran xBD without the CLS bias (its cls_token_lambda=0), the rest with -0.3."""
    cfg = load_config(
        dataset_configs()[dataset], {"protocol": "segearth", "model.model_name": "CLIP"}
    )
    assert cfg.model.cls_token_lambda == lam
    assert (cfg.model.prob_thd, cfg.model.bg_idx) == EXTRA_SEGEARTH[dataset]


def test_base_config_pipeline_is_the_published_one():
    cfg = Config.fromfile(os.path.join(ROOT, "configs", "base_config.py"))
    assert [t["type"] for t in cfg.test_pipeline] == [
        "LoadImageFromFile",
        "Resize",
        "LoadAnnotations",
        "PackSegInputs",
    ]
    assert cfg.test_pipeline[1] == dict(type="Resize", scale=(448, 448), keep_ratio=True)
    m = cfg.model
    assert (m.model_type, m.ignore_residual, m.logit_scale, m.slide_crop, m.slide_stride) == (
        None,  # the method's published dense path: SegEarth for the OpenCLIP family
        True,
        50,
        224,
        112,
    )
    assert cfg.protocol == "farslip"
