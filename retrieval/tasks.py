"""The ingestion queue: put documents in it, take interrupted ones back into it.

Django's tasks framework carries the queue (the database backend runs tasks in
`manage.py worker`). A document is queued by one conditional UPDATE of its
status and then one task, so a document already being ingested is never
queued a second time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from django.db import close_old_connections
from django.db.models import QuerySet
from django.tasks import task
from django.utils import timezone

from retrieval.ingestion import aingest_document
from retrieval.loops import loop_scope
from retrieval.models import Document

logger = logging.getLogger(__name__)


@task
async def ingest_document_task(document_id: str) -> str:
    # The worker runs each task on a loop of its own: close what it opened.
    async with loop_scope():
        return await aingest_document(document_id)


@task
async def delete_graph_task(document_id: str, owner_id: int) -> None:
    """A deleted document's chunks, cleared from the graph store after its row is gone."""
    from retrieval.documents import adelete_graph
    from retrieval.ingestion import with_retries

    async with loop_scope():
        await with_retries(lambda: adelete_graph(document_id, owner_id))


def enqueue(document: Document) -> None:
    ingest_document_task.enqueue(str(document.pk))


def requeue(document: Document) -> bool:
    """Queue a document for (re-)ingestion; its old chunks stay readable until replaced.

    A document being ingested right now is left alone (False).
    """
    idle = Document.objects.filter(pk=document.pk).exclude(status__in=Document.IN_PROGRESS)
    return _queue(idle, document)


def _queue(documents: QuerySet[Document], document: Document) -> bool:
    """Queue `document` if `documents` (its row, narrowed by a condition) still matches."""
    queued = documents.update(
        status=Document.Status.QUEUED,
        error="",
        chunks_done=0,
        chunks_total=0,
        updated=timezone.now(),
    )
    if queued:
        enqueue(document)
    return bool(queued)


def requeue_interrupted(*, idle: timedelta = timedelta(minutes=5)) -> list[Document]:
    """Documents left mid-ingestion by a killed worker go back to the queue.

    A running ingestion touches `updated` every INGEST_HEARTBEAT_SECONDS while
    it moves on, so a document in progress with no update for `idle` has lost
    its worker (or its worker is stuck). Each
    is re-queued by one conditional UPDATE, so one that finished or beat in the
    meantime is left alone (never ingested twice at once).
    """
    cutoff = timezone.now() - idle
    stale = Document.objects.filter(status__in=Document.IN_PROGRESS, updated__lt=cutoff)
    requeued = [document for document in stale if _queue(stale.filter(pk=document.pk), document)]
    for document in requeued:
        logger.warning("re-queued interrupted ingestion of %s", document.pk)
    return requeued


def watch_interrupted(stop: threading.Event, *, idle: timedelta, every: float) -> None:
    """Re-queue interrupted ingestions every `every` seconds until `stop` is set.

    Run beside a worker: a worker killed and restarted within `idle` finds its
    document still looking alive at start-up, so start-up alone would leave it
    stuck in progress.
    """
    run_every(stop, every, lambda: requeue_interrupted(idle=idle))


def run_every(stop: threading.Event, seconds: float, job: Callable[[], object]) -> None:
    """Run `job` every `seconds` until `stop` is set, on a thread beside the worker."""
    while not stop.wait(seconds):
        try:
            job()
        except Exception:  # a database hiccup must not end the loop
            logger.exception("a periodic job of the worker failed")
        finally:
            close_old_connections()
