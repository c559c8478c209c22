"""Plain-text tables and CSV files for answers."""

from __future__ import annotations

import csv
from pathlib import Path


def _cell(value) -> str:
    return "NULL" if value is None else str(value)


def format_table(title: str, columns, rows) -> str:
    """A readable fixed-width table with a title line and a row count; numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    numeric = [all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool) for row in rows if row[i] is not None)
               and any(row[i] is not None for row in rows) for i in range(len(columns))]

    def line(values, align_numbers):
        parts = []
        for i, text in enumerate(values):
            parts.append(text.rjust(widths[i]) if align_numbers and numeric[i] else text.ljust(widths[i]))
        return "| " + " | ".join(parts) + " |"

    rule = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    out = [title, rule, line(list(columns), False), rule]
    out.extend(line(row, True) for row in cells)
    out.append(rule)
    out.append("(%d row%s)" % (len(rows), "" if len(rows) == 1 else "s"))
    return "\n".join(out)


def write_csv(path: Path, columns, rows) -> None:
    """A CSV file with a header; NULL is written as an empty field."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
