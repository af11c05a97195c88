"""Files attached to an email (or embedded in a PDF) become documents of their own,
linked to the file that carried them.

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


def file_attachments(parent: Document, data: bytes) -> list[Document]:
    """Create (and queue) a document for each new attachment of `parent` (an email, or
    a PDF with files embedded in it)."""
    try:
        found = parsing.attached_files(data, parent.content_type)
    except Exception:  # the file itself was read; its attachments are a bonus
        logger.warning("%s: attachments could not be read", parent.pk, exc_info=True)
        return []
    filed = []
    for name, payload in found:
        stream = io.BytesIO(payload)
        try:
            checked = uploads.check_upload(parent.owner_id, stream, name, len(payload))
        except RagError as refused:
            if (
                isinstance(refused, DuplicateDocument)
                and Document.objects.filter(pk=refused.existing_id, attached_to=parent).exists()
            ):
                continue  # filed by an earlier ingestion of this file
            logger.info("%s: attachment %r left out: %s", parent.pk, name, refused.message)
            continue
        if checked.content_type in parsing.IMAGES and _small_picture(payload):
            continue
        try:
            filed.append(
                documents.create_document(
                    parent.owner,
                    stream,
                    name,
                    title=f"{uploads.default_title(checked.filename)} (attached to {parent.title})",
                    checked=checked,
                    attached_to=parent,
                )
            )
        except RagError as refused:  # the same file filed at the same moment, say
            logger.info("%s: attachment %r left out: %s", parent.pk, name, refused.message)
    return filed


def _small_picture(payload: bytes) -> bool:
    try:
        with parsing.pictures.open_picture(payload) as picture:
            return max(picture.size) < MIN_PICTURE_SIDE
    except Exception:
        return True  # not a picture that could be read: nothing to lose
