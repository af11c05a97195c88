"""Split parsed segments into overlapping chunks that keep their page number and label."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from retrieval.parsing import MARKDOWN, ParsedDocument


@dataclass(frozen=True)
class TextChunk:
    index: int
    text: str
    page: int | None
    ocr: bool = False  # read from a picture by OCR
    page_label: str | None = None  # the page's printed label, when not its number


def split(
    parsed: ParsedDocument,
    content_type: str,
    *,
    size: int | None = None,
    overlap: int | None = None,
) -> list[TextChunk]:
    size = size or settings.CHUNK_SIZE
    overlap = settings.CHUNK_OVERLAP if overlap is None else overlap
    if content_type == MARKDOWN:
        splitter = RecursiveCharacterTextSplitter.from_language(
            Language.MARKDOWN, chunk_size=size, chunk_overlap=overlap
        )
    else:
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=size,
            chunk_overlap=overlap,
            separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
            keep_separator="end",
        )
    chunks: list[TextChunk] = []
    # Pages are split one by one so that every chunk cites exactly one page.
    for segment in parsed.segments:
        for piece in splitter.split_text(segment.text):
            piece = piece.strip()
            if piece:
                chunks.append(
                    TextChunk(
                        index=len(chunks),
                        text=piece,
                        page=segment.page,
                        ocr=segment.ocr,
                        page_label=segment.page_label,
                    )
                )
    return chunks
