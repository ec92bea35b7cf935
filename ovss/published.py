"""The published numbers (SPEC §10) as data, and the protocol that produced them.

mIoU (%) of the FarSLIP table, input 224. A run of ours is put next to a published row only
when it used that protocol (``mismatches`` says why not otherwise), so the difference it
prints is a reproduction check, not a comparison across settings.
"""

from __future__ import annotations

from dataclasses import dataclass

# The published figure's column names for our dataset types (same order as SPEC §10).
SHORT_NAMES: dict[str, str] = {
    "OpenEarthMapDataset": "OEM",
    "LoveDADataset": "LoveDA",
    "PotsdamDataset": "Potsdam",
    "ISPRSDataset": "Vaihingen",
    "UDD5Dataset": "UDD5",
    "VDDDataset": "VDD",
    "UAVidDataset": "UAVid",
    "iSAIDDataset": "iSAID",
}
DATASETS = tuple(SHORT_NAMES)

# The FarSLIP protocol (SPEC §9) as recorded in our settings: run-level values, then the
# per-dataset ones. bg_idx is not listed: with prob_thd 0 no pixel is ever replaced by it.
PROTOCOL_SETTINGS: dict[str, object] = {
    "protocol": "farslip",
    "model_type": "SegEarth",
    "ignore_residual": True,
    "logit_scale": 50,
    "resize": [448, 448],
    "slide_crop": 224,
    "slide_stride": 112,
    "cls_token_lambda": 0.0,
    "templates": "openai_imagenet_80",
}
PROTOCOL_PER_DATASET: dict[str, object] = {"prob_thd": 0.0}
# Not required for a match (a CPU cannot run fp16), but stated next to every difference.
PUBLISHED_PRECISION = "fp16 (CUDA)"
PROTOCOL_TEXT = (
    "FarSLIP protocol: SegEarth attention, ignore_residual, logit scale 50, resize 448, "
    "crop 224 / stride 112, prob_thd 0 and no CLS bias on every dataset, the class files of "
    "configs/, input 224, fp16 on CUDA"
)


@dataclass(frozen=True)
class PublishedRow:
    """One row of the published table; ``miou`` follows ``DATASETS``."""

    method: str  # our --method name
    vit_type: str
    label: str  # as the figure names it
    miou: tuple[float, ...]
    mean: float


def _rows(vit_type: str, table: dict[str, tuple[float, ...]]) -> list[PublishedRow]:
    labels = {"CLIP": "CLIP (OpenAI)"}
    return [
        PublishedRow(method, vit_type, labels.get(method, method), values[:8], values[8])
        for method, values in table.items()
    ]


PUBLISHED: tuple[PublishedRow, ...] = tuple(
    _rows(
        "ViT-B-16",
        {
            "CLIP": (31.89, 29.62, 42.63, 27.31, 41.54, 39.20, 36.83, 9.24, 32.28),
            "GeoRSCLIP": (35.26, 34.10, 45.52, 23.35, 43.22, 40.57, 39.13, 13.56, 34.34),
            "LRSCLIP": (30.75, 34.61, 43.98, 26.68, 44.24, 37.90, 37.57, 10.11, 33.23),
            "FarSLIP1": (35.89, 33.59, 46.50, 22.34, 44.60, 40.63, 40.23, 19.76, 35.44),
            "FarSLIP2": (34.39, 34.23, 47.48, 22.81, 44.83, 40.82, 40.03, 18.67, 35.41),
        },
    )
    + _rows(
        "ViT-B-32",
        {
            "CLIP": (24.39, 25.52, 37.13, 25.52, 35.63, 35.05, 28.46, 6.69, 27.30),
            "RemoteCLIP": (18.28, 33.62, 21.44, 21.57, 29.64, 29.19, 17.28, 14.79, 23.23),
            "SkyCLIP": (23.59, 29.45, 40.68, 23.16, 34.94, 30.68, 28.78, 3.03, 26.79),
            "GeoRSCLIP": (32.49, 27.20, 36.30, 22.41, 33.16, 35.22, 29.80, 9.81, 28.30),
            "FarSLIP1": (28.29, 30.04, 36.28, 22.83, 36.80, 37.23, 31.42, 16.09, 29.87),
            "FarSLIP2": (26.66, 30.79, 40.38, 24.33, 36.77, 38.54, 32.82, 13.66, 30.49),
        },
    )
)


def find(method: str, vit_type: str) -> PublishedRow | None:
    return next((r for r in PUBLISHED if (r.method, r.vit_type) == (method, vit_type)), None)


def mismatches(
    settings: dict, per_dataset: dict[str, dict], class_files: dict[str, str]
) -> list[str]:
    """Why a run's settings are not the published protocol's ([] when they are).

    ``class_files``: dataset type -> sha256 of the class file the published table used.
    """
    found = []
    for key, want in PROTOCOL_SETTINGS.items():
        if settings.get(key) != want:
            found.append(f"{key}={settings.get(key)} (published: {want})")
    for dataset, values in per_dataset.items():
        for key, want in PROTOCOL_PER_DATASET.items():
            if values.get(key) != want:
                found.append(f"{SHORT_NAMES.get(dataset, dataset)} {key}={values.get(key)}")
        want_sha = class_files.get(dataset)
        if want_sha is not None and values.get("class_file_sha") != want_sha:
            found.append(f"{SHORT_NAMES.get(dataset, dataset)} class file differs from configs/")
    return found
