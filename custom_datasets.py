"""The RS datasets that mmseg lacks (SPEC §8), registered in mmseg's DATASETS.

LoveDA, Potsdam, Vaihingen (ISPRSDataset) and iSAID are mmseg's own classes. As in mmseg, a
dataset is its METAINFO (class names, drawing palette) and its suffix/label defaults; label
files hold class indices 0..K-1 and 255 is ignored.
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class OpenEarthMapDataset(BaseSegDataset):
    METAINFO = dict(
        classes=(
            "background",
            "bareland",
            "grass",
            "pavement",
            "road",
            "tree",
            "water",
            "cropland",
            "building",
        ),
        palette=[
            [0, 0, 0],
            [128, 0, 0],
            [0, 255, 36],
            [148, 148, 148],
            [255, 255, 255],
            [34, 97, 38],
            [0, 69, 255],
            [75, 181, 73],
            [222, 31, 7],
        ],
    )

    def __init__(self, img_suffix=".tif", seg_map_suffix=".tif", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@DATASETS.register_module()
class UDD5Dataset(BaseSegDataset):
    METAINFO = dict(
        classes=("vegetation", "building", "road", "vehicle", "background"),
        palette=[[107, 142, 35], [102, 102, 156], [128, 64, 128], [0, 0, 142], [0, 0, 0]],
    )

    def __init__(self, img_suffix=".JPG", seg_map_suffix=".png", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@DATASETS.register_module()
class VDDDataset(BaseSegDataset):
    METAINFO = dict(
        classes=("background", "facade", "road", "vegetation", "vehicle", "roof", "water"),
        palette=[
            [0, 0, 0],
            [102, 102, 156],
            [128, 64, 128],
            [107, 142, 35],
            [0, 0, 142],
            [70, 70, 70],
            [28, 42, 168],
        ],
    )

    def __init__(self, img_suffix=".JPG", seg_map_suffix=".png", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@DATASETS.register_module()
class UAVidDataset(BaseSegDataset):
    METAINFO = dict(
        classes=("background", "building", "road", "car", "tree", "vegetation", "human"),
        palette=[
            [0, 0, 0],
            [128, 0, 0],
            [128, 64, 128],
            [192, 0, 192],
            [0, 128, 0],
            [128, 128, 0],
            [64, 64, 0],
        ],
    )

    def __init__(self, img_suffix=".png", seg_map_suffix=".png", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )
