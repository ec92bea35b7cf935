"""Per-class IoU bar charts, one PNG per dataset, written beside the result tables."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from foundation.datasets import display_name  # noqa: E402
from foundation.files import write_atomic  # noqa: E402

from .results import PARTIAL, chart_path, count_text, coverage  # noqa: E402


def save_iou_chart(out_dir: str, record: dict, label: str) -> str:
    """Horizontal bars of each class's IoU (%) with the mIoU as a line; absent classes
    (no prediction, no label: excluded from the mIoU) are marked n/a. The title says which
    dataset, model and settings, and on how many images (marked partial when fewer than the
    protocol's split)."""
    metrics = record["metrics"]
    classes, ious = metrics["classes"], metrics["IoU"]
    height = 1.2 + 0.32 * len(classes)
    fig, ax = plt.subplots(figsize=(7.5, height), dpi=100)
    values = [0.0 if v is None else v for v in ious]
    bars = ax.barh(range(len(classes)), values, color="#4C72B0")
    for bar, value in zip(bars, ious, strict=True):
        text = "n/a" if value is None else f"{value:.1f}"
        ax.text(bar.get_width() + 0.5, bar.get_y() + bar.get_height() / 2, text, va="center")
    ax.axvline(
        metrics["mIoU"], color="#C44E52", linestyle="--", label=f"mIoU {metrics['mIoU']:.2f}"
    )
    ax.set_yticks(range(len(classes)), classes)
    ax.invert_yaxis()
    ax.set_xlim(0, 105)
    ax.set_xlabel("IoU (%)")
    title = chart_title(record, label)
    ax.set_title(title, fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", metadata={"Title": title})  # also readable as text
    plt.close(fig)
    path = chart_path(out_dir, record["dataset"])
    write_atomic(path, png.getvalue())  # like every result file
    return path


def chart_title(record: dict, label: str) -> str:
    """Dataset (display name), model, settings; then the images the number covers."""
    settings = record["settings"]
    partial = (
        f" ({PARTIAL.upper()}: fewer than the protocol's split)" if coverage(record)[2] else ""
    )
    return (
        f"{display_name(record['dataset'])}: {label}, {settings.get('model_type')}, "
        f"{settings.get('protocol')}, {settings.get('precision')}\n"
        f"{count_text(record)} images{partial}"
    )
