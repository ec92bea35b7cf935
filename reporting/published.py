"""The published numbers as data, each row with the protocol that produced it.

A run is put against a row only when it used that row's weights, backbone, protocol and
data (``reporting/reproduction.py`` applies the rule), so a printed difference is a
reproduction check, never a comparison across settings. Adding a published table is data
here: one ``PublishedProtocol`` and its rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from foundation.datasets import DEFAULT_DATASETS

FARSLIP_SOURCE = (
    "the FarSLIP paper's segmentation table (repository https://github.com/NJU-LHRS/FarSLIP)"
)
SEGEARTH_SOURCE = (
    "SegEarth-OV, Table 1 of arXiv 2410.01768 (the results figure of "
    "https://github.com/likyoo/SegEarth-OV)"
)
# The dense path both protocols share, as recorded in our run settings.
_SHARED = {
    "model_type": "SegEarth",
    "ignore_residual": True,
    "logit_scale": 50,
    "resize": [448, 448],
    "slide_crop": 224,
    "slide_stride": 112,
    "templates": "openai_imagenet_80",
}


@dataclass(frozen=True, eq=False)  # one object per published table: compared by identity
class PublishedProtocol:
    """How a published table was produced, as our runs record it.

    ``settings``: run-level values a run must have; ``per_dataset``: values every dataset
    must have; ``postprocess_key``: the dataset configs' dict (``configs/cfg_*.py``) with
    each dataset's own values (prob_thd, bg_idx, ...), None when ``per_dataset`` says all.
    ``upsampler``: the feature upsampler the table used (the recorded ``upsampler`` setting
    starts with it), None for none. The class files are those of ``configs/``. ``precision``
    is stated next to every difference, not required (a CPU cannot run fp16).
    """

    title: str
    text: str
    source: str
    settings: dict[str, object]
    per_dataset: dict[str, object]
    postprocess_key: str | None
    upsampler: str | None
    precision: str
    decimals: int  # as published


FARSLIP = PublishedProtocol(
    title="FarSLIP table",
    text="FarSLIP protocol: SegEarth attention, ignore_residual, logit scale 50, resize 448, "
    "crop 224 / stride 112, prob_thd 0 and no CLS bias on every dataset, no feature "
    "upsampler, the class files of configs/, input 224, fp16 on CUDA",
    source=FARSLIP_SOURCE,
    settings={"protocol": "farslip", **_SHARED, "cls_token_lambda": 0.0},
    per_dataset={"prob_thd": 0.0},  # bg_idx unused: with prob_thd 0 no pixel is replaced
    postprocess_key=None,
    upsampler=None,
    precision="fp16 (CUDA)",
    decimals=2,
)
SEGEARTH = PublishedProtocol(
    title="SegEarth-OV Table 1",
    text="SegEarth-OV protocol with its SimFeatUp upsampler: SegEarth attention, "
    "ignore_residual, logit scale 50, resize 448, crop 224 / stride 112, CLS bias -0.3, "
    "each dataset's prob_thd/bg_idx (segearth_postprocess of configs/cfg_*.py), the class "
    "files of configs/, OpenAI weights with QuickGELU, fp16 on CUDA",
    source=SEGEARTH_SOURCE,
    # the OpenAI weights as SegEarth-OV's open_clip fork builds them: with QuickGELU (--fqg)
    settings={"protocol": "segearth", **_SHARED, "cls_token_lambda": -0.3, "quick_gelu": True},
    per_dataset={},
    postprocess_key="segearth_postprocess",
    upsampler="simfeatup",
    precision="fp16 (CUDA)",
    decimals=1,
)


@dataclass(frozen=True)
class PublishedRow:
    """One published row: our ``--method`` and ``--vit-type``, mIoU (%) per dataset type."""

    method: str
    vit_type: str
    label: str  # as the publication names it
    miou: dict[str, float]
    mean: float  # as published
    protocol: PublishedProtocol

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(self.miou)


def _rows(
    protocol: PublishedProtocol, vit_type: str, table: dict[str, tuple[float, ...]]
) -> list[PublishedRow]:
    """Rows in the FarSLIP column order (``DEFAULT_DATASETS``), the mean last."""
    labels = {"CLIP": "CLIP (OpenAI)"}
    return [
        PublishedRow(
            method,
            vit_type,
            labels.get(method, method),
            dict(zip(DEFAULT_DATASETS, values[:8], strict=True)),
            values[8],
            protocol,
        )
        for method, values in table.items()
    ]


PUBLISHED: tuple[PublishedRow, ...] = (
    *_rows(
        FARSLIP,
        "ViT-B-16",
        {
            "CLIP": (31.89, 29.62, 42.63, 27.31, 41.54, 39.20, 36.83, 9.24, 32.28),
            "GeoRSCLIP": (35.26, 34.10, 45.52, 23.35, 43.22, 40.57, 39.13, 13.56, 34.34),
            "LRSCLIP": (30.75, 34.61, 43.98, 26.68, 44.24, 37.90, 37.57, 10.11, 33.23),
            "FarSLIP1": (35.89, 33.59, 46.50, 22.34, 44.60, 40.63, 40.23, 19.76, 35.44),
            "FarSLIP2": (34.39, 34.23, 47.48, 22.81, 44.83, 40.82, 40.03, 18.67, 35.41),
        },
    ),
    *_rows(
        FARSLIP,
        "ViT-B-32",
        {
            "CLIP": (24.39, 25.52, 37.13, 25.52, 35.63, 35.05, 28.46, 6.69, 27.30),
            "RemoteCLIP": (18.28, 33.62, 21.44, 21.57, 29.64, 29.19, 17.28, 14.79, 23.23),
            "SkyCLIP": (23.59, 29.45, 40.68, 23.16, 34.94, 30.68, 28.78, 3.03, 26.79),
            "GeoRSCLIP": (32.49, 27.20, 36.30, 22.41, 33.16, 35.22, 29.80, 9.81, 28.30),
            "FarSLIP1": (28.29, 30.04, 36.28, 22.83, 36.80, 37.23, 31.42, 16.09, 29.87),
            "FarSLIP2": (26.66, 30.79, 40.38, 24.33, 36.77, 38.54, 32.82, 13.66, 30.49),
        },
    ),
    PublishedRow(
        "CLIP",
        "ViT-B-16",
        "SegEarth-OV (CLIP + SimFeatUp)",
        {
            "OpenEarthMapDataset": 40.3,
            "LoveDADataset": 36.9,
            "PotsdamDataset": 47.1,
            "ISPRSDataset": 29.1,
            "UDD5Dataset": 50.6,
            "VDDDataset": 45.3,
            "UAVidDataset": 42.5,
            "iSAIDDataset": 21.7,
        },
        39.2,
        SEGEARTH,
    ),
)


def protocols() -> list[PublishedProtocol]:
    """The published tables, in the order of ``PUBLISHED``."""
    return list(dict.fromkeys(r.protocol for r in PUBLISHED))


def rows_of(method: str) -> list[PublishedRow]:
    """The published rows of a ``--method`` (any backbone, any protocol)."""
    return [r for r in PUBLISHED if r.method == method]
