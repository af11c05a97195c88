"""OpenAIEmbeddings and the LLM entity extractor against a local OpenAI-compatible server."""

from __future__ import annotations

import io

import pytest
from asgiref.sync import async_to_sync

from retrieval import documents, embeddings, ingestion
from retrieval.checks import check_graph_store
from retrieval.graphstores import aget_store, forget_stores
from retrieval.tests import samples
from tests import graph
from tests.openai_server import Reply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def ingest(owner, data: bytes, name: str):
    document = documents.create_document(owner, io.BytesIO(data), name, enqueue=False)
    ingestion.ingest_document(document.pk)
    document.refresh_from_db()
    return document


def stored_chunks(document):
    async def read():
        return await graph.stored_chunks(await aget_store(), str(document.pk))

    return async_to_sync(read)()


def test_openai_embeddings_are_used_when_configured(alice, settings, openai_configured):
    settings.EMBEDDINGS = "openai"

    document = ingest(alice, samples.MARKDOWN.encode(), "apollo.md")

    assert document.status == "ready", document.error
    chunks = stored_chunks(document)
    assert {len(c.embedding) for c in chunks} == {1536}
    sent = [r["body"]["input"] for r in openai_configured.requests if "embeddings" in r["path"]]
    # Each passage is embedded with its document's title before it (the summary's
    # sentences are embedded after them).
    passages = [f"{document.title}\n\n{c.text}" for c in chunks]
    assert passages == [t for b in sent for t in b][: len(passages)]


def test_a_model_of_another_dimension_is_refused_with_a_clear_reason(
    alice, settings, openai_server
):
    ingest(alice, samples.MARKDOWN.encode(), "apollo.md")  # local model: 384 dimensions
    settings.EMBEDDINGS, settings.OPENAI_API_KEY = "openai", "test-key"
    settings.OPENAI_BASE_URL = openai_server.base_url
    embeddings.reset()
    forget_stores()
    try:
        errors = check_graph_store(databases=["default"])
        document = ingest(alice, b"Falcons hunt at dawn over the cliffs.", "falcons.txt")
    finally:
        embeddings.reset()

    assert [e.id for e in errors] == ["retrieval.E003"]
    assert "384-dimension" in errors[0].msg and "1536-dimension" in errors[0].msg
    assert document.status == "failed" and "1536-dimension" in document.error


def test_the_chat_model_names_and_types_entities_when_configured(alice, openai_configured):
    openai_configured.completions.append(
        Reply(
            [
                '```json\n[{"name": "Neil Armstrong", "type": "person"}, ',
                '{"name": "NASA", "type": "organization"}, {"name": "", "type": "person"}]\n```',
            ]
        )
    )

    document = ingest(alice, samples.MARKDOWN.encode(), "apollo.md")

    assert document.status == "ready", document.error

    async def read():
        return await graph.stored_entities(await aget_store(), alice.pk)

    found = {(e.name, e.type) for e in async_to_sync(read)()}
    assert found == {("Neil Armstrong", "person"), ("NASA", "organization")}
    asked = [r for r in openai_configured.requests if "chat" in r["path"]]
    assert "Buzz Aldrin" in asked[0]["body"]["messages"][-1]["content"]


def test_entities_fall_back_to_the_local_extractor_when_the_model_fails(
    alice, settings, openai_configured
):
    openai_configured.stop()  # nothing answers any more

    document = ingest(alice, samples.MARKDOWN.encode(), "apollo.md")

    assert document.status == "ready", document.error

    async def read():
        return await graph.stored_entities(await aget_store(), alice.pk)

    assert "NASA" in {e.name for e in async_to_sync(read)()}


def test_the_chat_model_names_entities_for_every_document_not_only_the_first(
    alice, openai_configured
):
    # Each ingestion runs on an event loop of its own, as in the worker: a client
    # kept from an earlier loop would fail and leave only the local extractor.
    names = iter([("Buzz Aldrin", "person"), ("Sea of Tranquility", "location")])

    def respond(body: dict) -> Reply:
        if "extract named entities" not in str(body["messages"][0]):
            return Reply(["A short summary of the document."])
        name, kind = next(names)
        return Reply([f'[{{"name": "{name}", "type": "{kind}"}}]'])

    openai_configured.respond_plain = respond

    first = ingest(alice, samples.MARKDOWN.encode(), "apollo.md")
    second = ingest(alice, b"The Eagle landed in the Sea of Tranquility in 1969.", "eagle.txt")

    assert first.status == second.status == "ready"

    async def read():
        return await graph.stored_entities(await aget_store(), alice.pk)

    found = {(e.name, e.type) for e in async_to_sync(read)()}
    assert {("Buzz Aldrin", "person"), ("Sea of Tranquility", "location")} <= found, found
