"""Two users with overlapping documents never see each other's data, through any endpoint."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from queries.tests.conftest import FALCONS, HARBOUR, post_stream, read_events
from tests.documents import ingest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def overlapping(alice, bob):
    """Both own the same falcon text; each also owns a document the other does not."""
    return {
        "alice": [ingest(alice, FALCONS, "falcons.txt"), ingest(alice, HARBOUR, "harbour.txt")],
        "bob": [
            ingest(bob, FALCONS, "birds.txt"),
            ingest(
                bob, "Bob's secret recipe: peregrine pie with 300 km/h of pepper.", "recipe.txt"
            ),
        ],
    }


def ids(documents) -> set[str]:
    return {str(d.pk) for d in documents}


def named(documents, filename: str) -> str:
    return next(str(d.pk) for d in documents if d.filename == filename)


# Each question, with the document of each caller's own that must answer it
# (so that a search returning nothing fails the test instead of passing it).
OWN_ANSWERS = {
    "How fast does a peregrine falcon dive?": {"alice": "falcons.txt", "bob": "birds.txt"},
    "What is in the recipe?": {"bob": "recipe.txt"},
    "Who built the harbour of Valletta?": {"alice": "harbour.txt"},
}


async def ask(client, headers, query, path="/api/query/stream/", **extra):
    if path.endswith("stream/"):
        events, _ = await read_events(await post_stream(client, {"query": query, **extra}, headers))
        cited = [c for e in events if e.event == "citations" for c in json.loads(e.data)]
        answer = "".join(e.data for e in events if e.event == "token")
        done = json.loads(events[-1].data)
        return cited, answer, done["conversation_id"]
    response = await client.post(
        path,
        data=json.dumps({"query": query, **extra}),
        content_type="application/json",
        headers=headers,
    )
    body = json.loads(response.content)
    return body["citations"], body["answer"], body["conversation_id"]


@pytest.mark.parametrize("path", ["/api/query/stream/", "/api/query/"])
async def test_retrieval_and_citations_stay_with_their_owner(
    async_client, overlapping, alice_auth, bob_auth, path
):
    for name, headers, mine, theirs in [
        ("alice", alice_auth, overlapping["alice"], overlapping["bob"]),
        ("bob", bob_auth, overlapping["bob"], overlapping["alice"]),
    ]:
        for query, answers in OWN_ANSWERS.items():
            cited, answer, _ = await ask(async_client, headers, query, path)
            documents = {c["document_id"] for c in cited}
            assert documents <= ids(mine), (query, documents)
            assert not documents & ids(theirs)
            for other in theirs:
                assert other.filename not in json.dumps(cited)
            if name in answers:
                assert named(mine, answers[name]) in documents, (name, query, cited)
    _, answer, _ = await ask(async_client, alice_auth, "What is in Bob's secret recipe?", path)
    assert "pepper" not in answer
    # Bob's recipe matches this question too (peregrine, 300 km/h): Alice gets her own text.
    cited, answer, _ = await ask(async_client, alice_auth, "How fast is a peregrine in km/h?", path)
    assert {c["document_id"] for c in cited} == {named(overlapping["alice"], "falcons.txt")}
    assert "fastest bird" in answer and "pepper" not in answer


async def test_conversations_and_documents_lists_stay_with_their_owner(
    async_client, overlapping, alice_auth, bob_auth
):
    _, _, alices_conversation = await ask(async_client, alice_auth, "Where do falcons nest?")

    bob_conversations = await async_client.get("/api/conversations/", headers=bob_auth)
    assert json.loads(bob_conversations.content)["results"] == []
    alice_conversations = await async_client.get("/api/conversations/", headers=alice_auth)
    listed = [c["id"] for c in json.loads(alice_conversations.content)["results"]]
    assert listed == [alices_conversation]
    for method in ("get", "delete"):
        response = await getattr(async_client, method)(
            f"/api/conversations/{alices_conversation}/", headers=bob_auth
        )
        assert response.status_code == 404
    continued = await post_stream(
        async_client, {"query": "and more?", "conversation_id": alices_conversation}, bob_auth
    )
    assert continued.status_code == 404

    listed = json.loads((await async_client.get("/api/documents/", headers=bob_auth)).content)
    assert {d["id"] for d in listed["results"]} == ids(overlapping["bob"])
    for document in overlapping["alice"]:
        detail = await async_client.get(f"/api/documents/{document.pk}/", headers=bob_auth)
        assert detail.status_code == 404
        own = await async_client.get(f"/api/documents/{document.pk}/", headers=alice_auth)
        assert own.status_code == 200

    mine = json.loads(
        (
            await async_client.get(f"/api/conversations/{alices_conversation}/", headers=alice_auth)
        ).content
    )
    assert [m["role"] for m in mine["messages"]] == ["user", "assistant"]
    assert mine["messages"][1]["status"] == "complete"
    cited = {c["document_id"] for c in mine["messages"][1]["citations"]}
    assert cited <= ids(overlapping["alice"])
    assert named(overlapping["alice"], "falcons.txt") in cited


async def test_document_ids_of_another_user_are_refused(async_client, overlapping, bob_auth):
    response = await post_stream(
        async_client,
        {"query": "falcons?", "document_ids": [str(overlapping["alice"][0].pk)]},
        bob_auth,
    )
    assert response.status_code == 400
    assert "document_ids" in json.loads(response.content)
    own = named(overlapping["bob"], "birds.txt")
    accepted = await post_stream(
        async_client, {"query": "Where do falcons nest?", "document_ids": [own]}, bob_auth
    )
    assert accepted.status_code == 200
    events, _ = await read_events(accepted)
    cited = [c["document_id"] for e in events if e.event == "citations" for c in json.loads(e.data)]
    assert set(cited) == {own}


async def test_deleting_a_conversation_removes_it(async_client, overlapping, alice_auth):
    _, _, conversation = await ask(async_client, alice_auth, "Where do falcons nest?")

    response = await async_client.delete(f"/api/conversations/{conversation}/", headers=alice_auth)

    assert response.status_code == 204
    from queries.models import Conversation

    assert not await sync_to_async(Conversation.objects.filter(pk=conversation).exists)()
