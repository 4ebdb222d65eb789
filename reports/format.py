"""A report table (raw values + per-column formats) and its Markdown / HTML rendering.

Own tiny formatters rather than ``DataFrame.to_markdown`` so the report needs no ``tabulate`` and
every empty or NaN cell reads "–".
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

EMPTY = "–"  # en dash: the one way an empty, NaN or not-applicable cell reads

Formatter = Callable[[object], str]


def is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in ("", "nan", "NaN")
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fixed(decimals: int) -> Formatter:
    """Fixed decimals: ``fixed(4)(0.01234) == "0.0123"``."""

    def fmt(v) -> str:
        return EMPTY if is_missing(v) else f"{float(v):.{decimals}f}"

    return fmt


def sig(digits: int = 3) -> Formatter:
    """Significant digits without exponent for 1e-4 <= |v| < 1e7, else scientific."""

    def fmt(v) -> str:
        if is_missing(v):
            return EMPTY
        x = float(v)
        if x == 0:
            return "0"
        if not 1e-4 <= abs(x) < 1e7:
            return f"{x:.{digits - 1}e}"
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
        return f"{x:,.{decimals}f}"

    return fmt


def scientific(digits: int = 2) -> Formatter:
    """Always scientific, ``digits`` after the point: 3.14e-06."""

    def fmt(v) -> str:
        if is_missing(v):
            return EMPTY
        return f"{float(v):.{digits}e}"

    return fmt


def integer(v) -> str:
    return EMPTY if is_missing(v) else f"{int(round(float(v))):,}"


def yes_no(v) -> str:
    if is_missing(v):
        return EMPTY
    if isinstance(v, str):
        return {"true": "yes", "false": "no", "1": "yes", "0": "no"}.get(v.strip().lower(), v)
    return "yes" if bool(v) else "no"


def text(v) -> str:
    return EMPTY if is_missing(v) else str(v)


# Formats by unit (metrics.csv `unit`) for the accuracy tables.
UNIT_FORMATS: dict[str, Formatter] = {
    "eV/Å": fixed(4),
    "eV": fixed(4),
    "meV/atom": fixed(2),
    "deg": fixed(2),
}


@dataclass
class Table:
    """A table in the report: raw values in ``frame``, a formatter per column (default: text)."""

    key: str  # stable identifier (tests and anchors)
    title: str
    frame: pd.DataFrame
    formats: dict[str, Formatter] = field(default_factory=dict)
    caption: str = ""
    notes: list[str] = field(default_factory=list)

    def display(self) -> pd.DataFrame:
        """The cells as the report shows them (strings, "–" for empty)."""
        out = pd.DataFrame(index=range(len(self.frame)))
        for col in self.frame.columns:
            fmt = self.formats.get(col, text)
            out[col] = [fmt(v) for v in self.frame[col]]
        return out

    def numeric_columns(self) -> set[str]:
        return {c for c, f in self.formats.items() if f not in (text, yes_no)}

    def to_markdown(self) -> str:
        return markdown_table(self.display(), right=self.numeric_columns())

    def to_html(self) -> str:
        return html_table(self.display(), right=self.numeric_columns())


def markdown_table(cells: pd.DataFrame, right: set[str] = frozenset()) -> str:
    """A GitHub-flavoured Markdown table from a frame of strings (pipes escaped)."""

    def esc(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    flush = [str(c) in right for c in cells.columns]  # right-aligned columns
    cols = [esc(c) for c in cells.columns]
    rows = [[esc(v) for v in r] for r in cells.values]
    widths = [max([len(c), 3, *(len(r[i]) for r in rows)]) for i, c in enumerate(cols)]

    def line(values: list[str]) -> str:
        padded = [
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, flush, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * (w - 1) + ":" if r else "-" * w for r, w in zip(flush, widths, strict=True)]
    return "\n".join([line(cols), "| " + " | ".join(rule) + " |", *map(line, rows)])


def html_table(cells: pd.DataFrame, right: set[str] = frozenset()) -> str:
    """An HTML ``<table>`` from a frame of strings (escaped; numeric columns right-aligned)."""
    cols = [str(c) for c in cells.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for r in cells.values:
        tds = "".join(
            f'<td class="num">{html.escape(str(v))}</td>'
            if c in right
            else f"<td>{html.escape(str(v))}</td>"
            for v, c in zip(r, cols, strict=True)
        )
        body.append(f"<tr>{tds}</tr>")
    return (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody>\n</table>"
    )
