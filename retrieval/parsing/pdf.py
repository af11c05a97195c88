"""PDF files: the text layer page by page (a running header or footer read once), ruled
tables row by row, a filled form's answers, reviewers' comments, printed page labels,
and the pages OCR must read: those with no text, and scans under a few words of it."""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import replace
from pathlib import PurePosixPath
from time import monotonic
from typing import Any

from retrieval.errors import IngestionError
from retrieval.parsing.pdf_comments import page_comments
from retrieval.parsing.pdf_forms import form_answers, with_answers
from retrieval.parsing.segments import ParsedDocument, Segment
from retrieval.parsing.sheets import cell_text, sheet_lines

logger = logging.getLogger(__name__)


def parse_pdf(data: bytes) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty password only to stop
            # editing; those open fine. A real password cannot be guessed.
            try:
                opened = reader.decrypt("")
            except Exception:
                opened = 0
            if not opened:
                raise IngestionError(
                    "This PDF is protected by a password. Remove the password and upload it again.",
                    code="encrypted_pdf",
                )
        segments = []
        scanned = []
        overlaid: dict[int, str] = {}  # what lies over a scanned page, for after its OCR
        labels = _page_labels(reader)
        tables = pdf_tables(data)
        answers = form_answers(reader, data)
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            for rows in tables.get(number, []):
                text = with_table_rows(text, rows)
            text = tidy_pdf_text(text)
            filled, comments = answers.get(number, []), page_comments(page)
            over = "\n".join([with_answers("", filled), *comments]).strip()
            label = labels.get(number)
            if text and (len(text) >= THIN_TEXT_LAYER or not _holds_a_picture(page)):
                text = "\n".join([with_answers(text, filled), *comments])
                segments.append(Segment(text=text, page=number, page_label=label))
            elif text or _draws_something(page):
                # A scan, or a scan under a few words of text (a scanner app's mark, a
                # stamp, a page number), which would stand for the whole page unread.
                scanned.append(number)
                overlaid[number] = over
            elif over:  # a blank page with a note on it
                segments.append(Segment(text=over, page=number, page_label=label))
        pages = len(reader.pages)
    except IngestionError:
        raise
    except FileNotDecryptedError:
        raise IngestionError(
            "This PDF is protected by a password. Remove the password and upload it again.",
            code="encrypted_pdf",
        ) from None
    except (
        PdfReadError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        RecursionError,
        OSError,
    ) as error:
        logger.info("unreadable PDF: %r", error)
        raise IngestionError(
            "The PDF file is damaged and could not be read.", code="corrupt_file"
        ) from None
    if not segments and not scanned:
        raise IngestionError(
            "This PDF has only blank pages: no text and no pictures to read.", code="no_text"
        )
    segments = without_running_lines(segments)
    return ParsedDocument(
        segments=segments,
        pages=pages,
        scanned=tuple(scanned),
        labels=labels,
        overlaid={number: over for number, over in overlaid.items() if over},
    )


def pdf_attachments(data: bytes) -> list[tuple[str, bytes]]:
    """The files embedded in a PDF (a report's spreadsheet, a portfolio's documents),
    as (file name, bytes)."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        return [
            (PurePosixPath(name.replace("\\", "/")).name or f"attachment-{number}", content)
            for number, (name, contents) in enumerate(reader.attachments.items(), start=1)
            for content in contents
            if content
        ]
    except Exception as error:  # the PDF itself was read; its attachments are a bonus
        logger.info("PDF attachments not read: %r", error)
        return []


# A line at the top or bottom of this share of a document's pages (at least
# RUNNING_MIN_PAGES) is a running header or footer.
RUNNING_SHARE = 0.6
RUNNING_MIN_PAGES = 3


def without_running_lines(segments: list[Segment]) -> list[Segment]:
    """The pages without the header and footer lines printed on most of them
    ("Larkspur Labs — Confidential"), but where each first appears: repeated in
    every passage they would crowd its vector and match every search for their
    words. Only lines the same to the letter: "Date: 12 March" opening each page of
    a log differs from page to page (page numbers are left out by tidy_pdf_text)."""
    if len(segments) < RUNNING_MIN_PAGES:
        return segments

    def key(line: str) -> str:
        return " ".join(line.split())

    def edges(lines: list[str]) -> set[int]:
        """Where a page's first two and last two lines (not blank) stand on it."""
        filled = [n for n, line in enumerate(lines) if line.strip()]
        return set(filled[:2] + filled[-2:])

    pages = [segment.text.split("\n") for segment in segments]
    counts = Counter(k for lines in pages for k in {key(lines[n]) for n in edges(lines)})
    least = max(RUNNING_MIN_PAGES, RUNNING_SHARE * len(segments))
    running = {k for k, n in counts.items() if n >= least}
    if not running:
        return segments
    seen: set[str] = set()  # running lines kept once, on the first page they are on
    kept = []
    for segment, lines in zip(segments, pages, strict=True):
        at_edge = edges(lines)
        text = "\n".join(
            line
            for n, line in enumerate(lines)
            if not (n in at_edge and key(line) in running and key(line) in seen)
        ).strip()
        seen.update(key(lines[n]) for n in at_edge if key(lines[n]) in running)
        if text:
            kept.append(replace(segment, text=text))
    return kept


# A page drawing fewer lines and boxes than this holds no ruled table.
TABLE_MIN_PATHS = 4
# Seconds a document's pages may take pdfplumber in all: a page ruled as a fine grid
# takes it seconds (1.7 s for 100 x 100 cells), and the whole parse has PARSE_TIMEOUT.
TABLE_SECONDS = 20.0


def pdf_tables(data: bytes) -> dict[int, list[list[list[str]]]]:
    """The ruled tables of each PDF page (by page number), each as its rows of cells.

    A PDF's text gives a table one cell a line ("Item", "Description", "Price (£)",
    "1", "Concept and script (two", "concepts, one developed)", "3,500", ...): no
    line says which price is whose, and "Total (excluding VAT)" and "24,500" are
    read apart. pdfplumber finds the table from its rules. Only pages that draw
    enough lines and boxes are given to it (pdfium counts them in about a
    millisecond a page; pdfplumber lays a page out in tens of milliseconds), for
    TABLE_SECONDS at most. A table that cannot be read, or a page past that time,
    keeps the page's text as it was.
    """
    try:
        import pdfplumber
        import pypdfium2
        import pypdfium2.raw as pdfium_c

        document = pypdfium2.PdfDocument(data)
        try:
            ruled = [
                number
                for number, page in enumerate(document, start=1)
                if sum(
                    1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=2)
                )
                >= TABLE_MIN_PATHS
            ]
        finally:
            document.close()
        if not ruled:
            return {}
        found: dict[int, list[list[list[str]]]] = {}
        deadline = monotonic() + TABLE_SECONDS
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for number in ruled:
                if monotonic() > deadline:
                    logger.info(
                        "PDF tables read up to page %s of %s: out of time", number, ruled[-1]
                    )
                    break
                page = pdf.pages[number - 1]
                tables = [table.extract() for table in page.find_tables()]
                page.close()  # its laid-out objects, not kept for the next page
                rows = [
                    [[cell or "" for cell in row] for row in table]
                    for table in tables
                    if len(table) > 1 and max(len(row) for row in table) > 1
                ]
                if rows:
                    found[number] = rows
        return found
    except Exception as error:  # a table is a nicety: the text is read without it
        logger.info("PDF tables not read: %r", error)
        return {}


def with_table_rows(text: str, rows: list[list[str]]) -> str:
    """`text` with the lines that hold a table's cells written as the table's rows:
    "Columns: Item, Description, Price (£)", then "Item: 1; Description: Concept
    and script ...; Price (£): 3,500", as a sheet's rows are. The lines are found
    by their characters, whatever their order and breaks (a page's text gives a
    table a cell a line, or a row a line with its wrapped cells' ends after it);
    `text` as it was when no run of whole lines holds exactly the cells' text."""
    lines = text.splitlines()
    squeezed = ["".join(line.split()) for line in lines]
    wanted = "".join("".join(cell.split()) for row in rows for cell in row)
    if not wanted:
        return text
    characters = Counter(wanted)
    for start, first in enumerate(squeezed):
        if not first:
            continue
        length = 0
        for end in range(start, len(squeezed)):
            length += len(squeezed[end])
            if length >= len(wanted):
                break
        if length == len(wanted) and Counter("".join(squeezed[start : end + 1])) == characters:
            rendered = sheet_lines("", [[cell_text(cell) for cell in row] for row in rows])
            return "\n".join(lines[:start] + rendered + lines[end + 1 :])
    return text


# A label longer than this is not a page label but a broken one (or a misuse of it).
MAX_PAGE_LABEL = 40


def _page_labels(reader: Any) -> dict[int, str]:
    """The printed labels of a PDF's pages ("iii", "A-1") by page number, for the
    pages whose label is not simply their number; none when the PDF defines none.

    A damaged label tree costs the labels, never the document.
    """
    try:
        if "/PageLabels" not in reader.root_object:
            return {}
        found = reader.page_labels
    except Exception as error:  # pypdf raises many kinds on a broken number tree
        logger.info("unreadable PDF page labels: %r", error)
        return {}
    labels = {}
    for number, label in enumerate(found, start=1):
        label = " ".join(str(label).split())
        if label and label != str(number) and len(label) <= MAX_PAGE_LABEL:
            labels[number] = label
    return labels


# A bullet drawn as a glyph of its own comes out as a line of one odd character
# (DEL, a private-use symbol font character, "•"); a page number as "Page 3" or
# "- 3 -". Both are layout, not text.
_BULLET = re.compile(r"^[\x7f\uf0a7\uf0b7\uf0d8\uf076•◦▪▫‣●○■□–-]$")
_BULLET_START = re.compile(r"^[\x7f\uf0a7\uf0b7\uf0d8\uf076•◦▪▫‣●○■□]\s*")
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?[-–]?\s*\d{1,4}\s*[-–]?(?:\s+of\s+\d{1,4})?$", re.I)


def tidy_pdf_text(text: str) -> str:
    """A PDF page's text with bullets written as list items and page numbers left out.

    "\\x7f" on a line of its own, then "Delivery six weeks ..." becomes
    "- Delivery six weeks ...", which the splitter and the answer models read
    as the list item it is.
    """
    lines: list[str] = []
    bullet = False
    for raw in text.splitlines():
        line = raw.strip()
        if _BULLET.match(line):
            bullet = True
            continue
        if not lines and (not line or _PAGE_NUMBER.match(line)):
            continue
        line = _BULLET_START.sub("- ", line)
        lines.append(f"- {line}" if bullet and line else line)
        bullet = False
    while lines and _PAGE_NUMBER.match(lines[-1]):
        lines.pop()
    return "\n".join(lines).strip()


# A page with less text than this over a picture is a scan: OCR reads it whole.
THIN_TEXT_LAYER = 80


def _holds_a_picture(page: Any) -> bool:
    """Whether a page draws a picture (an image, or one inside a form it draws)."""
    try:
        return _pictures_in(page, depth=2)
    except Exception:  # an odd page: read its text layer as it is
        return False


def _pictures_in(holder: Any, depth: int) -> bool:
    for reference in _shown_objects(holder):
        shape = reference.get_object()
        if shape.get("/Subtype") == "/Image":
            return True
        if depth > 1 and shape.get("/Subtype") == "/Form" and _pictures_in(shape, depth - 1):
            return True
    return False


def _shown_objects(holder: Any) -> list[Any]:
    """The pictures and forms a page (or a form) has to draw: its resources' XObjects."""
    resources = holder.get("/Resources")
    shown = (resources.get_object() if resources is not None else {}).get("/XObject")
    return list((shown.get_object() if shown is not None else {}).values())


def _draws_something(page: Any) -> bool:
    """Whether a page without text still holds a picture or a drawing (a scan, a photo).

    Blank pages are common in text PDFs (left for printing on both sides);
    reading them by OCR would cost seconds each for nothing.
    """
    try:
        if _shown_objects(page):
            return True
        return len(page.get_contents().get_data() if page.get_contents() else b"") > 200
    except Exception:  # an odd page: let OCR look at it
        return True
