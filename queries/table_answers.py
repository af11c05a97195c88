"""Which row of a table a superlative question asks for: "Which customer gave the lowest
score?", "Which line is furthest below plan?", "Which risk has the highest impact?".

An extractive answer quotes sentences; no sentence of a table says which of its rows
is the largest. The rows as the sheet reader writes them ("Line: Paid media; Planned
GBP: 40000; Variance GBP: -21500") are compared here on the column the question is
about: the one named like it, its numbers (or levels: low, medium, high) read as
numbers; a total row is not a row of the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from retrieval.parsing.sheets import SHEET_TAG

# A superlative and the end of the scale it asks for.
_HIGH = "highest|largest|biggest|greatest|most|maximum|top|longest|latest|furthest above"
_LOW = "lowest|smallest|least|fewest|minimum|bottom|shortest|earliest|furthest below"
_SUPERLATIVE = re.compile(
    rf"\b(?:(?P<high>{_HIGH}|(?:furthest|farthest|most) (?:above|over))"
    rf"|(?P<low>{_LOW}|(?:furthest|farthest|most) (?:below|under)))\b",
    re.I,
)
# "below plan", "over budget": the gap between two columns, which a variance column holds.
_AGAINST_PLAN = re.compile(
    r"\b(?:below|under|over|above|behind|ahead of)\s+(?:the\s+)?"
    r"(?:plan|planned|budget|target|forecast|estimate)",
    re.I,
)
_GAP_COLUMN = re.compile(r"varian|differen|delta|\bgap\b|over\s*/\s*under|\bvs\b", re.I)
_TOTAL = re.compile(r"^(?:grand\s+)?(?:sub)?totals?\b|^sum\b|^overall\b", re.I)
_LEVELS = {
    "very low": 0,
    "low": 1,
    "minor": 1,
    "medium": 2,
    "moderate": 2,
    "high": 3,
    "major": 3,
    "very high": 4,
    "critical": 5,
}
_NUMBER = re.compile(r"^\(?[-+]?\s*[£$€¥]?\s*(\d[\d,]*(?:\.\d+)?)\s*%?\)?$")
_ROW_TAG = re.compile(f"^{SHEET_TAG}")
# Where a row's next cell starts: "; " before a column's name ("; Score: 6"), not a
# semicolon inside a cell ("SSO fails; otherwise strong").
_NEXT_CELL = re.compile(r"; (?=[^:;]{1,60}: )")
MIN_ROWS = 3


def extreme_rows(
    question: str, rows: Sequence[str], vectors: Callable[[list[str]], np.ndarray]
) -> tuple[list[int], list[int]]:
    """The indexes of the rows the question asks for (those tied at the top or the
    bottom of its column), and of all the rows of their table; none when no table of
    at least MIN_ROWS rows is there."""
    asked = _SUPERLATIVE.search(question)
    if asked is None:
        return [], []
    # A table's rows share their sheet and first column; an empty cell is left out
    # of its row, so rows name different sets of columns.
    tables: dict[tuple[str, str], list[tuple[int, dict[str, str]]]] = {}
    for index, row in enumerate(rows):
        cells = _cells(row)
        if cells is not None and not _TOTAL.match(next(iter(cells.values()))):
            tag = _ROW_TAG.match(row)
            key = (tag.group() if tag else "", next(iter(cells)))
            tables.setdefault(key, []).append((index, cells))
    # The table asked about: the one with the column most like what is asked.
    asked_about = [
        (_column_asked(question, columns, vectors), table)
        for table in tables.values()
        if len(table) >= MIN_ROWS and (columns := _comparable_columns(table))
    ]
    if not asked_about:
        return [], []
    (_, column), table = max(asked_about, key=lambda pair: pair[0][0])
    values = {index: _value(cells.get(column, "")) for index, cells in table}
    known = {index: value for index, value in values.items() if value is not None}
    if not known:
        return [], []
    extreme = (max if asked["high"] else min)(known.values())
    rows_asked = [index for index, value in known.items() if value == extreme][:3]
    return rows_asked, [index for index, _ in table]


def _cells(row: str) -> dict[str, str] | None:
    """A row written "Column: value; Column: value" as its cells; None for other lines."""
    pairs = _NEXT_CELL.split(_ROW_TAG.sub("", row))
    cells = {}
    for pair in pairs:
        name, separator, value = pair.partition(": ")
        if not separator or not name.strip() or len(name) > 60:
            return None
        cells[name.strip()] = value.strip()
    return cells if len(cells) >= 2 else None


def _value(text: str) -> float | None:
    level = _LEVELS.get(text.strip().lower())
    if level is not None:
        return float(level)
    found = _NUMBER.match(text.strip())
    if found is None:
        return None
    number = float(found.group(1).replace(",", ""))
    negative = text.strip().startswith(("-", "(")) or "-" in text.split(found.group(1))[0]
    return -number if negative else number


def _comparable_columns(table: list[tuple[int, dict[str, str]]]) -> list[str]:
    """The columns most of whose cells are numbers or levels."""
    named = dict.fromkeys(name for _, cells in table for name in cells)
    return [
        column
        for column in named
        if sum(_value(cells.get(column, "")) is not None for _, cells in table) * 2 > len(table)
    ]


def _column_asked(
    question: str, columns: list[str], vectors: Callable[[list[str]], np.ndarray]
) -> tuple[float, str]:
    """The column the question is about, with how like the question it is: a variance
    column for "below plan", else the one whose name is most like the question (its
    words, then its meaning)."""
    if _AGAINST_PLAN.search(question):
        gaps = [c for c in columns if _GAP_COLUMN.search(c)]
        if gaps:
            return 2.0, gaps[0]
    asked = {w.lower().rstrip("s") for w in re.findall(r"[A-Za-z]{3,}", question)}
    similar = vectors([question, *columns])
    meaning = similar[1:] @ similar[0]

    def likeness(n: int) -> float:
        named = {w.lower().rstrip("s") for w in re.findall(r"[A-Za-z]{3,}", columns[n])}
        return float(meaning[n]) + (0.5 if named & asked else 0.0)

    best = max(range(len(columns)), key=likeness)
    return likeness(best), columns[best]
