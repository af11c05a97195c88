"""A remote embedding model that never answers: the caller is let down in time, with reasons."""

from __future__ import annotations

import io
import time

import pytest

from retrieval import documents, embeddings, ingestion
from retrieval.errors import EmbeddingError
from retrieval.search import retrieve
from tests.documents import ingest
from tests.silent_server import silent_port


@pytest.fixture
def hung_embeddings(settings):
    with silent_port() as port:
        settings.EMBEDDINGS = "openai"
        settings.OPENAI_API_KEY = "test-key"
        settings.OPENAI_BASE_URL = f"http://127.0.0.1:{port}/v1"
        settings.OPENAI_STREAM_TIMEOUT = 1
        embeddings.reset()
        try:
            yield
        finally:
            embeddings.reset()


def test_a_silent_embedding_server_fails_the_call_after_its_timeout(hung_embeddings):
    started = time.monotonic()
    with pytest.raises(EmbeddingError) as failure:
        embeddings.embed_queries(["How fast does a falcon dive?"])

    assert failure.value.code == "embeddings_timeout"
    assert failure.value.message == EmbeddingError.SLOW
    assert time.monotonic() - started < 10  # 1 s, once more after a pause, then given up


@pytest.mark.django_db(transaction=True)
def test_a_question_whose_vector_cannot_be_made_fails_with_that_reason(alice, settings):
    ingest(alice, "Peregrine falcons nest on cliffs.", "falcons.txt")  # the local model
    # The words find that passage while the vector is awaited: the search still fails,
    # rather than answer from the words alone.
    with silent_port() as port:
        settings.EMBEDDINGS, settings.OPENAI_API_KEY = "openai", "test-key"
        settings.OPENAI_BASE_URL = f"http://127.0.0.1:{port}/v1"
        settings.OPENAI_STREAM_TIMEOUT = 1
        embeddings.reset()
        try:
            with pytest.raises(EmbeddingError) as failure:
                retrieve(alice.pk, "Where do peregrine falcons nest?")
        finally:
            embeddings.reset()

    assert failure.value.code == "embeddings_timeout"


@pytest.mark.django_db(transaction=True)
def test_a_document_meeting_a_silent_embedding_server_fails_with_that_reason(
    hung_embeddings, alice, settings
):
    settings.INGEST_RETRIES, settings.INGEST_RETRY_SECONDS = 1, 0
    document = documents.create_document(
        alice, io.BytesIO(b"Peregrine falcons nest on cliffs."), "falcons.txt", enqueue=False
    )

    status = ingestion.ingest_document(document.pk)

    document.refresh_from_db()
    assert status == document.status == "failed"
    assert document.error.startswith(EmbeddingError.SLOW) and "Tried 2 times" in document.error


@pytest.mark.django_db(transaction=True)
def test_an_ingestion_that_stops_moving_on_is_stopped_with_its_reason(
    hung_embeddings, alice, settings
):
    # The embedding call would wait 20 s for its answer; nothing moves for 3 s.
    settings.OPENAI_STREAM_TIMEOUT, settings.INGEST_RETRIES = 20, 0
    settings.INGEST_STALL_SECONDS, settings.INGEST_HEARTBEAT_SECONDS = 3, 0.1
    embeddings.reset()
    document = documents.create_document(
        alice, io.BytesIO(b"Peregrine falcons nest on cliffs."), "falcons.txt", enqueue=False
    )

    status = ingestion.ingest_document(document.pk)

    document.refresh_from_db()
    assert status == document.status == "failed"
    assert document.error.startswith(
        "Processing this document stopped making progress (finding names in it, "
        "nothing moved for 3 s)."
    )
