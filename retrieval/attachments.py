"""Files attached to an email become documents of their own, linked to the email.

A quote sent as a PDF is read, searched and cited like any upload; the row
points at its email (`Document.attached_to`, and ATTACHED_TO in the graph), so
deleting the email deletes its attachments. An attachment goes through the
same checks as an upload; one that fails them (an unsupported kind, a
duplicate of a file already uploaded, a full quota) is left out and logged,
and the email stays ready. Small pictures (logos, signatures, icons) carry no
text worth reading and are left out too.
"""

from __future__ import annotations

import io
import logging

from retrieval import documents, parsing, uploads
from retrieval.errors import DuplicateDocument, RagError
from retrieval.models import Document

logger = logging.getLogger(__name__)

# A picture smaller than this on its longer side is a logo or an icon.
MIN_PICTURE_SIDE = 400


def file_attachments(email: Document, data: bytes) -> list[Document]:
    """Create (and queue) a document for each new attachment of `email`."""
    try:
        found = parsing.email_attachments(data)
    except Exception:  # the email itself was read; its attachments are a bonus
        logger.warning("email %s: attachments could not be read", email.pk, exc_info=True)
        return []
    filed = []
    for name, payload in found:
        stream = io.BytesIO(payload)
        try:
            checked = uploads.check_upload(email.owner_id, stream, name, len(payload))
        except RagError as refused:
            if (
                isinstance(refused, DuplicateDocument)
                and Document.objects.filter(pk=refused.existing_id, attached_to=email).exists()
            ):
                continue  # filed by an earlier ingestion of this email
            logger.info("email %s: attachment %r left out: %s", email.pk, name, refused.message)
            continue
        if checked.content_type in parsing.IMAGES and _small_picture(payload):
            continue
        try:
            filed.append(
                documents.create_document(
                    email.owner,
                    stream,
                    name,
                    title=f"{uploads.default_title(checked.filename)} (attached to {email.title})",
                    checked=checked,
                    attached_to=email,
                )
            )
        except RagError as refused:  # the same file filed at the same moment, say
            logger.info("email %s: attachment %r left out: %s", email.pk, name, refused.message)
    return filed


def _small_picture(payload: bytes) -> bool:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(payload)) as picture:
            return max(picture.size) < MIN_PICTURE_SIDE
    except Exception:
        return True  # not a picture that could be read: nothing to lose
