"""mmseg's IoUMetric, kept at full precision, with per-class results, label checks and PNGs.

mmseg rounds mIoU to 2 decimals and only logs the per-class table; RS-OVSS reports 4
decimals and writes the per-class IoU/Acc, so ``compute_metrics`` returns them unrounded.
Labels outside the class list (other than the ignore value) are a data error, not silently
dropped by the histogram.
"""

from __future__ import annotations

import mmcv_compat  # noqa: F401  (before mmseg: mmcv-lite has no compiled ops)

import os
from collections.abc import Sequence

import numpy as np
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from PIL import Image

from foundation.errors import DataError


@METRICS.register_module()
class OVSSIoUMetric(IoUMetric):
    """IoUMetric + label-range check + optional prediction PNGs (class indices, uint8).

    ``pred_dir``: write each prediction to ``pred_dir/<image stem>.png``.
    """

    default_prefix = "ovss"

    def __init__(self, pred_dir: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pred_dir = pred_dir
        if pred_dir:
            os.makedirs(pred_dir, exist_ok=True)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta["classes"])
        for sample in data_samples:
            label = sample["gt_sem_seg"]["data"]
            pred_shape = tuple(sample["pred_sem_seg"]["data"].shape[-2:])
            if tuple(label.shape[-2:]) != pred_shape:
                raise DataError(
                    f"{sample['seg_map_path']}: label is {label.shape[-1]}x{label.shape[-2]} "
                    f"but its image {sample['img_path']} is {pred_shape[1]}x{pred_shape[0]} "
                    "(width x height); crop or convert both the same way"
                )
            bad = label[(label != self.ignore_index) & (label >= num_classes)].unique()
            if len(bad):
                raw = bad + 1 if sample.get("reduce_zero_label", False) else bad
                raise DataError(
                    f"{sample['seg_map_path']}: label value(s) {raw.tolist()[:5]} outside the "
                    f"{num_classes} classes (0..{num_classes - 1}, {self.ignore_index} = ignore"
                    f"{', reduce_zero_label' if sample.get('reduce_zero_label') else ''}); fix "
                    "the label file or the class list"
                )
            if self.pred_dir:
                stem = os.path.splitext(os.path.basename(sample["img_path"]))[0]
                pred = sample["pred_sem_seg"]["data"].squeeze().cpu().numpy().astype(np.uint8)
                Image.fromarray(pred).save(os.path.join(self.pred_dir, f"{stem}.png"))
        super().process(data_batch, data_samples)
        # keep the per-image histograms on the CPU: small, and gathered across processes
        self.results[-len(data_samples) :] = [
            tuple(t.cpu() for t in areas) for areas in self.results[-len(data_samples) :]
        ]

    def compute_metrics(self, results: list) -> dict:
        """aAcc, mIoU, mAcc in % (unrounded) and per-class ``IoU``/``Acc`` lists in %."""
        totals = [sum(part) for part in zip(*results, strict=True)]
        intersect, union, pred_area, label_area = totals
        metrics = self.total_area_to_metrics(
            intersect, union, pred_area, label_area, ["mIoU"], self.nan_to_num, self.beta
        )
        iou = np.asarray(metrics["IoU"], dtype=np.float64) * 100
        acc = np.asarray(metrics["Acc"], dtype=np.float64) * 100
        return {
            "aAcc": float(np.asarray(metrics["aAcc"]) * 100),
            "mIoU": float(np.nanmean(iou)),
            "mAcc": float(np.nanmean(acc)),
            "classes": list(self.dataset_meta["classes"]),
            "IoU": [None if np.isnan(x) else float(x) for x in iou],
            "Acc": [None if np.isnan(x) else float(x) for x in acc],
        }
