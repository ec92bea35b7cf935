"""configs/ matches the published layouts, class lists and post-processing (SPEC §8)."""

from __future__ import annotations

import os

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from conftest import ROOT
from ovss.config import DEFAULT_DATASETS, dataset_configs
from ovss.data_check import dataset_layout
from prompts import read_class_file
from references import CLASSES, SEGEARTH
from synthetic import LAYOUTS


def test_every_dataset_has_a_config():
    assert sorted(dataset_configs()) == sorted(DEFAULT_DATASETS) == sorted(LAYOUTS)


@pytest.mark.parametrize("dataset", DEFAULT_DATASETS)
def test_config_matches_spec(dataset):
    cfg = Config.fromfile(dataset_configs()[dataset])
    layout = LAYOUTS[dataset]
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
    assert " / ".join(lines) == CLASSES[dataset]
    post = cfg.segearth_postprocess
    assert (post.prob_thd, post.bg_idx) == SEGEARTH[dataset]


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
