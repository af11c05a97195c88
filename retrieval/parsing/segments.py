"""What a parser gives back: a document's text segments, with their pages."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    # What lies over a scanned page (a form's answers, reviewers' comments), by page
    # number: read after the text OCR finds on it.
    overlaid: dict[int, str] = field(default_factory=dict)
