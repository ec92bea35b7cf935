"""Compare finished runs side by side, as the published figure does, optionally against it.

    .venv/bin/python tools/compare_runs.py work_dir/ [other_work_dir/ or result folders ...] \\
        --with-published --out comparison/

Collects every finished dataset under the given work dirs (or result folders
``<work-dir>/<vit-type>/<method>/``), groups runs into tables that never mix settings that
change a number (``ovss/compare.py``), prints the Markdown and writes the formats asked for
(Markdown, CSV, LaTeX booktabs, PNG heatmap) to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from foundation.errors import ConfigError, UserError  # noqa: E402
from ovss import compare  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="+", metavar="WORK_DIR", help="work dirs or result folders")
    p.add_argument(
        "--with-published",
        action="store_true",
        help="add the published numbers (SPEC §10) and each matching run's difference",
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
        "stating it, instead of separate tables (repeatable; attention, precision, quick_gelu "
        "and long_clip always are)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        formats = [f.strip() for f in args.format.split(",") if f.strip()]
        unknown = [f for f in formats if f not in compare.FORMATS]
        if unknown:
            raise ConfigError(
                f"--format {','.join(unknown)}: choose from {', '.join(compare.FORMATS)}"
            )
        runs = compare.collect_runs(args.paths)
        compare.check_columns(runs, args.column)
        columns = list(dict.fromkeys([*compare.DEFAULT_COLUMNS, *args.column]))
        tables = compare.build_tables(runs, columns, args.with_published)
        print(compare.markdown(tables), end="", flush=True)
        for path in compare.write_outputs(tables, args.out, formats):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
