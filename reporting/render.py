"""Tables -> Markdown, CSV and LaTeX text (the heatmap is ``reporting/heatmap.py``).

Every format carries the same facts: the values at the table's decimals (the CSV at 4), the
best of each column, and the partial marks (a number over fewer images than the protocol's
split, and a mean over such a number).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from .runs import dataset_order
from .tables import MEAN, MISSING, Row, Table, column_name, decimals_of

GENERAL_NOTES = (
    "mIoU (%). Mean: over all datasets of its table, and only for a run that has every one of "
    f"them; a missing dataset shows {MISSING} and leaves the mean empty. Bold: best of its "
    "column within the table (at the decimals shown). Runs whose number-changing settings "
    "differ are in separate tables (each states its settings) or differ in a column. "
    "'partial N/M': the number covers N of the protocol's M images (†, and the 'partial' "
    "column of the CSV); a mean over such a number is marked partial too."
)
DAGGER = "†"


def fmt(value: float | None, signed: bool, decimals: int) -> str:
    if value is None:
        return MISSING
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def markdown(tables: Sequence[Table]) -> str:
    lines = ["# RS-OVSS: runs compared (mIoU %)", "", GENERAL_NOTES]
    for t in tables:
        lines += ["", f"## {t.title}", ""]
        lines += [f"{note}  " for note in t.notes[:-1]] + t.notes[-1:] + [""]
        header = [*t.label_keys, *(column_name(c) for c in t.columns)]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(t.label_keys) + "---:|" * len(t.columns))
        for r in t.rows:
            cells = [r.fields[k] for k in t.label_keys]
            for c in t.columns:
                value = fmt(r.values.get(c), t.signed, decimals_of(t, r))
                value = f"**{value}**" if c in r.best else value
                cells.append(f"{value} ({r.partial[c]})" if c in r.partial else value)
            lines.append("| " + " | ".join(cells) + " |")
        if t.details:
            datasets = [c for c in t.columns if c != MEAN]
            lines += ["", "Per-dataset settings:", ""]
            lines.append("| setting | " + " | ".join(column_name(d) for d in datasets) + " |")
            lines.append("|---|" + "---|" * len(datasets))
            lines += [f"| {k} | " + " | ".join(v) + " |" for k, v in t.details]
        if t.kind == "runs":
            lines += ["", "Result folders:", ""]
            for r in t.rows:
                f = r.fields
                shown = ", ".join(f"{k} {f[k]}" for k in t.label_keys[3:])
                lines.append(
                    f"- {f['model']} {f['backbone']} ({shown}): `{f['folder']}`, "
                    f"checkpoint `{f['checkpoint']}`"
                )
    return "\n".join(lines) + "\n"


def _partial_cell(t: Table, r: Row) -> str:
    return "; ".join(
        f"{column_name(c)} {r.partial[c].removeprefix('partial').strip()}".strip()
        for c in t.columns
        if c in r.partial
    )


def csv_text(tables: Sequence[Table]) -> str:
    """One line per row of every table: its identity, where it came from, 4 decimals; the
    ``partial`` column names the partial values (e.g. ``LoveDA 3/1669; mean``)."""
    fields: dict[str, None] = {}
    datasets: dict[str, None] = {}
    for t in tables:
        fields.update(dict.fromkeys(k for r in t.rows for k in r.fields))
        datasets.update(dict.fromkeys(c for c in t.columns if c != MEAN))
    ordered = sorted(datasets, key=dataset_order)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        ["table", "kind", *(f for f in fields if f != "table"), *map(column_name, ordered)]
        + [MEAN, "best", "partial", "settings"]
    )
    for number, t in enumerate(tables, 1):
        for r in t.rows:
            values = [
                "" if r.values.get(c) is None else fmt(r.values[c], t.signed, 4)
                for c in (*ordered, MEAN)
            ]
            best = ";".join(column_name(c) for c in t.columns if c in r.best)
            writer.writerow(
                [r.fields.get("table", str(number)), t.kind]
                + [r.fields.get(f, "") for f in fields if f != "table"]
                + values
                + [best, _partial_cell(t, r), t.settings]
            )
    return buf.getvalue()


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "–": "--",
    "§": r"\S{}",
    DAGGER: r"$^\dagger$",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex(tables: Sequence[Table]) -> str:
    """One booktabs ``table`` per table (needs ``\\usepackage{booktabs}``); a partial value
    carries a dagger, explained in the caption."""
    out = [
        "% RS-OVSS runs compared (mIoU %), written by tools/compare_runs.py",
        "% needs \\usepackage{booktabs}",
    ]
    for t in tables:
        spec = "l" * len(t.label_keys) + "r" * len(t.columns)
        notes = list(t.notes)
        if any(r.partial for r in t.rows):
            notes.append(f"{DAGGER} partial: fewer images than the protocol's split")
        caption = latex_escape(f"{t.title}. " + "; ".join(notes))
        header = [*t.label_keys, *(column_name(c) for c in t.columns)]
        out += [
            "",
            r"\begin{table}[htbp]",
            r"\centering",
            r"\footnotesize",
            rf"\caption{{{caption}}}",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            " & ".join(latex_escape(h) for h in header) + r" \\",
            r"\midrule",
        ]
        previous: Row | None = None
        for r in t.rows:
            if previous is not None and previous.group != r.group:
                out.append(r"\midrule")
            cells = []
            for k in t.label_keys:
                repeated = previous is not None and k in ("domain", "backbone")
                same = repeated and (
                    previous.group[0] == r.group[0] if k == "domain" else previous.group == r.group
                )
                cells.append("" if same else latex_escape(r.fields[k]))
            for c in t.columns:
                value = latex_escape(fmt(r.values.get(c), t.signed, decimals_of(t, r)))
                if t.signed:  # a typeset sign, not a hyphen
                    value = re.sub(r"^([+-])(?=\d)", r"$\1$", value)
                value = rf"\textbf{{{value}}}" if c in r.best else value
                cells.append(value + (r"$^\dagger$" if c in r.partial else ""))
            out.append(" & ".join(cells) + r" \\")
            previous = r
        out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"
