"""Plain-text tables: the first ``text_columns`` columns left-aligned, the rest (numbers)
right-aligned, a rule under the header and, with ``total``, one above the last row."""

from __future__ import annotations


def format_table(header: list[str], rows: list[list], text_columns: int = 2, total: bool = True) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) if i < text_columns else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths)))
             for row in [header, *rows]]
    rule = "  ".join("-" * w for w in widths)
    lines.insert(1, rule)
    if total and rows:
        lines.insert(len(lines) - 1, rule)
    return "\n".join(lines)
