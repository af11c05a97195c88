"""Ingestion meeting faults: the document goes away, the graph store goes away."""

from __future__ import annotations

import io
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.management import call_command
from django.db import transaction

from queries.answering import Question, aanswer
from retrieval import documents, ingestion
from retrieval.errors import StoreError
from retrieval.graphstores import aget_store, forget_stores
from retrieval.models import Document
from tests import graph
from tests.silent_server import silent_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# 150 short paragraphs, a chunk each: more than one write batch of the store.
LONG = "\n\n".join(
    f"Report {n}: NASA and the Apollo program met at Houston in week {n}." for n in range(150)
)


def upload(owner, text: str, name: str) -> Document:
    return documents.create_document(owner, io.BytesIO(text.encode()), name, enqueue=False)


def in_graph(document: Document) -> tuple[int, list]:
    async def read():
        store = await aget_store()
        chunks = await graph.count_chunks(store, str(document.pk))
        return chunks, await graph.stored_entities(store, document.owner_id)

    return async_to_sync(read)()


def test_a_document_deleted_while_its_chunks_are_written_leaves_nothing_behind(alice, settings):
    settings.CHUNK_SIZE, settings.CHUNK_OVERLAP = 100, 0
    document = upload(alice, LONG, "reports.txt")
    deleted: list[int] = []

    async def delete_midway(stage: str, done: int, total: int) -> None:
        if stage == "indexing" and done > 0 and not deleted:
            deleted.append(done)  # some chunks are written, more are to come
            row = await Document.objects.aget(pk=document.pk)
            await sync_to_async(documents.delete_document)(row)

    status = ingestion.ingest_document(document.pk, on_progress=delete_midway)

    assert deleted and deleted[0] < 150
    assert status == "missing"
    assert not Document.objects.filter(pk=document.pk).exists()
    assert in_graph(document) == (0, [])  # no chunk, staged or not; no orphan entity


def test_a_store_that_cannot_be_reached_after_parsing_fails_the_document_with_its_reason(
    alice, settings
):
    document = upload(alice, "Peregrine falcons nest on cliffs.", "falcons.txt")
    # A real driver against a port where nothing listens: the store is down.
    settings.GRAPH_STORE_BACKEND = settings.GRAPH_STORE_BACKENDS["neo4j"]
    settings.NEO4J_URI = "bolt://127.0.0.1:9"
    settings.INGEST_RETRIES, settings.INGEST_RETRY_SECONDS = 2, 0

    status = ingestion.ingest_document(document.pk)

    document.refresh_from_db()
    assert status == document.status == "failed"
    assert document.error == f"{StoreError.UNREACHABLE} (Tried 3 times over 0 s.)"
    assert document.chunks_total == 1  # parsed and embedded before the store was needed


def test_a_delete_inside_a_transaction_never_waits_on_the_store_and_answers_leave_it_out(
    alice, settings
):
    document = upload(alice, "Peregrine falcons nest on cliffs above the sea.", "falcons.txt")
    assert ingestion.ingest_document(document.pk) == "ready"
    question = Question(owner_id=alice.pk, query="Where do peregrine falcons nest?")
    assert async_to_sync(aanswer)(question)["citations"]
    deleted = Document(pk=document.pk, owner_id=alice.pk)  # delete() forgets the pk

    # The store hangs (a port that never answers): a call to it would take a second.
    with silent_port() as port:
        settings.FALKORDB_URL, settings.GRAPH_STORE_TIMEOUT = f"redis://127.0.0.1:{port}", 1
        forget_stores()
        started = time.monotonic()
        with transaction.atomic():  # as admin's delete view runs it
            documents.delete_document(document)
        elapsed = time.monotonic() - started
    settings.FALKORDB_URL = None
    forget_stores()

    assert elapsed < 0.5  # the store was not called while the database was held
    assert not Document.objects.filter(pk=deleted.pk).exists()
    assert in_graph(deleted)[0] > 0  # its chunks wait for the worker...
    assert async_to_sync(aanswer)(question)["citations"] == []  # ...and are never cited
    call_command("worker", batch=True)
    assert in_graph(deleted) == (0, [])


def test_a_document_with_more_passages_than_allowed_fails_with_that_reason_and_leaves_nothing(
    alice, settings
):
    settings.CHUNK_SIZE, settings.CHUNK_OVERLAP, settings.MAX_CHUNKS_PER_DOCUMENT = 100, 0, 40
    document = upload(alice, LONG, "reports.txt")  # 150 paragraphs

    status = ingestion.ingest_document(document.pk)

    document.refresh_from_db()
    assert status == document.status == "failed"
    assert "more than the 40 one document may have" in document.error
    assert in_graph(document) == (0, [])
