"""Plain text and Markdown, in whatever encoding they were saved."""

from __future__ import annotations

from charset_normalizer import from_bytes

from retrieval.errors import IngestionError
from retrieval.parsing.segments import ParsedDocument, Segment


def parse_text(data: bytes) -> ParsedDocument:
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
