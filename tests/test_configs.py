"""configs/ matches the published layouts, class lists and post-processing (SPEC §8)."""

from __future__ import annotations

import os

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from conftest import ROOT
from custom_datasets import dataset_layout
from eval_customized import DEFAULT_DATASETS, dataset_configs
from prompts import read_class_file
from synthetic import LAYOUTS

CLASSES = {
    "OpenEarthMapDataset": "background / bareland,barren / grass / pavement / road / tree,forest / water,river / cropland / building,roof,house",
    "LoveDADataset": "background / building,roof,house / road / water / barren / forest / agricultural",
    "PotsdamDataset": "road,parking lot / building / low vegetation / tree / car / clutter,background",
    "ISPRSDataset": "impervious surface / building / low vegetation / tree / car / clutter",
    "UDD5Dataset": "vegetation / building / road / vehicle / background",
    "VDDDataset": "background / facade / road / vegetation / vehicle / roof / water",
    "UAVidDataset": "background / building / road / car / tree / vegetation / human",
    "iSAIDDataset": "background / ship / store tank / baseball diamond / tennis court / basketball court / ground track field / bridge / large vehicle / small vehicle / helicopter / swimming pool / roundabout / soccer ball field / plane / harbor",
}
SEGEARTH = {
    "OpenEarthMapDataset": (0.1, 0),
    "LoveDADataset": (0.3, 0),
    "PotsdamDataset": (0.1, 5),
    "ISPRSDataset": (0.1, 5),
    "UDD5Dataset": (0.4, 4),
    "VDDDataset": (0.3, 0),
    "UAVidDataset": (0.3, 0),
    "iSAIDDataset": (0.4, 0),
}


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
        "SegEarth",
        True,
        50,
        224,
        112,
    )
