"""Word documents and PowerPoint presentations: paragraphs (a Word draft's tracked
changes accepted), tables a row a line, text boxes, content controls, reviewers'
comments, footnotes, page headers and footers, slides' shapes (grouped ones too),
charts and speaker notes."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from retrieval.errors import IngestionError
from retrieval.parsing.segments import ParsedDocument, Segment

logger = logging.getLogger(__name__)

_WORD = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PARAGRAPH, _TABLE, _CONTROL = f"{_WORD}p", f"{_WORD}tbl", f"{_WORD}sdt"


def parse_docx(data: bytes) -> ParsedDocument:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        comments = _comments(document)
        notes = _notes(document)
        numbered: dict[str, int] = {}  # notes read so far, of each kind: Word numbers them so
        blocks: list[str] = []
        body = document._body
        for element in block_elements(document.element.body):
            block = Table(element, body) if element.tag == _TABLE else Paragraph(element, body)
            if isinstance(block, Table):
                blocks.extend(_table_rows(block))
            else:
                text = paragraph_text(block._p).strip()
                if text:
                    style = (block.style.name if block.style is not None else "") or ""
                    if style.startswith("Heading"):
                        level = style.removeprefix("Heading").strip()
                        text = "#" * (int(level) if level.isdigit() else 1) + " " + text
                    blocks.append(text)
                blocks += _text_boxes(block._p)
            for number in block._element.xpath(".//w:commentReference/@w:id"):
                blocks += [comments.pop(number)] if number in comments else []
            for reference in block._element.xpath(_NOTE_REFERENCES):
                note = notes.pop((reference.tag, reference.get(f"{_WORD}id")), None)
                numbered[reference.tag] = count = numbered.get(reference.tag, 0) + 1
                blocks += [f"{_NOTE_NAMES[reference.tag]} {count}: {note}"] if note else []
        headers, footers = _margins(document)
        unplaced = [f"{_NOTE_NAMES[kind]}: {note}" for (kind, _), note in notes.items()]
        blocks = headers + blocks + list(comments.values()) + unplaced + footers
    except Exception as error:  # python-docx raises many kinds on broken XML
        logger.info("unreadable DOCX: %r", error)
        raise IngestionError(
            "The Word document is damaged and could not be read.", code="corrupt_file"
        ) from None
    text = "\n\n".join(blocks).strip()
    if not text:
        raise IngestionError("This Word document contains no text.", code="no_text")
    return ParsedDocument(segments=[Segment(text=text)], pages=None)


def _comments(document: Any) -> dict[str, str]:
    """Reviewers' comments by id, each as a line ("Comment by Nadia Rahimi: confirm
    the date with Tom"): read after the paragraph they are about, the rest at the end.
    A review's questions and decisions are often only there."""
    found = {}
    for comment in document.comments:
        text = " ".join(comment.text.split())
        if text:
            author = f" by {comment.author}" if comment.author else ""
            found[str(comment.comment_id)] = f"Comment{author}: {text}"
    return found


_NOTE_REFERENCES = ".//w:footnoteReference | .//w:endnoteReference"
_NOTE_NAMES = {f"{_WORD}footnoteReference": "Footnote", f"{_WORD}endnoteReference": "Endnote"}


def _notes(document: Any) -> dict[tuple[str, str], str]:
    """Footnotes and endnotes by (their reference's tag, id), read after the paragraph
    that calls them (a figure's source, a date's caveat), the others at the end.
    python-docx does not read them."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import parse_xml

    found = {}
    for kind, relation in (
        ("footnote", RELATIONSHIP_TYPE.FOOTNOTES),
        ("endnote", RELATIONSHIP_TYPE.ENDNOTES),
    ):
        for link in document.part.rels.values():
            if link.reltype != relation or link.is_external:
                continue
            for note in parse_xml(link.target_part.blob).iterchildren(f"{_WORD}{kind}"):
                if note.get(f"{_WORD}type") not in (None, "normal"):
                    continue  # the separator lines Word keeps with the notes
                paragraphs = note.iter(_PARAGRAPH)
                text = " ".join(" ".join(paragraph_text(p) for p in paragraphs).split())
                if text:
                    found[(f"{_WORD}{kind}Reference", note.get(f"{_WORD}id"))] = text
    return found


def _margins(document: Any) -> tuple[list[str], list[str]]:
    """The lines of the pages' headers and of their footers, each once: a title, a
    version, a date or a classification that the body does not repeat ("Launch brief
    v3 — 4 July 2025 — Confidential"). A line without a letter (a page number) is not
    read."""
    from docx.table import Table

    found: tuple[list[str], list[str]] = ([], [])
    for section in document.sections:
        for lines, parts in (
            (found[0], (section.header, section.first_page_header, section.even_page_header)),
            (found[1], (section.footer, section.first_page_footer, section.even_page_footer)),
        ):
            for part in parts:
                if part.is_linked_to_previous:  # none of its own: the previous section's
                    continue
                for block in part.iter_inner_content():
                    table = isinstance(block, Table)
                    texts = _table_rows(block) if table else [paragraph_text(block._p)]
                    for text in (" ".join(t.split()) for t in texts):
                        if any(ch.isalpha() for ch in text) and text not in lines:
                            lines.append(text)
    return found


def _text_boxes(paragraph: Any) -> list[str]:
    """The lines of the text boxes a Word paragraph holds (a flyer's panels, a form's
    boxes), which its text leaves out. Word writes each box twice, as a drawing and as
    a fallback picture for older readers: the fallback is not read."""
    lines = (paragraph_text(line).strip() for line in _text_box_paragraphs()(paragraph))
    return [line for line in lines if line]


# The runs of a paragraph as Word shows it with its tracked changes accepted: those
# inserted (w:ins, w:moveTo) are in it, those deleted (w:del, w:moveFrom) are not.
# python-docx's text reads only the untracked runs: "The launch is on 29 October."
# with the date typed in review was read "The launch is on ."
_SHOWN_RUNS = " | ".join(
    f"{parent}{child}"
    for parent in ("./", "./w:ins/", "./w:moveTo/", "./w:smartTag/", "./w:sdt/w:sdtContent/")
    for child in ("w:r", "w:hyperlink")
)


def paragraph_text(paragraph: Any) -> str:
    """The text of a w:p element, its tracked changes accepted."""
    return "".join(run.text for run in paragraph.xpath(_SHOWN_RUNS))


@cache
def _text_box_paragraphs() -> Any:
    """The paragraphs of a paragraph's text boxes. Word writes each box twice, as a
    drawing and as a fallback picture for older readers: the fallback is not read."""
    from lxml import etree

    return etree.XPath(
        ".//w:txbxContent[not(ancestor::mc:Fallback)]/w:p",
        namespaces={
            "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
            "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
        },
    )


def block_elements(container: Any) -> Iterator[Any]:
    """The paragraphs and tables of a body or a table cell, in order, those inside
    content controls too (a template's title, date and author boxes, a form's
    fields), which python-docx leaves out."""
    for child in container.iterchildren():
        if child.tag in (_PARAGRAPH, _TABLE):
            yield child
        elif child.tag == _CONTROL:
            content = child.find(f"{_WORD}sdtContent")
            if content is not None:
                yield from block_elements(content)


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            value = _cell_text(cell)
            if not cells or cells[-1] != value:  # merged cells repeat their text
                cells.append(value)
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _cell_text(cell: Any) -> str:
    """A Word table cell's text (its tracked changes accepted, its content controls and
    a table inside it read, that table's rows apart), or a slide's table cell's."""
    if cell._tc.tag != f"{_WORD}tc":
        return " ".join(cell.text.split())
    from docx.table import Table

    parts = [
        paragraph_text(block) if block.tag == _PARAGRAPH else _inner_table(Table(block, cell))
        for block in block_elements(cell._tc)
    ]
    return " ".join(" ".join(parts).split())


def _inner_table(table: Any) -> str:
    """A table inside a cell, its rows apart and its cells a comma apart: "Task, Owner;
    Pricing page, Ines" (a bar would read as the outer table's)."""
    return "; ".join(row.replace(" | ", ", ") for row in _table_rows(table))


def parse_pptx(data: bytes) -> ParsedDocument:
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
        elif shape.has_chart:
            blocks += _chart_lines(shape.chart)
    return blocks


def _chart_lines(chart: Any) -> list[str]:
    """A chart's title and figures, a series a line: "Chart: Budget by line", "Planned:
    Video 25000; Paid media 40000". A slide's chart holds its numbers, not its text."""
    from retrieval.parsing.sheets import cell_text

    lines = []
    if chart.has_title and chart.chart_title.has_text_frame:
        title = " ".join(chart.chart_title.text_frame.text.split())
        lines += [f"Chart: {title}"] if title else []
    for plot in chart.plots:
        categories = [" ".join(str(category).split()) for category in plot.categories]
        for series in plot.series:
            figures = [
                f"{category} {cell_text(value)}".strip()
                for category, value in zip(categories, series.values, strict=False)
                if value is not None
            ]
            if figures:
                lines.append(f"{series.name or 'Series'}: {'; '.join(figures)}")
    return lines
