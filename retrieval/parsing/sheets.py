"""Spreadsheets (Excel .xlsx and .xls, CSV): each row a line that names its columns,
a cell's note after its value.

A row read alone (as one passage of a long sheet is) still says what each
value is: "[Risks] Risk: Beta NPS below 40; Likelihood: Low; Impact: Medium".
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from itertools import zip_longest
from typing import Any

from retrieval.errors import IngestionError
from retrieval.parsing.segments import ParsedDocument, Segment
from retrieval.parsing.text import decode_text

# A sheet is read up to this many rows and columns; beyond, a line says so.
MAX_SHEET_ROWS = 5000
MAX_SHEET_COLUMNS = 50

logger = logging.getLogger(__name__)

# How sheet_lines marks what is not a cell's value: a row's sheet ("[Risks] ") and
# the line that names a table's columns ("Columns: Risk, Impact, Owner"). Readers of
# the text (entities, the local model) tell rows and column names apart by them.
SHEET_TAG = r"\[[^\]\n]+\] "
COLUMNS = "Columns"


def parse_xlsx(data: bytes) -> ParsedDocument:
    """One segment per sheet, each row a line that names its sheet and columns."""
    import openpyxl

    notes = _cell_notes(data)

    def sheets() -> Iterator[tuple[str, Iterable[Sequence[Any]]]]:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            for sheet in book.worksheets:
                noted = notes.get(sheet.title, {})
                yield (
                    sheet.title,
                    (
                        [_with_note(_shown(cell), cell, noted) for cell in row]
                        for row in sheet.iter_rows()
                    ),
                )
        finally:
            book.close()

    return _workbook(sheets(), "XLSX")


def _cell_notes(data: bytes) -> dict[str, dict[str, str]]:
    """Each sheet's cell notes (Excel's comments: "Spend starts 20 Oct" on a figure)
    by cell ("C3"), which a workbook opened read-only leaves out."""
    from openpyxl.comments.comment_sheet import CommentSheet
    from openpyxl.packaging.relationship import get_dependents, get_rels_path
    from openpyxl.reader.workbook import WorkbookParser
    from openpyxl.xml.constants import COMMENTS_NS
    from openpyxl.xml.functions import fromstring

    notes: dict[str, dict[str, str]] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                return {}
            parser = WorkbookParser(archive, "xl/workbook.xml")
            parser.parse()
            for sheet, link in parser.find_sheets():
                if get_rels_path(link.target) not in names:
                    continue
                for found in get_dependents(archive, get_rels_path(link.target)).find(COMMENTS_NS):
                    comments = CommentSheet.from_tree(fromstring(archive.read(found.target)))
                    for cell, comment in comments.comments:
                        text = " ".join(comment.text.split())
                        if text:
                            notes.setdefault(sheet.name, {})[cell] = text
    except Exception as error:  # a note is a nicety: the cells are read without them
        logger.info("cell notes not read: %r", error)
        return {}
    return notes


def _with_note(value: Any, cell: Any, notes: dict[str, str]) -> Any:
    """A cell's value with its note after it: "18500 (note: Spend starts 20 Oct)"."""
    if not notes or not hasattr(cell, "coordinate"):
        return value
    note = notes.get(cell.coordinate)
    if note is None:
        return value
    return f"{cell_text(value)} (note: {note})".strip()


# A percentage's format: "0%", "0.0%", "#,##0.00%" (its decimals after the point).
_PERCENT_FORMAT = re.compile(r"(?:\.([0#?]+))?%")


# An amount's format: thousands grouped ("#,##0", "#,##0.00"), perhaps with a currency
# written in it: "£#,##0", '"£"#,##0.00', "[$€-2] #,##0", an accounting "_-£* #,##0_-".
_GROUPED_FORMAT = re.compile(r"#,##0(?:\.([0#]+))?")
_CURRENCY_IN_FORMAT = re.compile(r"\[\$([^\]\-]+)[^\]]*\]|\"([^\"]+)\"|([£$€¥])")


def _shown(cell: Any) -> Any:
    """A cell's value as Excel shows it: a percentage ("12.5%" for 0.125 formatted
    "0.0%"), an amount with its thousands and currency ("£40,000" for 40000 formatted
    "£#,##0"). A question about a share would otherwise be answered with a fraction,
    and "£18,500" asked about would not be the 18500 found."""
    value = getattr(cell, "value", None)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    number_format = (getattr(cell, "number_format", "") or "").split(";")[0]
    percent = _PERCENT_FORMAT.search(number_format)
    if percent is not None:
        places = Decimal(1).scaleb(-len(percent.group(1) or ""))
        return f"{(Decimal(repr(value)) * 100).quantize(places, ROUND_HALF_UP)}%"
    grouped = _GROUPED_FORMAT.search(number_format)
    if grouped is None:
        return value
    places = Decimal(1).scaleb(-len(grouped.group(1) or ""))
    amount = f"{abs(Decimal(repr(value))).quantize(places, ROUND_HALF_UP):,}"
    sign = "-" if value < 0 else ""
    for found in _CURRENCY_IN_FORMAT.finditer(number_format):
        symbol = next(part for part in found.groups() if part).strip()
        if any(ch.isalpha() or ch in "£$€¥" for ch in symbol):
            if found.start() < grouped.start():
                return f"{sign}{symbol}{amount}"
            return f"{sign}{amount} {symbol}"
    return f"{sign}{amount}"


def _workbook(sheets: Iterable[tuple[str, Iterable[Sequence[Any]]]], kind: str) -> ParsedDocument:
    """A workbook's sheets as segments; the reader's own errors as a damaged file."""
    segments = []
    try:
        for name, rows in sheets:
            lines = sheet_lines(name, rows)
            if lines:
                segments.append(Segment(text="\n".join(lines)))
    except Exception as error:  # the readers raise many kinds on a broken workbook
        logger.info("unreadable %s: %r", kind, error)
        raise IngestionError(
            "The Excel workbook is damaged and could not be read.", code="corrupt_file"
        ) from None
    if not segments:
        raise IngestionError("This Excel workbook contains no text.", code="no_text")
    return ParsedDocument(segments=segments, pages=None)


def parse_xls(data: bytes) -> ParsedDocument:
    """An Excel 97-2003 workbook, read as an .xlsx one is: a segment per sheet."""
    import xlrd

    def sheets() -> Iterator[tuple[str, Iterable[Sequence[Any]]]]:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
        try:
            for sheet in book.sheets():
                yield (
                    sheet.name,
                    (
                        [_xls_value(cell, book.datemode) for cell in sheet.row(number)]
                        for number in range(sheet.nrows)
                    ),
                )
        finally:
            book.release_resources()

    return _workbook(sheets(), "XLS")


def _xls_value(cell: Any, datemode: int) -> Any:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate_as_datetime(cell.value, datemode)
        except (ValueError, OverflowError):
            return cell.value
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    return cell.value


def parse_csv(data: bytes) -> ParsedDocument:
    """A CSV file as one table: each row a line naming its columns, as a sheet's rows."""
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    lines = sheet_lines("", csv.reader(io.StringIO(text), dialect))
    if not lines:
        raise IngestionError("The file contains no text.", code="no_text")
    return ParsedDocument(segments=[Segment(text="\n".join(lines))], pages=None)


def sheet_lines(name: str, rows: Any) -> list[str]:
    """A sheet as lines: its title rows, then each row as "[sheet] Column: value; ..."."""
    tag = f"[{name}] " if name else ""
    lines: list[str] = []
    header: list[str] | None = None
    read = skipped = 0
    wide = after_gap = titled = False
    for values in rows:
        wide = wide or len(values) > MAX_SHEET_COLUMNS
        cells = [cell_text(value) for value in values[:MAX_SHEET_COLUMNS]]
        filled = [cell for cell in cells if cell]
        if not filled:
            after_gap = header is not None
            titled = False
            continue
        columns = len([c for c in header or [] if c])
        if after_gap and titled and len(filled) > 1 and not any(map(_is_number, filled)):
            # Past a blank row and a title ("Risk register"), a row of names: the
            # header of the sheet's next table, whose rows name its own columns.
            header = cells
            lines.append(f"{tag}{COLUMNS}: {', '.join(c for c in cells if c)}")
            after_gap = titled = False
            continue
        if after_gap and len(filled) <= 2 < columns and not _is_number(filled[0]):
            # Below the table, past a blank row: totals and figures, each a label
            # and its value ("NPS: 41"), not a row of the table's columns.
            lines.append(f"{tag}{': '.join(filled)}")
            titled = len(filled) == 1
            continue
        after_gap = titled = False
        if header is None:
            if len(filled) == 1:  # a title above the table
                lines.append(f"{tag}{filled[0]}")
            else:
                header = cells
                lines.append(f"{tag}{COLUMNS}: {', '.join(c for c in cells if c)}")
            continue
        if read >= MAX_SHEET_ROWS:
            skipped += 1
            continue
        read += 1
        pairs = [
            f"{column}: {cell}" if column else cell
            for column, cell in zip_longest(header, cells, fillvalue="")
            if cell
        ]
        lines.append(tag + "; ".join(pairs))
    if skipped:
        lines.append(f"{tag}(only the first {read:,} rows were read; {skipped:,} more follow)")
    if wide:
        lines.append(f"{tag}(only the first {MAX_SHEET_COLUMNS} columns were read)")
    return lines


def _is_number(text: str) -> bool:
    """A figure as a cell shows it: "1,200", "-4.5%", "£40,000", "2,500 EUR"."""
    return re.fullmatch(r"[-+]?(?:[£$€¥]\s?)?[\d.,]+%?(?: [A-Z]{3})?", text) is not None


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())
