"""Recognise a file by its content and turn it into text segments.

The kind is judged from the bytes, not the extension: a PDF must start with
the PDF signature, a DOCX must be a zip holding word/document.xml (an XLSX one
holding xl/workbook.xml), an email must start with its headers, and text must
decode without binary control bytes.
The extension only chooses between Markdown and plain text, which look the
same to a machine.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from html.parser import HTMLParser
from itertools import zip_longest
from pathlib import PurePosixPath
from time import monotonic
from typing import Any

from charset_normalizer import from_bytes

from retrieval.errors import IngestionError, UnsupportedType, UploadError

logger = logging.getLogger(__name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
# What an Office file's zip must hold to be each kind.
OFFICE_PARTS = {"word/document.xml": DOCX, "xl/workbook.xml": XLSX, "ppt/presentation.xml": PPTX}
OFFICE_NAMES = {DOCX: "Word document", XLSX: "Excel workbook", PPTX: "PowerPoint presentation"}
# A sheet is read up to this many rows and columns; beyond, a line says so.
MAX_SHEET_ROWS = 5000
MAX_SHEET_COLUMNS = 50
XLS = "application/vnd.ms-excel"
# An OLE2 compound file (Office 97-2003): check_ole on the whole file says which kind.
OLE = "application/x-ole-storage"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
CSV = "text/csv"
EMAIL = "message/rfc822"
# An Outlook message (.msg): an OLE2 compound file, read as the email it holds.
MSG = "application/vnd.ms-outlook"
EMAILS = frozenset({EMAIL, MSG})
HTML = "text/html"
JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
TIFF = "image/tiff"
# Pictures hold no text layer: every page of one is read by OCR (retrieval.ocr).
IMAGES = frozenset({JPEG, PNG, WEBP, TIFF})
# A picture larger than this many pixels is refused (a decompression bomb is
# tiny on disk and gigabytes in memory); an A3 scan at 600 dpi has 70 million.
MAX_IMAGE_PIXELS = 120_000_000

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}

# A DOCX is a zip: refuse archives that would inflate past these before
# python-docx reads a byte of them (zip bombs).
DOCX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
DOCX_MAX_RATIO = 200
DOCX_MAX_MEMBERS = 5000

# Control bytes that never appear in text (tab, newlines, form feed and ESC do).
_BINARY_CONTROL = {byte for byte in range(32) if byte not in (9, 10, 12, 13, 27)}


@dataclass(frozen=True)
class Segment:
    """A stretch of text with the page it came from (PDF only), and whether OCR read it.

    `page` counts pages from 1; `page_label` is what the page has printed on it
    when the PDF says so and it is not that count ("iii" in a preface, "A-1").
    """

    text: str
    page: int | None = None
    ocr: bool = False
    page_label: str | None = None


@dataclass(frozen=True)
class ParsedDocument:
    segments: list[Segment]
    pages: int | None
    # Pages (1-based; frames of a picture) with no text layer but something drawn
    # on them: the ingestion has them read by OCR, a page at a time.
    scanned: tuple[int, ...] = ()
    # Printed page labels by page number, for the pages whose label is not their number.
    labels: dict[int, str] = field(default_factory=dict)


def sniff_content_type(head: bytes, filename: str) -> str:
    """The content type of a file judged by its first bytes; UnsupportedType otherwise."""
    if not head:
        raise UploadError("The file is empty.", code="empty_file")
    if head.lstrip(b"\x00\t\r\n\x0c ")[:5] == b"%PDF-":
        return PDF
    # Readers accept a PDF header anywhere in the first KB (after junk a mail
    # gateway or a printer driver put there), but a text file that merely
    # mentions "%PDF-" is still text.
    if b"%PDF-" in head[:1024] and not _looks_like_text(head):
        return PDF
    if head[:4] == b"PK\x03\x04":
        return DOCX  # an Office zip: check_office on the whole file says which kind
    if head[:8] == OLE_SIGNATURE:
        return OLE
    picture = _image_type(head)
    if picture is not None:
        return picture
    if _looks_like_text(head):
        if _looks_like_email(head):
            return EMAIL
        if _HTML_START.match(head[:1024]):
            return HTML
        suffix = PurePosixPath(filename).suffix.lower()
        if suffix == ".csv":
            return CSV
        return MARKDOWN if suffix in MARKDOWN_SUFFIXES else TEXT
    raise UnsupportedType(
        "This kind of file is not supported. Upload a PDF, a Word document (.docx), an "
        "Excel workbook (.xlsx or .xls), a PowerPoint presentation (.pptx), an email (.eml "
        "or Outlook .msg), a web page (.html), a picture (JPEG, PNG, WebP or TIFF), a "
        "Markdown, CSV or plain-text file."
    )


def _image_type(head: bytes) -> str | None:
    """The picture type its signature names, or None."""
    if head[:3] == b"\xff\xd8\xff":
        return JPEG
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    return None


_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]*:[ \t]")
# A web page starts with its doctype or <html> (after a BOM, blank lines or a comment).
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S
)


def _looks_like_email(head: bytes) -> bool:
    """An email (RFC 5322) starts with header lines, among them From and Subject or Date."""
    headers = re.split(rb"\r?\n\r?\n", head[:8192], maxsplit=1)[0].splitlines()
    if not headers or not _HEADER_LINE.match(headers[0]):
        return False
    names = {line.split(b":", 1)[0].lower() for line in headers if _HEADER_LINE.match(line)}
    return b"from" in names and bool(names & {b"subject", b"date"})


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    sample = head[:8192]
    if any(byte in _BINARY_CONTROL for byte in sample):
        return False
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the sample's end is still text.
        if error.start >= len(sample) - 3:
            return True
    best = from_bytes(sample).best()
    return best is not None


def check_office(file: io.BufferedIOBase | io.BytesIO) -> str:
    """DOCX, XLSX or PPTX for a sane Office file; refused before parsing when it is none."""
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            kinds = [kind for part, kind in OFFICE_PARTS.items() if part in names]
            if not kinds:
                raise UnsupportedType(
                    "This zip file is not a Word document, an Excel workbook or a PowerPoint "
                    "presentation. Upload a .docx, .xlsx or .pptx file saved by Office, "
                    "LibreOffice or Google Docs."
                )
            what = OFFICE_NAMES[kinds[0]]
            if len(members) > DOCX_MAX_MEMBERS:
                raise UploadError(
                    f"This {what} has too many parts to be read safely.", code="zip_bomb"
                )
            inflated = sum(member.file_size for member in members)
            packed = sum(member.compress_size for member in members) or 1
            if inflated > DOCX_MAX_UNCOMPRESSED or inflated / packed > DOCX_MAX_RATIO:
                raise UploadError(
                    f"This {what} expands to far more data than its size suggests "
                    "and was refused to protect the server.",
                    code="zip_bomb",
                )
            return kinds[0]
    except zipfile.BadZipFile:
        raise UploadError(
            "The file is damaged: it is not a valid zip file (as .docx, .xlsx and .pptx "
            "files are).",
            code="corrupt_file",
        ) from None
    finally:
        file.seek(0)


# What an old Office file holds, and what to tell someone who uploads one we cannot read.
_OLE_REFUSALS = {
    "worddocument": "This is an old Word document (.doc). Save it as .docx and upload that.",
    "powerpoint document": (
        "This is an old PowerPoint presentation (.ppt). Save it as .pptx and upload that."
    ),
}


def check_ole(file: io.BufferedIOBase | io.BytesIO) -> str:
    """XLS for an Excel 97-2003 workbook, MSG for an Outlook message; a clear refusal
    for the other old Office kinds."""
    import olefile

    try:
        with olefile.OleFileIO(file) as storage:
            streams = {"/".join(path).lower() for path in storage.listdir()}
    except (OSError, ValueError, IndexError) as error:
        logger.info("unreadable OLE file: %r", error)
        raise UploadError(
            "The file is damaged: it looks like an old Office file but cannot be opened.",
            code="corrupt_file",
        ) from None
    finally:
        file.seek(0)
    if streams & {"workbook", "book"}:
        return XLS
    for stream, refusal in _OLE_REFUSALS.items():
        if stream in streams:
            raise UnsupportedType(refusal)
    if any(name.startswith("__substg1.0_") for name in streams):
        return MSG
    raise UnsupportedType("This old Office file is not an Excel workbook (.xls).")


def parse(data: bytes, content_type: str) -> ParsedDocument:
    """Text segments of a stored file; IngestionError with a readable reason on failure."""
    if content_type == PDF:
        return _parse_pdf(data)
    if content_type == DOCX:
        check_office(io.BytesIO(data))
        return _parse_docx(data)
    if content_type == XLSX:
        check_office(io.BytesIO(data))
        return _parse_xlsx(data)
    if content_type == PPTX:
        check_office(io.BytesIO(data))
        return _parse_pptx(data)
    if content_type == XLS:
        return _parse_xls(data)
    if content_type == CSV:
        return _parse_csv(data)
    if content_type == HTML:
        return _parse_html(data)
    if content_type == EMAIL:
        return _parse_email(data)
    if content_type == MSG:
        return _parse_email(outlook_message_as_email(data))
    if content_type in {MARKDOWN, TEXT}:
        return _parse_text(data)
    if content_type in IMAGES:
        return _parse_image(data)
    raise IngestionError(f"Files of type {content_type} cannot be read.")


def _parse_pdf(data: bytes) -> ParsedDocument:
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
        labels = _page_labels(reader)
        tables = pdf_tables(data)
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            for rows in tables.get(number, []):
                text = with_table_rows(text, rows)
            text = tidy_pdf_text(text)
            if text:
                segments.append(Segment(text=text, page=number, page_label=labels.get(number)))
            elif _draws_something(page):
                scanned.append(number)
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
    return ParsedDocument(segments=segments, pages=pages, scanned=tuple(scanned), labels=labels)


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
            rendered = _sheet_lines("", [[_cell(cell) for cell in row] for row in rows])
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


def _draws_something(page: Any) -> bool:
    """Whether a page without text still holds a picture or a drawing (a scan, a photo).

    Blank pages are common in text PDFs (left for printing on both sides);
    reading them by OCR would cost seconds each for nothing.
    """
    try:
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else {}
        if resources.get("/XObject"):
            return True
        return len(page.get_contents().get_data() if page.get_contents() else b"") > 200
    except Exception:  # an odd page: let OCR look at it
        return True


def _parse_image(data: bytes) -> ParsedDocument:
    """A picture (a photo of a whiteboard, a scanned page): every frame goes to OCR."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS // 2  # Pillow refuses at twice its limit
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            frames = getattr(image, "n_frames", 1)
    except Image.DecompressionBombError:
        raise IngestionError(
            f"This picture has more than {MAX_IMAGE_PIXELS:,} pixels, too many to read "
            "safely. Save it at a lower resolution and upload it again.",
            code="too_large",
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        logger.info("unreadable picture: %r", error)
        raise IngestionError(
            "The picture is damaged and could not be read.", code="corrupt_file"
        ) from None
    return ParsedDocument(
        segments=[], pages=frames if frames > 1 else None, scanned=tuple(range(1, frames + 1))
    )


def _parse_docx(data: bytes) -> ParsedDocument:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                blocks.extend(_table_rows(block))
            else:
                text = block.text.strip()
                if text:
                    style = (block.style.name if block.style is not None else "") or ""
                    if style.startswith("Heading"):
                        level = style.removeprefix("Heading").strip()
                        text = "#" * (int(level) if level.isdigit() else 1) + " " + text
                    blocks.append(text)
                blocks += _text_boxes(block._p)
    except Exception as error:  # python-docx raises many kinds on broken XML
        logger.info("unreadable DOCX: %r", error)
        raise IngestionError(
            "The Word document is damaged and could not be read.", code="corrupt_file"
        ) from None
    text = "\n\n".join(blocks).strip()
    if not text:
        raise IngestionError("This Word document contains no text.", code="no_text")
    return ParsedDocument(segments=[Segment(text=text)], pages=None)


def _text_boxes(paragraph: Any) -> list[str]:
    """The lines of the text boxes a Word paragraph holds (a flyer's panels, a form's
    boxes), which its text leaves out. Word writes each box twice, as a drawing and as
    a fallback picture for older readers: the fallback is not read."""
    box_lines, line_text = _text_box_paths()
    lines = ("".join(line_text(line)).strip() for line in box_lines(paragraph))
    return [line for line in lines if line]


@cache
def _text_box_paths() -> tuple[Any, Any]:
    from lxml import etree

    namespaces = {
        "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    }
    return (
        etree.XPath(".//w:txbxContent[not(ancestor::mc:Fallback)]/w:p", namespaces=namespaces),
        etree.XPath("./w:r/w:t/text() | ./w:hyperlink/w:r/w:t/text()", namespaces=namespaces),
    )


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            value = " ".join(cell.text.split())
            if not cells or cells[-1] != value:  # merged cells repeat their text
                cells.append(value)
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _parse_xlsx(data: bytes) -> ParsedDocument:
    """One segment per sheet, each row a line that names its sheet and columns.

    A row read alone (as one passage of a long sheet is) still says what each
    value is: "[Risks] Risk: Beta NPS below 40; Likelihood: Low; Impact: Medium".
    """
    import openpyxl

    def sheets() -> Iterator[tuple[str, Iterable[Sequence[Any]]]]:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            for sheet in book.worksheets:
                yield sheet.title, sheet.iter_rows(values_only=True)
        finally:
            book.close()

    return _workbook(sheets(), "XLSX")


def _workbook(sheets: Iterable[tuple[str, Iterable[Sequence[Any]]]], kind: str) -> ParsedDocument:
    """A workbook's sheets as segments; the reader's own errors as a damaged file."""
    segments = []
    try:
        for name, rows in sheets:
            lines = _sheet_lines(name, rows)
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


def _parse_pptx(data: bytes) -> ParsedDocument:
    """One segment per slide (cited as its page): its title as a heading, then the
    text of its shapes and tables in order, then the speaker's notes."""
    import pptx

    segments = []
    try:
        presentation = pptx.Presentation(io.BytesIO(data))
        for number, slide in enumerate(presentation.slides, start=1):
            blocks = []
            title = slide.shapes.title
            if title is not None and title.text_frame.text.strip():
                blocks.append("# " + " ".join(title.text_frame.text.split()))
            blocks += _shapes_text(shape for shape in slide.shapes if shape != title)
            if slide.has_notes_slide:
                notes = slide.notes_slide.notes_text_frame.text.strip()
                if notes:
                    blocks.append(f"Notes: {' '.join(notes.split())}")
            if blocks:
                segments.append(Segment(text="\n\n".join(blocks), page=number))
        pages = len(presentation.slides)
    except Exception as error:  # python-pptx raises many kinds on broken XML
        logger.info("unreadable PPTX: %r", error)
        raise IngestionError(
            "The PowerPoint presentation is damaged and could not be read.", code="corrupt_file"
        ) from None
    if not segments:
        raise IngestionError("This presentation contains no text.", code="no_text")
    return ParsedDocument(segments=segments, pages=pages)


def _shapes_text(shapes: Iterable[Any]) -> list[str]:
    """The text of a slide's shapes in order, inside groups too: a diagram's boxes are
    often grouped, and a group has no text of its own."""
    from pptx.shapes.group import GroupShape

    blocks: list[str] = []
    for shape in shapes:
        if isinstance(shape, GroupShape):
            blocks += _shapes_text(shape.shapes)
        elif shape.has_text_frame:
            blocks += [p.strip() for p in shape.text_frame.text.splitlines() if p.strip()]
        elif shape.has_table:
            blocks += _table_rows(shape.table)
    return blocks


def _parse_html(data: bytes) -> ParsedDocument:
    """A web page as the text a reader sees, its headings marked as Markdown's."""
    text = html_to_text(decode_text(data))
    if not text:
        raise IngestionError("This web page contains no text.", code="no_text")
    return ParsedDocument(segments=[Segment(text=text)], pages=None)


def _parse_xls(data: bytes) -> ParsedDocument:
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


def _parse_email(data: bytes) -> ParsedDocument:
    """An email as its headers (from, to, date, subject), its text and its attachments' names.

    The text is the plain part, or the HTML part reduced to text; transfer
    encodings (quoted-printable, base64) and encoded headers are undone.
    """
    from email import policy
    from email.parser import BytesParser

    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
        lines = [
            f"{name}: {' '.join(str(message[name]).split())}"
            for name in ("From", "To", "Cc", "Date", "Subject")
            if message[name]
        ]
        body = message.get_body(preferencelist=("plain", "html"))
        text = ""
        if body is not None:
            content = body.get_content()
            text = html_to_text(content) if body.get_content_type() == "text/html" else content
        attached = [
            f"{part.get_filename()} ({part.get_content_type()})"
            for part in message.iter_attachments()
            if part.get_filename()
        ]
    except Exception as error:  # the email package raises many kinds on broken mail
        logger.info("unreadable email: %r", error)
        raise IngestionError(
            "The email is damaged and could not be read.", code="corrupt_file"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if attached:
        text += "\n\nAttachments: " + ", ".join(attached)
    if not text.strip():
        raise IngestionError("This email contains no text.", code="no_text")
    return ParsedDocument(segments=[Segment(text="\n".join(lines) + "\n\n" + text)], pages=None)


def outlook_message_as_email(data: bytes) -> bytes:
    """An Outlook message (.msg) as the MIME email it holds (headers, bodies and
    attachments), so that it is read as an .eml is. aspose-email-foss (PyPI, MIT)
    reads the compound file and its MAPI properties."""
    from aspose.email_foss.cfb.reader import CFBReader
    from aspose.email_foss.msg import MapiMessage, MsgDocument, MsgReader

    try:
        with MsgReader(CFBReader(data)) as reader:
            message = MapiMessage.from_msg_document(MsgDocument.from_reader(reader))
        return message.to_email_bytes()
    except Exception as error:  # a damaged compound file fails in many ways
        logger.info("unreadable Outlook message: %r", error)
        raise IngestionError(
            "The Outlook message (.msg) is damaged and could not be read.", code="corrupt_file"
        ) from None


def email_attachments(data: bytes) -> list[tuple[str, bytes]]:
    """The files attached to an email (or an Outlook message), as (file name, bytes);
    parts shown inside the message (a logo in its HTML) are not attachments."""
    from email import policy
    from email.parser import BytesParser

    if data[:8] == OLE_SIGNATURE:
        data = outlook_message_as_email(data)
    message = BytesParser(policy=policy.default).parsebytes(data)
    found = []
    for number, part in enumerate(message.iter_attachments(), start=1):
        if part.get_content_disposition() == "inline" and part.get("Content-ID"):
            continue
        payload = part.get_payload(decode=True)
        if not payload:
            continue
        name = PurePosixPath((part.get_filename() or "").replace("\\", "/")).name
        name = name or f"attachment-{number}"
        found.append((name, payload))
    return found


class _TextOfHTML(HTMLParser):
    """The text a reader sees in an HTML page or email: no tags, scripts or styles."""

    BLOCKS = frozenset(
        [
            "p",
            "div",
            "br",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "ul",
            "ol",
            "blockquote",
            "section",
        ]
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "head", "title", "template", "noscript"):
            self._hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
            if tag[0] == "h" and tag[1:].isdigit():  # a heading, as Markdown writes it
                self.parts.append("#" * int(tag[1:]) + " ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title", "template", "noscript"):
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    reader = _TextOfHTML()
    reader.feed(markup)
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _parse_csv(data: bytes) -> ParsedDocument:
    """A CSV file as one table: each row a line naming its columns, as a sheet's rows."""
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    lines = _sheet_lines("", csv.reader(io.StringIO(text), dialect))
    if not lines:
        raise IngestionError("The file contains no text.", code="no_text")
    return ParsedDocument(segments=[Segment(text="\n".join(lines))], pages=None)


def _sheet_lines(name: str, rows: Any) -> list[str]:
    """A sheet as lines: its title rows, then each row as "[sheet] Column: value; ..."."""
    tag = f"[{name}] " if name else ""
    lines: list[str] = []
    header: list[str] | None = None
    read = skipped = 0
    wide = after_gap = False
    for values in rows:
        wide = wide or len(values) > MAX_SHEET_COLUMNS
        cells = [_cell(value) for value in values[:MAX_SHEET_COLUMNS]]
        filled = [cell for cell in cells if cell]
        if not filled:
            after_gap = header is not None
            continue
        columns = len([c for c in header or [] if c])
        if after_gap and len(filled) <= 2 < columns and not _is_number(filled[0]):
            # Below the table, past a blank row: totals and figures, each a label
            # and its value ("NPS: 41"), not a row of the table's columns.
            lines.append(f"{tag}{': '.join(filled)}")
            continue
        after_gap = False
        if header is None:
            if len(filled) == 1:  # a title above the table
                lines.append(f"{tag}{filled[0]}")
            else:
                header = cells
                lines.append(f"{tag}Columns: {', '.join(c for c in cells if c)}")
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
    return re.fullmatch(r"[-+]?[\d.,]+%?", text) is not None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _parse_text(data: bytes) -> ParsedDocument:
    text = decode_text(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise IngestionError("The file contains no text.", code="no_text")
    return ParsedDocument(segments=[Segment(text=text)], pages=None)


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise IngestionError(
            "The text file uses an encoding that could not be recognised.", code="bad_encoding"
        )
    # Single-byte Latin encodings are hard to tell apart in short files; Windows-1252
    # is by far the most common of them, so it wins whenever it fits.
    if best.encoding.startswith(("cp125", "latin", "iso8859")):
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    return str(best)
