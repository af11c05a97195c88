"""Resuming an answer after a lost connection, against a real daphne server.

The connection is cut by a proxy the way a phone losing its network cuts it:
the reader is gone and the server is not told. The reader comes back with the
last event id it received and gets what it missed, then the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from queries.tests.conftest import FALCONS
from tests.cutting_proxy import cutting_proxy
from tests.live import LiveApp, bearer, model_settings
from tests.openai_server import OpenAIServer, Reply
from tests.sse_parser import Event, Parser

pytestmark = pytest.mark.slow

QUESTION = {"query": "How fast does a peregrine falcon dive?"}


@pytest.fixture(scope="module")
def app(llm: OpenAIServer, tmp_path_factory) -> Iterator[LiveApp]:
    data = tmp_path_factory.mktemp("resume")
    live = LiveApp(data, **model_settings(llm.base_url))
    try:
        live.start()
        live.create_user("alice", "alice-pass-123")
        live.create_user("bob", "bob-pass-123")
        live.ingest_text("alice", "falcons.txt", FALCONS)
        yield live
    finally:
        live.stop()


@pytest.fixture(autouse=True)
def model(llm: OpenAIServer) -> OpenAIServer:
    return llm.reset()


def text_of(events: list[Event]) -> str:
    return "".join(e.data for e in events if e.event == "token")


def ask(base: str, headers: dict, tokens_wanted: int | None = None) -> tuple[list[Event], dict]:
    """Ask and read events (all of them, or until `tokens_wanted` tokens)."""
    parser, events = Parser(), []
    with httpx.stream(
        "POST", f"{base}/api/query/stream/", headers=headers, json=QUESTION, timeout=60
    ) as response:
        assert response.status_code == 200
        for chunk in response.iter_text():
            events.extend(parser.feed(chunk))
            tokens = sum(e.event == "token" for e in events)
            if tokens_wanted is not None and tokens >= tokens_wanted:
                break
        return events, dict(response.headers)


def resume(base: str, headers: dict, message_id: str, last_id: str | None) -> httpx.Response:
    extra = {"Last-Event-ID": last_id} if last_id is not None else {}
    return httpx.get(f"{base}/api/query/stream/{message_id}/", headers=headers | extra, timeout=60)


def read(response: httpx.Response) -> list[Event]:
    return Parser().feed(response.text)


def test_a_reader_cut_off_mid_answer_gets_what_it_missed_then_the_rest_live(app, model):
    words = [f"word{i} " for i in range(30)] + ["[1]."]
    model.replies.append(Reply(words, delay=0.1))  # 3 s in all
    headers = bearer(app.url)
    port = int(app.url.rsplit(":", 1)[1])
    before: list[Event] = []

    with cutting_proxy(port) as proxy:
        parser = Parser()
        with httpx.stream(
            "POST",
            f"http://127.0.0.1:{proxy.port}/api/query/stream/",
            headers=headers,
            json=QUESTION,
            timeout=60,
        ) as response:
            message_id = response.headers["X-Message-Id"]
            with pytest.raises(httpx.HTTPError):
                for chunk in response.iter_text():
                    before.extend(parser.feed(chunk))
                    if sum(e.event == "token" for e in before) >= 5:
                        proxy.cut()
        sent_at_cut = model.tokens_sent

        parser, after = Parser(), []
        tokens_sent_when_resumed = None
        with httpx.stream(
            "GET",
            f"{app.url}/api/query/stream/{message_id}/",
            headers=headers | {"Last-Event-ID": before[-1].id},
            timeout=60,
        ) as resumed:
            assert resumed.status_code == 200
            for chunk in resumed.iter_text():
                for item in parser.feed(chunk):
                    if tokens_sent_when_resumed is None and item.event == "token":
                        tokens_sent_when_resumed = model.tokens_sent
                    after.append(item)

    assert sent_at_cut < len(words)  # cut while the model was still writing
    assert tokens_sent_when_resumed is not None and tokens_sent_when_resumed < len(words), (
        "the resumed stream did not start before the answer ended: not live"
    )
    assert text_of(before) + text_of(after) == "".join(words)  # nothing lost, nothing twice
    assert [e.event for e in after if e.event != "token"] == ["done"]
    assert re.fullmatch(r"t\d+", before[-1].id)
    conversation = json.loads(after[-1].data)["conversation_id"]
    stored = httpx.get(f"{app.url}/api/conversations/{conversation}/", headers=headers).json()
    assert stored["messages"][-1]["text"] == "".join(words)
    assert stored["messages"][-1]["status"] == "complete"


def test_a_finished_answer_resumes_from_where_the_reader_was(app, model):
    words = ["Peregrines ", "dive ", "at ", "over ", "300 ", "km/h ", "[1]."]
    model.replies.append(Reply(words))
    headers = bearer(app.url)
    events, response_headers = ask(app.url, headers)
    message_id = response_headers["x-message-id"]
    third = [e for e in events if e.event == "token"][2]

    from_third = read(resume(app.url, headers, message_id, third.id))
    from_start = read(resume(app.url, headers, message_id, None))
    after_sources = read(resume(app.url, headers, message_id, "c"))

    assert text_of(from_third) == "".join(words[3:])
    assert [e.event for e in from_third] == ["token", "done"]
    assert [e.event for e in from_start] == ["status", "citations", "status", "token", "done"]
    assert text_of(from_start) == "".join(words)
    # The same sources (PostgreSQL stores them as jsonb, which orders each object's keys).
    assert [json.loads(e.data) for e in from_start if e.event == "citations"] == [
        json.loads(e.data) for e in events if e.event == "citations"
    ]
    assert [e.event for e in after_sources] == ["status", "token", "done"]
    assert resume(app.url, headers, message_id, "d").status_code == 204  # nothing left


def test_an_answer_whose_reader_left_resumes_with_what_was_written_and_says_it_stopped(app, model):
    model.replies.append(Reply([f"part{i} " for i in range(60)], delay=0.1))
    headers = bearer(app.url)
    events, response_headers = ask(app.url, headers, tokens_wanted=3)  # then the reader leaves
    message_id = response_headers["x-message-id"]

    resumed = []
    for _ in range(50):  # the server saves the partial answer a moment after the reader left
        resumed = read(resume(app.url, headers, message_id, None))
        if resumed and resumed[-1].event == "error":
            break

    assert resumed[-1].event == "error" and '"interrupted"' in resumed[-1].data
    assert text_of(resumed).startswith(text_of(events))
    assert len(text_of(resumed)) < len("".join(f"part{i} " for i in range(60)))


def test_another_users_answer_cannot_be_resumed(app, model):
    model.replies.append(Reply(["Peregrines ", "dive ", "[1]."]))
    _, response_headers = ask(app.url, bearer(app.url))
    message_id = response_headers["x-message-id"]

    theirs = resume(app.url, bearer(app.url, "bob", "bob-pass-123"), message_id, None)
    unknown = resume(app.url, bearer(app.url), "00000000-0000-0000-0000-000000000000", None)

    assert theirs.status_code == 404 and theirs.json()["code"] == "not_found"
    assert "Peregrines" not in theirs.text
    assert unknown.status_code == 404
