"""Compare finished runs side by side, as the published figure does, optionally against it.

    .venv/bin/python tools/compare_runs.py work_dir/ [other_work_dir/ or run folders ...] \\
        --with-published --out comparison/

Collects every finished dataset of every run folder at any depth below the given paths,
groups runs into tables that never mix settings that change a number (``reporting/``),
prints the Markdown and writes the formats asked for (Markdown, CSV, LaTeX booktabs, PNG
heatmap) to ``--out``. A run is put against a published number only when it is the published
model (the zoo's weights), backbone, protocol and full data; otherwise the published row is
shown beside it with the reason.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from foundation.errors import UserError  # noqa: E402
from reporting import comparison  # noqa: E402
from reporting.runs import collect_runs  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "paths",
        nargs="+",
        metavar="WORK_DIR",
        help="work dirs or run folders; every run folder below them is read",
    )
    p.add_argument(
        "--with-published",
        action="store_true",
        help="add the published numbers (the FarSLIP table, SegEarth-OV's Table 1) and, for "
        "each run of the published model, protocol and full data, its difference",
    )
    p.add_argument(
        "--format",
        default="md,csv,tex,png",
        help="comma list of outputs to write: md, csv, tex, png (default: all)",
    )
    p.add_argument(
        "--out", default="work_dir/comparison", help="folder for the outputs (default: %(default)s)"
    )
    p.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="SETTING",
        help="show runs differing in SETTING (e.g. data_root) in one table, with a column "
        "stating it, instead of separate tables (repeatable; the method (model_type), "
        "precision, quick_gelu and long_clip always are)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        formats = comparison.parse_formats(args.format)
        runs = collect_runs(args.paths)
        tables = comparison.build_tables(runs, args.column, args.with_published)
        print(comparison.markdown(tables), end="", flush=True)
        for path in comparison.write_outputs(tables, args.out, formats):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
