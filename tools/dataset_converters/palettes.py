"""The colours of colour-coded labels, from the registered datasets' palettes.

A released colour label (ISPRS, iSAID, UAVid, UDD5/VDD where released in colour) is drawn in
the same colours as the dataset's registered palette (``METAINFO['palette']`` of mmseg's
classes and of ``custom_datasets.py``), so the converters read their colour tables from there
instead of restating them. Where a release has colours the palette lacks (UAVid's moving car,
VDD's second water colour), the converter adds them in one line of its own.
"""

from __future__ import annotations

import functools

RGB = tuple[int, int, int]


@functools.cache
def registered_palette(dataset_type: str) -> tuple[RGB, ...]:
    """The palette of a registered dataset type: colour k draws label value k."""
    # lazy: the registry needs mmseg and custom_datasets (4.2 s to import, measured on this
    # machine); only a conversion reads palettes, and `prepare_dataset.py --help` and `list`
    # must stay well under a second.
    import mmcv_compat  # noqa: F401  (before mmseg)

    from mmseg.registry import DATASETS

    import custom_datasets  # noqa: F401  (registers the datasets mmseg lacks)

    return tuple(tuple(int(v) for v in c) for c in DATASETS.get(dataset_type).METAINFO["palette"])


def colour_table(dataset_type: str, first: int = 0) -> dict[RGB, int]:
    """RGB -> label value: the palette's colour k is value ``first + k`` (1 for the ISPRS
    labels, whose 0 is the ignored 'no colour' value of reduce_zero_label)."""
    return {rgb: first + k for k, rgb in enumerate(registered_palette(dataset_type))}
