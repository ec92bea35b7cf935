"""The comparison in one call: runs -> tables -> the files asked for.

``tools/compare_runs.py`` gives the runs found below work dirs (``runs.collect_runs``); a
study gives exactly its own run folders (``runs.read_runs``). Both end here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from foundation.errors import ConfigError
from foundation.files import write_atomic

from .heatmap import heatmap
from .render import csv_text, latex, markdown
from .reproduction import reproduction_tables
from .runs import Run, read_runs
from .tables import DEFAULT_COLUMNS, Table, check_columns, run_tables

FORMATS = {
    "md": "comparison.md",
    "csv": "comparison.csv",
    "tex": "comparison.tex",
    "png": "comparison.png",
}
TEXT_FORMATS = {"md": markdown, "csv": csv_text, "tex": latex}


def parse_formats(value: str) -> list[str]:
    """A ``--format`` comma list -> format names; an unknown one is one error line."""
    formats = [f.strip() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ConfigError(f"--format {','.join(unknown)}: choose from {', '.join(FORMATS)}")
    return formats


def build_tables(
    runs: Sequence[Run], columns: Sequence[str] = (), with_published: bool = False
) -> list[Table]:
    """Our tables (biggest first), then, with ``with_published``, the published tables, the
    differences of the runs that reproduce a published row and the runs beside one.
    ``columns``: settings shown as a column instead of splitting tables (beside the
    defaults: method i.e. model_type, precision, QuickGELU, LongCLIP); each must be recorded."""
    check_columns(runs, columns)
    groups, tables = run_tables(runs, list(dict.fromkeys([*DEFAULT_COLUMNS, *columns])))
    return tables + (reproduction_tables(groups) if with_published else [])


def write_outputs(tables: Sequence[Table], out_dir: str, formats: Sequence[str]) -> list[str]:
    """Write the chosen formats to ``out_dir`` (atomically); returns the paths written."""
    written = []
    for fmt in formats:
        path = os.path.join(out_dir, FORMATS[fmt])
        if fmt == "png":
            heatmap(tables, path)
        else:
            write_atomic(path, TEXT_FORMATS[fmt](tables))
        written.append(path)
    return written


def write_comparison(
    folders: Sequence[str],
    out_dir: str,
    formats: Sequence[str] = tuple(FORMATS),
    columns: Sequence[str] = (),
    with_published: bool = False,
) -> tuple[str, list[str]]:
    """The comparison of exactly these run folders: (the Markdown, the paths written)."""
    tables = build_tables(read_runs(folders), columns, with_published)
    return markdown(tables), write_outputs(tables, out_dir, formats)
