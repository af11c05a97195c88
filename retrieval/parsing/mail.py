"""Emails (.eml, and Outlook .msg read as the email it holds): headers, text, a meeting
invitation's details, attachments."""

from __future__ import annotations

import logging
import re
from pathlib import PurePosixPath
from typing import Any

from retrieval.errors import IngestionError
from retrieval.parsing.invites import invitation_lines
from retrieval.parsing.kinds import CALENDAR, OLE_SIGNATURE
from retrieval.parsing.segments import ParsedDocument, Segment
from retrieval.parsing.text import decode_text
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
            content = part_text(body)
            text = html_to_text(content) if body.get_content_type() == "text/html" else content
        attached = [
            f"{_attachment_name(part, 0)} ({part.get_content_type()})"
            for part in message.iter_attachments()
            if (part.get_filename() or _is_message(part)) and not _is_signature(part)
        ]
        invited = [
            event
            for part in message.walk()
            if part.get_content_type() == CALENDAR and not part.get_filename()
            for event in invitation_lines(part_text(part))
        ]
    except Exception as error:  # the email package raises many kinds on broken mail
        logger.info("unreadable email: %r", error)
        raise IngestionError(
            "The email is damaged and could not be read.", code="corrupt_file"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text and not attached and not invited:
        raise IngestionError("This email contains no text.", code="no_text")
    own, history = split_reply(text)
    if invited:  # a meeting invitation: its calendar data says what the text may not
        own = "\n\n".join([own, *invited]).strip()
    if attached:
        own += "\n\nAttachments: " + ", ".join(attached)
    segments = [Segment(text="\n".join(lines) + "\n\n" + own)]
    if history:
        segments.append(Segment(text=history))
    return ParsedDocument(segments=segments, pages=None)


def part_text(part: Any) -> str:
    """A text part's words in the charset it declares, or, when its bytes do not fit
    that (old mail programs wrote Windows-1252 and called it ASCII or UTF-8, or named
    none), in the one they fit: "Inés", not "In\ufffds"."""
    data = part.get_payload(decode=True) or b""
    declared = part.get_content_charset()
    if declared:
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return decode_text(data) if data else ""
    except IngestionError:  # no charset fits: what can be read of it
        return data.decode("utf-8", errors="replace")


# The line a forward begins its message with ("---------- Forwarded message ----------").
_FORWARDS = re.compile(r"\bforward(?:ed)?\b[^\n]*$", re.I)


def split_reply(text: str) -> tuple[str, str]:
    """A reply's own text, and the earlier messages it quotes, every line marked
    "> " ("" when it quotes none). Apart, the reply's passages hold what it says,
    not its whole thread again, and search ranks the quoted copies below the
    messages themselves (`retrieval.search.QUOTED_WEIGHT`). mail-parser-reply
    finds where the history starts ("On ... wrote:", Outlook's "From: ... Sent:",
    in several languages); a forwarded message is the email's content, not a
    quote, and stays as it is.

    Its patterns take time in the square of a line's length (a 10,000-character
    line opening with "On": over a second), so it reads the first REPLY_LINES
    lines cut to REPLY_LINE_WIDTH characters, as long as any header line is; the
    text is split at the line where it found the history to start."""
    from mailparser_reply import EmailReplyParser

    lines = text.split("\n")
    probe = "\n".join(line[:REPLY_LINE_WIDTH] for line in lines[:REPLY_LINES])
    replies = EmailReplyParser(languages=REPLY_LANGUAGES).read(text=probe).replies
    own = replies[0].content.strip() if replies else ""
    if len(replies) < 2 or not own or _FORWARDS.search(own):
        return text, ""
    first = replies[1].content.strip().split("\n")[0].strip()
    starts = len(own.split("\n"))  # not before the end of the reply's own lines
    at = next(
        (n for n in range(starts, len(lines)) if lines[n][:REPLY_LINE_WIDTH].strip() == first),
        None,
    )
    if at is None:
        return text, ""
    history = "\n".join(
        line if line.startswith(">") else f"> {line}".rstrip() for line in lines[at:]
    )
    return "\n".join(lines[:at]).strip(), _BLANK_QUOTED_LINES.sub(r"\1", history).strip()


# Where a reply's quoted history is looked for (see split_reply).
REPLY_LINES = 1_000
REPLY_LINE_WIDTH = 200
# Several empty quoted lines in a row, kept as one.
_BLANK_QUOTED_LINES = re.compile(r"(?m)^(>[> ]*\n)(?:>[> ]*\n)+")


# The languages whose reply headers are recognised ("On ... wrote:", "Am ... schrieb").
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "cs"]


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
        if _is_signature(part):
            continue
        # A message forwarded as an attachment is an email of its own.
        payload = (
            part.get_content().as_bytes() if _is_message(part) else part.get_payload(decode=True)
        )
        if not payload:
            continue
        found.append((_attachment_name(part, number), payload))
    return found


# A signed message's signature (S/MIME, PGP): not a file anyone attached.
_SIGNATURES = {
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-signature",
}


def _is_signature(part: Any) -> bool:
    return part.get_content_type() in _SIGNATURES


def _is_message(part: Any) -> bool:
    return part.get_content_type() == "message/rfc822"


def _attachment_name(part: Any, number: int) -> str:
    """An attachment's file name (no folders); an attached email's, its subject."""
    name = part.get_filename() or ""
    if not name and _is_message(part):
        subject = " ".join(str(part.get_content()["Subject"] or "").split())
        name = f"{subject.replace('/', '-') or 'message'}.eml"
    return PurePosixPath(name.replace("\\", "/")).name or f"attachment-{number}"
