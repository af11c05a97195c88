"""Text of pictures, read by Tesseract: scanned PDF pages, photos, scans saved as images.

OCR is slow (seconds a page) and runs an outside program, so it runs only in
the ingestion worker, a page at a time in a limited child process
(`retrieval.child`), never while a request waits. The text it reads is marked
(`Segment.ocr`), and citations say so: a misread digit is the reader's to doubt.
A page is first turned the right way up (`upright`): scans lie on their side.
"""

from __future__ import annotations

import re
import shutil
import time
from typing import Any

from django.conf import settings

from retrieval import parsing
from retrieval.errors import IngestionError
from retrieval.parsing import pictures

# Scans are rendered at this resolution: Tesseract reads body text best at 300 dpi.
RENDER_DPI = 300
# A photo smaller than this on its longer side is enlarged before reading.
MIN_LONG_SIDE = 1600

NOT_INSTALLED = (
    "This file needs text recognition (OCR), and Tesseract is not installed on the "
    "server. An administrator can install it (Debian and Ubuntu: apt-get install "
    "tesseract-ocr) and then re-ingest the file."
)


def command() -> str | None:
    """The Tesseract program this server would run, or None when it is missing."""
    return shutil.which(settings.TESSERACT_COMMAND)


def read_page(
    data: bytes, content_type: str, number: int, *, tesseract: str, languages: str, seconds: float
) -> str:
    """The text of one page of a PDF, or one frame of a picture (1-based), by OCR.

    Runs in a child process: the caller resolves the program and the settings,
    so the child reads none of its own.
    """
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = tesseract
    started = time.monotonic()
    picture = upright(_picture(data, content_type, number), seconds=seconds / 4)
    left = seconds - 2 - (time.monotonic() - started)
    try:
        text = pytesseract.image_to_string(picture, lang=languages, timeout=max(1.0, left))
    except RuntimeError:  # pytesseract's word for its own timeout
        raise IngestionError(
            f"Reading page {number} by OCR took longer than {seconds:.0f} seconds, so it "
            "was stopped.",
            code="too_slow",
        ) from None
    except pytesseract.TesseractError as error:
        raise IngestionError(
            f"Text recognition (OCR) could not read page {number}: {error.message.strip()}",
            code="ocr_failed",
        ) from None
    return tidy(text)


# Tesseract's orientation guess is acted on from this confidence (upright and
# turned pages of text score 2 and more; a page with little text, under 1).
MIN_ORIENTATION_CONFIDENCE = 1.5
# The orientation is told on the picture made this small on its longer side.
ORIENTATION_SIDE = 1600


def upright(picture: Any, *, seconds: float) -> Any:
    """The picture turned the right way up when Tesseract's orientation detection
    says it lies on its side or upside down: a page scanned upside down, or a photo
    with no tag saying which way is up, was read as letters of no words. A page too
    bare to tell (the detection refuses it) stays as it is."""
    import pytesseract

    small = picture.copy()
    small.thumbnail((ORIENTATION_SIDE, ORIENTATION_SIDE))  # enough to tell, in half the time
    try:
        found = pytesseract.image_to_osd(
            small, output_type=pytesseract.Output.DICT, timeout=max(1.0, seconds)
        )
    except (pytesseract.TesseractError, RuntimeError):  # too few letters, or too slow
        return picture
    turn = int(found.get("rotate", 0)) % 360
    if turn and float(found.get("orientation_conf", 0.0)) >= MIN_ORIENTATION_CONFIDENCE:
        return picture.rotate(-turn, expand=True)  # its turn is clockwise; PIL's is not
    return picture


def _picture(data: bytes, content_type: str, number: int) -> Any:
    from PIL import ImageOps

    if content_type == parsing.PDF:
        import pypdfium2

        document = pypdfium2.PdfDocument(data)
        try:
            page = document[number - 1]
            return page.render(scale=RENDER_DPI / 72, grayscale=True).to_pil()
        finally:
            document.close()
    image = pictures.open_picture(data)
    image.seek(number - 1)
    # A phone photo is stored sideways with a tag that says which way is up.
    picture = ImageOps.exif_transpose(image.convert("RGB"))
    longer = max(picture.size)
    if 0 < longer < MIN_LONG_SIDE:
        scale = MIN_LONG_SIDE / longer
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)))
    return picture


_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """OCR output without its form feeds, runs of spaces and stray blank lines."""
    text = text.replace("\f", "\n").replace("\r", "")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def merge(parsed: parsing.ParsedDocument, read: dict[int, str]) -> parsing.ParsedDocument:
    """The document with the pages OCR read put in their place among the others."""
    single = parsed.pages is None
    read = {n: "\n".join([text, parsed.overlaid.get(n, "")]).strip() for n, text in read.items()}
    segments = list(parsed.segments) + [
        parsing.Segment(
            text=text,
            page=None if single else number,
            ocr=True,
            page_label=None if single else parsed.labels.get(number),
        )
        for number, text in read.items()
        if text
    ]
    segments.sort(key=lambda segment: segment.page or 0)
    return parsing.ParsedDocument(segments=segments, pages=parsed.pages, labels=parsed.labels)
