"""Documents made ready the way the worker makes them, for tests that need searchable text."""

from __future__ import annotations

import io

from retrieval import documents, ingestion
from retrieval.models import Document


def ingest(owner, text: str, name: str) -> Document:
    """Upload `text` as a file of `owner` and ingest it in this process; it must become ready."""
    document = documents.create_document(owner, io.BytesIO(text.encode()), name, enqueue=False)
    ingestion.ingest_document(document.pk)
    document.refresh_from_db()
    assert document.status == "ready", document.error
    return document
