"""Pictures (JPEG, PNG, WebP, TIFF): no text layer, every frame read by OCR."""

from __future__ import annotations

import io
import logging

from retrieval.errors import IngestionError
from retrieval.parsing.segments import ParsedDocument

# A picture larger than this many pixels is refused (a decompression bomb is
# tiny on disk and gigabytes in memory); an A3 scan at 600 dpi has 70 million.
MAX_IMAGE_PIXELS = 120_000_000

logger = logging.getLogger(__name__)


def parse_picture(data: bytes) -> ParsedDocument:
    """A picture (a photo of a whiteboard, a scanned page): every frame goes to OCR."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS // 2  # Pillow refuses at twice its limit
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
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
