"""Recognise a file by its content and turn it into text segments.

`kinds` tells what a file is from its bytes; each kind has its reader (`pdf`,
`office`, `sheets`, `mail`, `web`, `pictures`, `text`), and `parse` hands a
stored file to the right one. A failure is an IngestionError that says why in
words a person understands.
"""

from __future__ import annotations

import io

from retrieval.errors import IngestionError
from retrieval.parsing import invites, mail, office, pdf, pictures, sheets, text, web
from retrieval.parsing.kinds import (
    CALENDAR,
    CSV,
    DOCX,
    EMAIL,
    EMAILS,
    HTML,
    IMAGES,
    JPEG,
    MARKDOWN,
    MSG,
    OLE,
    OLE_SIGNATURE,
    PDF,
    PNG,
    PPTX,
    TEXT,
    TIFF,
    WEBP,
    XLS,
    XLSX,
    check_office,
    check_ole,
    sniff_content_type,
)
from retrieval.parsing.mail import email_attachments
from retrieval.parsing.pdf import pdf_attachments, pdf_tables, tidy_pdf_text, with_table_rows
from retrieval.parsing.segments import ParsedDocument, Segment

__all__ = [
    "CALENDAR",
    "CSV",
    "DOCX",
    "EMAIL",
    "EMAILS",
    "HTML",
    "IMAGES",
    "JPEG",
    "MARKDOWN",
    "MSG",
    "OLE",
    "OLE_SIGNATURE",
    "PDF",
    "PNG",
    "PPTX",
    "TEXT",
    "TIFF",
    "WEBP",
    "XLS",
    "XLSX",
    "ParsedDocument",
    "Segment",
    "attached_files",
    "check_office",
    "check_ole",
    "email_attachments",
    "parse",
    "pdf_tables",
    "sniff_content_type",
    "tidy_pdf_text",
    "with_table_rows",
]


def parse(data: bytes, content_type: str) -> ParsedDocument:
    """Text segments of a stored file; IngestionError with a readable reason on failure."""
    if content_type == PDF:
        return pdf.parse_pdf(data)
    if content_type == DOCX:
        check_office(io.BytesIO(data))
        return office.parse_docx(data)
    if content_type == XLSX:
        check_office(io.BytesIO(data))
        return sheets.parse_xlsx(data)
    if content_type == PPTX:
        check_office(io.BytesIO(data))
        return office.parse_pptx(data)
    if content_type == XLS:
        return sheets.parse_xls(data)
    if content_type == CSV:
        return sheets.parse_csv(data)
    if content_type == HTML:
        return web.parse_html(data)
    if content_type == CALENDAR:
        return invites.parse_calendar(data)
    if content_type == EMAIL:
        return mail.parse_email(data)
    if content_type == MSG:
        return mail.parse_email(mail.outlook_message_as_email(data))
    if content_type in {MARKDOWN, TEXT}:
        return text.parse_text(data)
    if content_type in IMAGES:
        return pictures.parse_picture(data)
    raise IngestionError(f"Files of type {content_type} cannot be read.")


def attached_files(data: bytes, content_type: str) -> list[tuple[str, bytes]]:
    """The files an email or a PDF carries inside it, as (file name, bytes)."""
    if content_type in EMAILS:
        return email_attachments(data)
    if content_type == PDF:
        return pdf_attachments(data)
    return []
