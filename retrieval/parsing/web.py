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
    """The text a reader sees in an HTML page or email: no tags, scripts, styles or
    navigation menus; a table a row a line, its cells apart ("North | 1,200 | Ana
    Lima", as a Word table is read), not run together ("North1,200Ana Lima")."""

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
            "dl",
            "dt",
            "dd",
            "blockquote",
            "section",
            "article",
            "main",
            "header",
            "footer",
            "aside",
            "figure",
            "figcaption",
            "caption",
            "pre",
            "hr",
        ]
    )
    HIDDEN = frozenset(["script", "style", "head", "title", "template", "noscript", "nav"])

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._cells: list[int] = []  # cells so far in the row of each open table

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in ("td", "th") and self._cells:
            if self._cells[-1]:
                self.parts.append(" | ")
            self._cells[-1] += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
            if tag == "table":
                self._cells.append(0)
            elif tag == "tr" and self._cells:
                self._cells[-1] = 0
            elif tag[0] == "h" and tag[1:].isdigit():  # a heading, as Markdown writes it
                self.parts.append("#" * int(tag[1:]) + " ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")
            if tag == "table" and self._cells:
                self._cells.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    reader = _TextOfHTML()
    reader.feed(markup)
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.parts).splitlines())
    return "\n".join(line for line in lines if line)
