"""A real daphne server, read with a streaming HTTP client.

The server runs in its own process with its own data directory, ingests a
document through `manage.py ingest`, and answers through ChatOpenAI talking to
the local OpenAI-compatible server of this test process.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from queries.tests.conftest import FALCONS
from tests.live import LiveApp, bearer, model_settings
from tests.openai_server import OpenAIServer, Reply
from tests.sse_parser import Parser

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def daphne_server(llm: OpenAIServer, tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("live")
    app = LiveApp(data, **model_settings(llm.base_url))
    try:
        app.start()
        app.create_user("alice", "alice-pass-123")
        app.ingest_text("alice", "falcons.txt", FALCONS)
        yield app.url
    finally:
        app.stop()


def test_events_arrive_one_by_one_as_the_model_generates(daphne_server, llm):
    words = [f"word{i} " for i in range(8)] + ["[1]"]
    llm.replies.append(Reply(words, delay=0.25))
    llm.tokens_sent = 0
    seen_when_received: list[int] = []
    parser = Parser()
    events = []

    with httpx.stream(
        "POST",
        f"{daphne_server}/api/query/stream/",
        headers=bearer(daphne_server),
        json={"query": "How fast does a peregrine falcon dive?"},
        timeout=60,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        for chunk in response.iter_text():
            for item in parser.feed(chunk):
                events.append(item)
                if item.event == "token":
                    seen_when_received.append(llm.tokens_sent)

    assert [e.event for e in events][:3] == ["status", "citations", "status"]
    assert "".join(e.data for e in events if e.event == "token") == "".join(words)
    # When the first token reached the client, the model had not produced the rest yet.
    assert seen_when_received[0] < len(words) - 3
    assert seen_when_received == sorted(seen_when_received)
    assert events[-1].event == "done"


def test_a_client_that_disconnects_stops_the_model_and_keeps_the_partial_answer(daphne_server, llm):
    words = [f"part{i} " for i in range(60)]
    llm.replies.append(Reply(words, delay=0.1))
    llm.tokens_sent = 0
    parser = Parser()
    received: list[str] = []
    done_after = 3
    headers = bearer(daphne_server)

    with httpx.stream(
        "POST",
        f"{daphne_server}/api/query/stream/",
        headers=headers,
        json={"query": "Where do peregrine falcons nest?"},
        timeout=60,
    ) as response:
        for chunk in response.iter_text():
            received += [e.data for e in parser.feed(chunk) if e.event == "token"]
            if len(received) >= done_after:
                break  # leaving the block closes the connection mid-answer

    settled = llm.settled_tokens()
    assert settled < len(words) - 20, "the model kept streaming after the client left"

    conversations = httpx.get(f"{daphne_server}/api/conversations/", headers=headers).json()
    latest = conversations["results"][0]["id"]
    detail = httpx.get(f"{daphne_server}/api/conversations/{latest}/", headers=headers).json()
    answer = detail["messages"][-1]
    assert answer["role"] == "assistant" and answer["status"] == "interrupted"
    assert answer["text"].startswith("".join(received))
