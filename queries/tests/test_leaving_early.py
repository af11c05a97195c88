"""A client that leaves before the first token: no model stream is opened, the turn is kept.

Mostly a real daphne server (its own processes and data), read with httpx,
which closes the connection once the first event (`status: retrieving`) has
arrived, the way a user closing the tab early does. The OpenAI-compatible
server of this test process answers the chat calls and the embeddings, and can
be made slow, so the client is known to leave while retrieval or the rewrite of
a follow-up is still waiting on it. Leaving even earlier, while the question is
being stored, is driven at the ASGI level, where the moment can be chosen.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db.models.signals import post_save

from queries.models import Conversation, Message
from queries.tests.conftest import FALCONS, bearer
from tests.asgi import leaving_client, post_scope
from tests.live import LiveApp, model_settings
from tests.openai_server import OpenAIServer, Reply
from tests.sse_parser import Event, Parser

pytestmark = pytest.mark.slow

# Short enough that the hashed bag-of-words vectors of the test server find it
# for the questions below (the answer model is then called unless the turn stops).
NESTS = "Peregrine falcons nest on cliffs and on tall buildings."
QUESTION = "Where do peregrine falcons nest?"
SLOW = 2.0  # seconds the model server takes over the call the client leaves during
GRACE = 2.0  # after that call: time enough for any further model call to arrive


@dataclass
class SlowEmbeddingServer(OpenAIServer):
    """The test OpenAI-compatible server, with embeddings that can be made slow."""

    embedding_delay: float = 0.0

    def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        time.sleep(self.embedding_delay)
        return super().embeddings(body)


@pytest.fixture(scope="module")
def model_server() -> Iterator[SlowEmbeddingServer]:
    server = SlowEmbeddingServer().start()
    yield server
    server.stop()


def started(app: LiveApp, name: str, text: str) -> LiveApp:
    app.start()
    app.create_user("alice", "alice-pass-123")
    app.ingest_text("alice", name, text)
    return app


@pytest.fixture(scope="module")
def openai_app(model_server: SlowEmbeddingServer, tmp_path_factory) -> Iterator[LiveApp]:
    """The app answering with ChatOpenAI and searching with OpenAI embeddings, one server."""
    data = tmp_path_factory.mktemp("openai")
    app = LiveApp(data, **model_settings(model_server.base_url), EMBEDDINGS="openai")
    try:
        yield started(app, "nests.txt", NESTS)
    finally:
        app.stop()


@pytest.fixture(scope="module")
def local_app(tmp_path_factory) -> Iterator[LiveApp]:
    """The app with nothing configured: local embeddings, local extractive model."""
    app = LiveApp(tmp_path_factory.mktemp("local"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "EMBEDDINGS"):
        app.env.pop(name, None)
    try:
        yield started(app, "falcons.txt", FALCONS)
    finally:
        app.stop()


@pytest.fixture
def fresh(model_server: SlowEmbeddingServer) -> SlowEmbeddingServer:
    """The module's model server with nothing scripted and fast embeddings."""
    model_server.replies.clear()
    model_server.completions.clear()
    model_server.embedding_delay = 0.0
    return model_server


def login(base: str) -> dict[str, str]:
    tokens = httpx.post(
        f"{base}/api/auth/token/", json={"username": "alice", "password": "alice-pass-123"}
    ).json()
    return {"Authorization": f"Bearer {tokens['access']}"}


def leave_after_first_event(
    base: str, headers: dict[str, str], body: dict, *, once: Callable[[], bool] = lambda: True
) -> tuple[str, Event]:
    """Ask, read the first event, wait until `once()` holds, close: (conversation, event)."""
    parser = Parser()
    events: list[Event] = []
    with httpx.stream(
        "POST", f"{base}/api/query/stream/", headers=headers, json=body, timeout=60
    ) as response:
        assert response.status_code == 200
        conversation_id = response.headers["X-Conversation-Id"]
        chunks = response.iter_text()  # kept: dropping it would close the connection
        for chunk in chunks:
            events += parser.feed(chunk)
            if events:
                break
        deadline = time.monotonic() + 10
        while not once():
            assert time.monotonic() < deadline, "the server never got that far"
            time.sleep(0.02)
    return conversation_id, events[0]


def ask_to_the_end(base: str, headers: dict[str, str], body: dict) -> list[Event]:
    parser = Parser()
    events: list[Event] = []
    with httpx.stream(
        "POST", f"{base}/api/query/stream/", headers=headers, json=body, timeout=60
    ) as response:
        for chunk in response.iter_text():
            events += parser.feed(chunk)
    return events


def messages(base: str, headers: dict[str, str], conversation_id: str, count: int) -> list[dict]:
    """The conversation's messages once there are `count` of them (or after 15 s)."""
    deadline = time.monotonic() + 15
    while True:
        found = httpx.get(f"{base}/api/conversations/{conversation_id}/", headers=headers).json()
        if len(found["messages"]) >= count or time.monotonic() > deadline:
            return found["messages"]
        time.sleep(0.1)


def chat_calls(server: OpenAIServer, since: int) -> list[dict]:
    return [r["body"] for r in server.requests[since:] if r["path"].endswith("/chat/completions")]


def embedded(server: OpenAIServer, since: int) -> list[str]:
    return [str(r["body"]["input"]) for r in server.requests[since:] if "embeddings" in r["path"]]


def test_a_client_that_leaves_during_retrieval_gets_no_model_call_and_an_interrupted_answer(
    openai_app, fresh
):
    """Leaving while the question is being embedded stops the turn before any model call."""
    headers = login(openai_app.url)
    fresh.embedding_delay = SLOW
    since = len(fresh.requests)

    conversation_id, first = leave_after_first_event(
        openai_app.url,
        headers,
        {"query": QUESTION},
        once=lambda: bool(embedded(fresh, since)),  # the question is being embedded
    )
    saved = messages(openai_app.url, headers, conversation_id, 2)
    time.sleep(SLOW + GRACE)

    assert (first.event, json.loads(first.data)) == ("status", {"stage": "retrieving"})
    assert QUESTION in embedded(fresh, since)[0]
    assert chat_calls(fresh, since) == [], "the model was called after the client left"
    assert [(m["role"], m["status"], m["text"]) for m in saved] == [
        ("user", "complete", QUESTION),
        ("assistant", "interrupted", ""),
    ]
    assert messages(openai_app.url, headers, conversation_id, 2) == saved  # and stays so


def test_a_client_that_leaves_during_the_follow_up_rewrite_gets_no_streamed_model_call(
    openai_app, fresh
):
    """Leaving while a follow-up is rewritten: no answer stream opens, the turn is interrupted."""
    headers = login(openai_app.url)
    fresh.replies.append(Reply(["They nest on cliffs [1]."]))
    events = ask_to_the_end(openai_app.url, headers, {"query": QUESTION})
    assert events[-1].event == "done"
    conversation_id = json.loads(events[-1].data)["conversation_id"]
    fresh.completions.append(Reply([QUESTION], delay=SLOW))  # the rewrite, slow
    since = len(fresh.requests)

    _, first = leave_after_first_event(
        openai_app.url,
        headers,
        {"query": "and in cities?", "conversation_id": conversation_id},
        once=lambda: bool(chat_calls(fresh, since)),  # the rewrite has been asked for
    )
    saved = messages(openai_app.url, headers, conversation_id, 4)
    time.sleep(SLOW + GRACE)

    assert (first.event, json.loads(first.data)) == ("status", {"stage": "retrieving"})
    calls = chat_calls(fresh, since)
    assert calls and calls[0]["messages"][-1]["content"] == "and in cities?"  # the rewrite
    assert [bool(c.get("stream")) for c in calls] == [False], "an answer stream was opened"
    assert [(m["role"], m["status"], m["text"]) for m in saved] == [
        ("user", "complete", QUESTION),
        ("assistant", "complete", "They nest on cliffs [1]."),
        ("user", "complete", "and in cities?"),
        ("assistant", "interrupted", ""),
    ]
    assert messages(openai_app.url, headers, conversation_id, 4) == saved


def test_with_the_local_model_a_client_that_leaves_at_once_gets_an_interrupted_empty_answer(
    local_app,
):
    """With no model server configured, leaving at the first event keeps the turn, unanswered."""
    headers = login(local_app.url)

    conversation_id, first = leave_after_first_event(local_app.url, headers, {"query": QUESTION})
    saved = messages(local_app.url, headers, conversation_id, 2)
    time.sleep(GRACE)

    assert (first.event, json.loads(first.data)) == ("status", {"stage": "retrieving"})
    # Nothing was generated for a client who had gone (the local model would
    # answer in about a second from this document).
    assert [(m["role"], m["status"], m["text"]) for m in saved] == [
        ("user", "complete", QUESTION),
        ("assistant", "interrupted", ""),
    ]
    assert messages(local_app.url, headers, conversation_id, 2) == saved


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stored", [Conversation, Message], ids=["conversation", "question"])
async def test_a_client_that_leaves_while_the_question_is_stored_leaves_no_half_turn(
    async_client, alice, alice_falcons, stored
):
    """Leaving before the first byte leaves whole turns or none: no empty or unanswered one."""
    from ragsite.asgi import application

    loop = asyncio.get_running_loop()
    left = asyncio.Event()

    def leave(sender, created: bool, **kwargs: Any) -> None:
        if created:  # the row is written: the client goes away now
            loop.call_soon_threadsafe(left.set)

    headers = await sync_to_async(bearer)(alice)
    body = json.dumps({"query": QUESTION}).encode()
    receive = leaving_client(body, left)

    async def send(message):
        pass

    post_save.connect(leave, sender=stored, weak=False)
    try:
        await asyncio.wait_for(application(post_scope(headers), receive, send), 20)
    finally:
        post_save.disconnect(leave, sender=stored)
    await asyncio.sleep(GRACE)  # anything still running has had time to save

    listed = (await async_client.get("/api/conversations/", headers=headers)).json()["results"]
    turns = []
    for conversation in listed:
        detail = await async_client.get(
            f"/api/conversations/{conversation['id']}/", headers=headers
        )
        turns.append([(m["role"], m["status"]) for m in detail.json()["messages"]])
    whole = [("user", "complete"), ("assistant", "interrupted")]
    assert all(turn == whole for turn in turns), f"half-saved turns after the client left: {turns}"
