"""Comparing documents: each one is searched on its own, so the one that says more on
the question never crowds the other out of the answer."""

from __future__ import annotations

import json
import re

import pytest
from rest_framework.test import APIClient

from queries.models import Message
from queries.tests.conftest import post_stream, read_events
from tests.documents import ingest

pytestmark = pytest.mark.django_db(transaction=True)

# The falcon notes say a lot about how falcons hunt; the kestrel notes say a little.
FALCON_NOTES = "\n\n".join(
    f"Falcon hunting, observation {n}. The peregrine falcon hunts other birds in flight: "
    f"it climbs high, then stoops on its prey in a steep dive, striking with its talons. "
    f"On day {n} the pair hunted pigeons over the river and the falcon dived at great "
    "speed, and the survey team noted how the falcon hunts at dawn and dusk. " * 2
    for n in range(1, 9)
)
KESTREL_NOTES = (
    "Kestrel notes. The kestrel hunts by hovering over grassland, facing into the wind, "
    "and drops onto voles and beetles on the ground."
)
QUESTION = "How do they hunt? Compare the falcon notes and the kestrel notes."


@pytest.fixture
def notes(alice):
    return ingest(alice, FALCON_NOTES, "falcon_notes.md"), ingest(
        alice, KESTREL_NOTES, "kestrel_notes.md"
    )


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


def cited_files(answer: dict) -> set[str]:
    return {c["filename"] for c in answer["citations"]}


def test_one_search_over_both_documents_is_crowded_by_the_longer_one(api, notes):
    """Why comparing needs its own search: asked plainly, only the falcon notes come back."""
    ids = [str(d.pk) for d in notes]
    plain = api.post(
        "/api/query/", {"query": "How do they hunt?", "document_ids": ids}, format="json"
    )
    assert cited_files(plain.json()) == {"falcon_notes.md"}


def test_compare_searches_each_chosen_document_and_the_answer_quotes_each(api, notes):
    ids = [str(d.pk) for d in notes]

    answer = api.post(
        "/api/query/",
        {"query": "How do they hunt?", "document_ids": ids, "compare": True},
        format="json",
    ).json()

    assert cited_files(answer) == {"falcon_notes.md", "kestrel_notes.md"}
    by_file = {c["n"]: c["filename"] for c in answer["citations"]}
    quoted = {by_file[int(n)] for n in re.findall(r"\[(\d+)\]", answer["answer"])}
    assert quoted == {"falcon_notes.md", "kestrel_notes.md"}, answer["answer"]
    trace = Message.objects.get(pk=answer["message_id"]).trace
    assert trace["compared"] == ids


def test_a_question_that_names_two_documents_compares_them(api, notes):
    answer = api.post("/api/query/", {"query": QUESTION}, format="json").json()

    assert cited_files(answer) == {"falcon_notes.md", "kestrel_notes.md"}


def test_compare_needs_two_documents(api, notes):
    refused = api.post(
        "/api/query/",
        {"query": "How do they hunt?", "document_ids": [str(notes[0].pk)], "compare": True},
        format="json",
    )
    assert refused.status_code == 400
    assert "at least two documents" in refused.json()["compare"][0]
    assert not Message.objects.exists()


async def test_the_stream_compares_too(async_client, alice_auth, notes):
    ids = [str(d.pk) for d in notes]
    response = await post_stream(
        async_client,
        {"query": "How do they hunt?", "document_ids": ids, "compare": True},
        alice_auth,
    )
    events, _ = await read_events(response)

    citations = json.loads(next(e.data for e in events if e.event == "citations"))
    assert {c["filename"] for c in citations} == {"falcon_notes.md", "kestrel_notes.md"}


def test_an_openai_model_is_told_the_documents_are_compared(api, notes, openai_configured):
    ids = [str(d.pk) for d in notes]

    for compare in (True, False):
        api.post(
            "/api/query/",
            {"query": "How do they hunt?", "document_ids": ids, "compare": compare},
            format="json",
        )

    compared, plain = [
        r["body"]["messages"] for r in openai_configured.requests if "chat" in r["path"]
    ]
    assert compared[-2]["content"].startswith('<passages comparing="yes">\n<passage n="1"')
    assert "answer for each of them" in compared[0]["content"]  # what the tag means
    assert plain[-2]["content"].startswith("<passages>\n<passage n=")
