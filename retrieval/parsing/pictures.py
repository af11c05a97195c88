"""Pictures (JPEG, PNG, WebP, TIFF, and HEIC, the iPhone's photos): no text layer, every
frame read by OCR."""

from __future__ import annotations

import io
import logging
from functools import cache
from typing import Any

from retrieval.errors import IngestionError
from retrieval.parsing.segments import ParsedDocument

# A picture larger than this many pixels is refused (a decompression bomb is
# tiny on disk and gigabytes in memory); an A3 scan at 600 dpi has 70 million.
MAX_IMAGE_PIXELS = 120_000_000

logger = logging.getLogger(__name__)


@cache
def _heif_opener() -> None:
    """Pillow reads HEIC (an iPhone's photos) once pillow-heif registers it."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def open_picture(data: bytes) -> Any:
    """A picture opened by Pillow, HEIC included; its pixels are read when used."""
    from PIL import Image

    _heif_opener()
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS // 2  # Pillow refuses at twice its limit
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:  # checked here too: not every reader asks Pillow
        image.close()
        raise Image.DecompressionBombError(f"{width} x {height} pixels")
    return image


def parse_picture(data: bytes) -> ParsedDocument:
    """A picture (a photo of a whiteboard, a scanned page): every frame goes to OCR."""
    from PIL import Image, UnidentifiedImageError

    try:
        with open_picture(data) as image:
            image.verify()
        with open_picture(data) as image:
            frames = getattr(image, "n_frames", 1)
    except Image.DecompressionBombError:
        raise IngestionError(
            f"This picture has more than {MAX_IMAGE_PIXELS:,} pixels, too many to read "
            "safely. Save it at a lower resolution and upload it again.",
            code="too_large",
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        logger.info("unreadable picture: %r", error)
        raise IngestionError(
            "The picture is damaged and could not be read.", code="corrupt_file"
        ) from None
    return ParsedDocument(
        segments=[], pages=frames if frames > 1 else None, scanned=tuple(range(1, frames + 1))
    )
