"""Tables -> one PNG heatmap, a panel per table, on fixed colour scales with a colour bar.

mIoU is always coloured on 0-100 % (so 9.04 and 8.99 look alike, as they are) and
differences (ours - published) on -10..+10 points centred on 0 (larger ones saturate); each
panel has a colour bar with its unit above it. Row labels leave out the domain (rules
separate the groups) and the beside table's reasons (in the Markdown/CSV/LaTeX). Cells show
the values as the Markdown does, a partial one with a dagger.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from foundation.files import write_atomic

from .render import DAGGER, fmt
from .tables import Table, column_name, decimals_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Layout, in pixels at HEATMAP_DPI: a label margin, one cell per value column, one cell row
# per table row, a colour bar to the right; each panel has a title band above its cells.
HEATMAP_DPI = 100
LABEL_PX, CELL_W_PX, CELL_H_PX = 420, 80, 28
TITLE_PX, GAP_PX, MARGIN_PX = 60, 30, 20
BAR_GAP_PX, BAR_W_PX, BAR_LABEL_PX = 15, 15, 60  # colour bar: gap, bar, its tick labels
MIOU_RANGE = (0.0, 100.0)
DIFF_SPAN = 10.0  # differences: -10..+10 mIoU points
MISSING_COLOUR = "#d9d9d9"
UNLABELLED = ("domain", "reason")  # row label fields left out (the rules show domains)


@dataclass(frozen=True)
class Panel:
    """Where one table is drawn, as (left, top, right, bottom) pixel boxes of the PNG."""

    cells: tuple[int, int, int, int]
    bar: tuple[int, int, int, int]


def colour_scale(table: Table) -> tuple[str, float, float, str]:
    """(colour map, lowest, highest, colour bar label) of a table's panel: fixed, never
    stretched to the values shown."""
    if table.signed:
        return "RdBu", -DIFF_SPAN, DIFF_SPAN, "Δ mIoU (points)"
    return "viridis", *MIOU_RANGE, "mIoU (%)"


def heatmap_layout(tables: Sequence[Table]) -> tuple[int, int, list[Panel]]:
    """(width, height, a Panel per table) of the PNG ``heatmap`` writes."""
    width = (
        LABEL_PX
        + CELL_W_PX * max(len(t.columns) for t in tables)
        + BAR_GAP_PX
        + BAR_W_PX
        + BAR_LABEL_PX
        + MARGIN_PX
    )
    panels, top = [], MARGIN_PX
    for t in tables:
        cells_top = top + TITLE_PX
        bottom = cells_top + CELL_H_PX * len(t.rows)
        right = LABEL_PX + CELL_W_PX * len(t.columns)
        bar_left = right + BAR_GAP_PX
        bar = (bar_left, cells_top - TITLE_PX // 2, bar_left + BAR_W_PX, bottom)
        panels.append(Panel((LABEL_PX, cells_top, right, bottom), bar))
        top = bottom + GAP_PX
    return width, top - GAP_PX + MARGIN_PX, panels


def heatmap_size(tables: Sequence[Table]) -> tuple[int, int]:
    """(width, height) in pixels of the PNG ``heatmap`` writes for these tables."""
    width, height, _ = heatmap_layout(tables)
    return width, height


def heatmap(tables: Sequence[Table], path: str) -> None:
    """Write the PNG to ``path`` (atomically, following the umask)."""
    buf = io.BytesIO()
    heatmap_figure(tables).savefig(buf, format="png", dpi=HEATMAP_DPI)
    write_atomic(path, buf.getvalue())


def heatmap_figure(tables: Sequence[Table]) -> Figure:
    """The drawn matplotlib Figure (Agg canvas): per table a cells axes, then its colour
    bar axes."""
    # lazy: matplotlib (Figure + Agg) takes ~0.5 s to import (measured on this 2-core machine),
    # paid only when a PNG is asked for, not by every compare_runs.py call or --help.
    import matplotlib
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    width, height, panels = heatmap_layout(tables)
    fig = Figure(figsize=(width / HEATMAP_DPI, height / HEATMAP_DPI), dpi=HEATMAP_DPI)
    FigureCanvasAgg(fig)

    def box(left: int, top: int, right: int, bottom: int) -> tuple[float, ...]:
        return (left / width, 1 - bottom / height, (right - left) / width, (bottom - top) / height)

    for t, panel in zip(tables, panels, strict=True):
        n_rows, n_cols = len(t.rows), len(t.columns)
        ax = fig.add_axes(box(*panel.cells))
        data = np.array(
            [
                [np.nan if r.values.get(c) is None else r.values[c] for c in t.columns]
                for r in t.rows
            ],
            dtype=float,
        ).reshape(n_rows, n_cols)
        name, low, high, label = colour_scale(t)
        colours = matplotlib.colormaps[name].with_extremes(bad=MISSING_COLOUR)
        norm = Normalize(low, high, clip=True)
        ax.imshow(np.ma.masked_invalid(data), cmap=colours, norm=norm, aspect="auto")
        for i, r in enumerate(t.rows):
            for j, c in enumerate(t.columns):
                red, green, blue, _ = (
                    colours(norm(data[i, j])) if np.isfinite(data[i, j]) else (1,) * 4
                )
                value = fmt(r.values.get(c), t.signed, decimals_of(t, r))
                ax.text(
                    j,
                    i,
                    value + (DAGGER if c in r.partial else ""),
                    ha="center",
                    va="center",
                    fontsize=8,
                    fontweight="bold" if c in r.best else "normal",
                    color="black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white",
                )
        for i in range(1, n_rows):  # a rule between (domain, backbone) groups
            if t.rows[i].group != t.rows[i - 1].group:
                ax.axhline(i - 0.5, color="white", linewidth=3)
        labels = [
            " | ".join(r.fields[k] for k in t.label_keys if k not in UNLABELLED and r.fields[k])
            for r in t.rows
        ]
        ax.set_yticks(range(n_rows), [text[:84] for text in labels], fontsize=7)
        ax.set_xticks(range(n_cols), [column_name(c) for c in t.columns], fontsize=8)
        ax.xaxis.tick_top()
        partial = f" ({DAGGER} partial: fewer images than the protocol's split)"
        title = t.title + (partial if any(r.partial for r in t.rows) else "")
        ax.set_title(title, fontsize=9, loc="left", pad=18)
        bar = fig.colorbar(
            ScalarMappable(norm, colours),
            cax=fig.add_axes(box(*panel.bar)),
            extend="both" if t.signed else "neither",
        )
        bar.set_ticks([low, (low + high) / 2, high])
        bar.ax.tick_params(labelsize=6)
        bar.ax.set_title(label, fontsize=7, loc="left", pad=4)  # above: fits a 1-row panel
    return fig
