"""Background tasks (Django's tasks framework; the database backend runs them in the worker)."""

from __future__ import annotations

from django.tasks import task

from retrieval.graphstores import loop_scope
from retrieval.ingestion import aingest_document


@task
async def ingest_document_task(document_id: str) -> str:
    # The worker runs each task on a loop of its own: close what it opened.
    async with loop_scope():
        return await aingest_document(document_id)
