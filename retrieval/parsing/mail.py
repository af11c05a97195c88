"""Emails (.eml, and Outlook .msg read as the email it holds): headers, text, attachments."""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from retrieval.errors import IngestionError
from retrieval.parsing.kinds import OLE_SIGNATURE
from retrieval.parsing.segments import ParsedDocument, Segment
from retrieval.parsing.web import html_to_text

logger = logging.getLogger(__name__)


def parse_email(data: bytes) -> ParsedDocument:
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
