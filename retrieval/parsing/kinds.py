"""What kind of file an upload is, judged from its bytes, not its name.

A PDF must start with the PDF signature, a DOCX must be a zip holding
word/document.xml (an XLSX one holding xl/workbook.xml), an email must start
with its headers, and text must decode without binary control bytes. The
extension only chooses between Markdown and plain text, which look the same to
a machine. Office files are checked whole before they are read (zip bombs,
old formats that are not what they claim).
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import PurePosixPath

from charset_normalizer import from_bytes

from retrieval.errors import UnsupportedType, UploadError

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
# What an Office file's zip must hold to be each kind.
OFFICE_PARTS = {"word/document.xml": DOCX, "xl/workbook.xml": XLSX, "ppt/presentation.xml": PPTX}
OFFICE_NAMES = {DOCX: "Word document", XLSX: "Excel workbook", PPTX: "PowerPoint presentation"}
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
# A calendar (.ics): a meeting invitation, or a calendar's export.
CALENDAR = "text/calendar"
JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
TIFF = "image/tiff"
HEIC = "image/heic"  # an iPhone's photos
# Pictures hold no text layer: every page of one is read by OCR (retrieval.ocr).
IMAGES = frozenset({JPEG, PNG, WEBP, TIFF, HEIC})
# The brands of an ISO media file that hold HEIF pictures (AVIF's are not read).
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx")

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}

# A DOCX is a zip: refuse archives that would inflate past these before
# python-docx reads a byte of them (zip bombs).
DOCX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
DOCX_MAX_RATIO = 200
DOCX_MAX_MEMBERS = 5000

# Control bytes that never appear in text (tab, newlines, form feed and ESC do).
_BINARY_CONTROL = {byte for byte in range(32) if byte not in (9, 10, 12, 13, 27)}

logger = logging.getLogger(__name__)


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
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper() == b"BEGIN:VCALENDAR":
            return CALENDAR
        suffix = PurePosixPath(filename).suffix.lower()
        if suffix in (".csv", ".tsv"):  # tab-separated: the CSV reader finds the tabs
            return CSV
        return MARKDOWN if suffix in MARKDOWN_SUFFIXES else TEXT
    raise UnsupportedType(
        "This kind of file is not supported. Upload a PDF, a Word document (.docx), an "
        "Excel workbook (.xlsx or .xls), a PowerPoint presentation (.pptx), an email (.eml "
        "or Outlook .msg), a web page (.html), a meeting invitation (.ics), a picture (JPEG, "
        "PNG, WebP, TIFF or HEIC), a Markdown, CSV or plain-text file."
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
    if head[4:8] == b"ftyp" and any(brand in head[8:64] for brand in _HEIF_BRANDS):
        return HEIC
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
