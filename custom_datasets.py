"""The RS datasets that mmseg lacks (docs/protocol.md, and SegEarth-OV's nine single-class
benchmarks), registered in mmseg's DATASETS.

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
    """OpenEarthMap (without xBD), val split: ``OpenEarthMap/{img_dir,ann_dir}/val/*.tif``.

    Labels: single-channel 0 background/unknown (a class here, not ignored), 1 bareland,
    2 rangeland, 3 developed space, 4 road, 5 tree, 6 water, 7 agriculture, 8 building.
    """

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
    """UDD5, val split: ``UDD5/val/src/*.JPG`` + ``UDD5/val/gt/*.png``.

    Labels: single-channel 0 vegetation, 1 building, 2 road, 3 vehicle, 4 other.
    """

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
    """VDD, test split: ``VDD/test/src/*.JPG`` + ``VDD/test/gt/*.png``.

    Labels: single-channel 0 other, 1 wall, 2 road, 3 vegetation, 4 vehicle, 5 roof, 6 water.
    """

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
    """UAVid test sequences in 1280x1080 patches: ``UAVid/{img_dir,ann_dir}/test/*.png``.

    Labels: single-channel 0 clutter, 1 building, 2 road, 3 car (static and moving),
    4 tree, 5 low vegetation, 6 human; 255 (padding) ignored.
    """

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


# SegEarth-OV's nine single-class benchmarks. Each label file holds 0 background / 1 the
# class (the released 0/255 masks converted by tools/prepare_dataset.py); 255 is ignored.


@DATASETS.register_module()
class WHUAerialDataset(BaseSegDataset):
    """WHU Building, aerial imagery (SegEarth-OV's WHU-Aerial), val tiles.

    Images ``WHU-BD/val/image/*.png``;
    labels ``WHU-BD/val/label_cvt/*.png``.
    Labels: 0 background, 1 building (single-channel PNG); 255 ignored.
    """

    METAINFO = dict(classes=("background", "building"), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, img_suffix=".png", seg_map_suffix=".png", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@DATASETS.register_module()
class WHUSatIIDataset(BaseSegDataset):
    """WHU Building, satellite dataset II (East Asia) (SegEarth-OV's WHU-Sat.II), test tiles.

    Images ``WHU-Sat-II/test/image/*.tif``;
    labels ``WHU-Sat-II/test/label_cvt/*.tif`` (SegEarth-OV's suffixes).
    Labels: 0 background, 1 building (single-channel TIFF); 255 ignored.
    """

    METAINFO = dict(classes=("background", "building"), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, img_suffix=".tif", seg_map_suffix=".tif", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@DATASETS.register_module()
class InriaDataset(BaseSegDataset):
    """Inria Aerial Image Labeling, FCtL split_test tiles cut into 1000x1000 patches.

    Images ``Inria/img_dir/split_test/*.png``;
    labels ``Inria/ann_dir/split_test/*.png``.
    Labels: 0 background, 1 building (single-channel PNG); 255 ignored.
    """

    METAINFO = dict(classes=("background", "building"), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, img_suffix=".png", seg_map_suffix=".png", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@DATASETS.register_module()
class xBDDataset(BaseSegDataset):
    """xBD (xView2) test split, pre-disaster images.

    Images ``xBD/test/images_pre/*.png``;
    labels ``xBD/test/targets_cvt_pre/*.png``.
    Labels: 0 background, 1 building (single-channel PNG); 255 ignored.
    """

    METAINFO = dict(classes=("background", "building"), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, img_suffix=".png", seg_map_suffix=".png", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@DATASETS.register_module()
class CHN6CUGDataset(BaseSegDataset):
    """CHN6-CUG roads, val split.

    Images ``CHN6-CUG/val/image_cvt/*.jpg``;
    labels ``CHN6-CUG/val/label_cvt/*.png``.
    Labels: 0 background, 1 road (single-channel PNG); 255 ignored.
    """

    METAINFO = dict(classes=("background", "road"), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, img_suffix=".jpg", seg_map_suffix=".png", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@DATASETS.register_module()
class DeepGlobeRoadDataset(BaseSegDataset):
    """DeepGlobe roads, GlobalRoadSet's 1530 test images.

    Images ``GlobalRoadSet_Val/DeepGlobe_test_1530/image_cvt/*.jpg``;
    labels ``.../label_cvt/*.png``.
    Labels: 0 background, 1 road (single-channel PNG); 255 ignored.
    """

    METAINFO = dict(classes=("background", "road"), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, img_suffix=".jpg", seg_map_suffix=".png", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@DATASETS.register_module()
class MassachusettsRoadDataset(BaseSegDataset):
    """Massachusetts roads, GlobalRoadSet's 49 test images.

    Images ``GlobalRoadSet_Val/Massachusetts_test_49/img/*.jpg``;
    labels ``.../label_cvt/*.png``.
    Labels: 0 background, 1 road (single-channel PNG); 255 ignored.
    """

    METAINFO = dict(classes=("background", "road"), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, img_suffix=".jpg", seg_map_suffix=".png", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@DATASETS.register_module()
class SpaceNetRoadDataset(BaseSegDataset):
    """SpaceNet roads, GlobalRoadSet's 567 test images.

    Images ``GlobalRoadSet_Val/SpaceNet_test_567/img/*.jpg``;
    labels ``.../label_cvt/*.png``.
    Labels: 0 background, 1 road (single-channel PNG); 255 ignored.
    """

    METAINFO = dict(classes=("background", "road"), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, img_suffix=".jpg", seg_map_suffix=".png", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )


@DATASETS.register_module()
class WBSSIDataset(BaseSegDataset):
    """Water Body Segmentation in Satellite Images (SegEarth-OV's WBS-SI), its val list.

    Images ``WBS-SI/Images/*.jpg``;
    labels ``WBS-SI/Masks_cvt/*.png``.
    Labels: 0 background, 1 water (single-channel PNG); 255 ignored.
    """

    METAINFO = dict(classes=("background", "water"), palette=[[0, 0, 0], [0, 235, 255]])

    def __init__(self, img_suffix=".jpg", seg_map_suffix=".png", reduce_zero_label=False, **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs,
        )
