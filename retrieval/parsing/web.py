"""Web pages: their readable text, without scripts, styles and navigation."""

from __future__ import annotations

from html.parser import HTMLParser

from retrieval.errors import IngestionError
from retrieval.parsing.segments import ParsedDocument, Segment
from retrieval.parsing.text import decode_text


def parse_html(data: bytes) -> ParsedDocument:
    """A web page as the text a reader sees, its headings marked as Markdown's."""
    text = html_to_text(decode_text(data))
    if not text:
        raise IngestionError("This web page contains no text.", code="no_text")
    return ParsedDocument(segments=[Segment(text=text)], pages=None)


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
