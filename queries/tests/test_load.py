"""Many answers at once against real daphne processes: none lost, none mixed up, none failed.

Functional guards, not timings: every stream must end with `done` and carry
exactly the tokens the model sent for its own question, and a process that is
full must say so with a 503 before any stream starts.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from queries.tests.conftest import FALCONS
from tests.live import LiveApp, bearer, model_settings
from tests.openai_server import OpenAIServer, Reply
from tests.sse_parser import Parser

pytestmark = pytest.mark.slow

STREAMS = 200
WORDS = 10


def numbered_reply(body: dict[str, Any]) -> Reply:
    """Tokens naming the question's number, so a stream carrying another's answer shows."""
    asked = re.findall(r"question (\d+):", json.dumps(body["messages"]))
    number = asked[-1] if asked else "none"
    return Reply([f"n{number}-w{i} " for i in range(WORDS)], delay=0.05)


def expected(number: int) -> str:
    return "".join(f"n{number}-w{i} " for i in range(WORDS))


def start_app(data, llm: OpenAIServer, processes: int = 1, **environment: str) -> LiveApp:
    app = LiveApp(data, **model_settings(llm.base_url), LOG_LEVEL="WARNING", **environment)
    app.start(processes=processes)
    app.create_user("alice", "alice-pass-123")
    app.ingest_text("alice", "falcons.txt", FALCONS)
    return app


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveApp]:
    llm = OpenAIServer(respond=numbered_reply).start()
    # Two daphne processes on one socket, as the Procfile starts on two cores.
    app = start_app(tmp_path_factory.mktemp("load"), llm, processes=2)
    try:
        yield app
    finally:
        app.stop()
        llm.stop()


async def ask(client: httpx.AsyncClient, base: str, headers: dict, number: int) -> dict[str, Any]:
    """One question's stream, read to its end: status, event names and token text."""
    parser = Parser()
    events = []
    async with client.stream(
        "POST",
        f"{base}/api/query/stream/",
        headers=headers,
        json={"query": f"question {number}: how fast does the peregrine falcon dive?"},
    ) as response:
        if response.status_code != 200:
            body = json.loads(await response.aread())
            return {"status": response.status_code, "body": body, "headers": response.headers}
        async for chunk in response.aiter_text():
            events += parser.feed(chunk)
    return {
        "status": 200,
        "names": [e.event for e in events],
        "text": "".join(e.data for e in events if e.event == "token"),
    }


async def ask_many(base: str, headers: dict, numbers: range) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        return await asyncio.gather(*(ask(client, base, headers, n) for n in numbers))


def test_two_hundred_streams_at_once_all_finish_with_their_own_answer(server):
    app = server
    headers = bearer(app.url)

    results = asyncio.run(ask_many(app.url, headers, range(STREAMS)))

    failed = [
        (n, r) for n, r in enumerate(results) if r["status"] != 200 or r["names"][-1] != "done"
    ]
    assert not failed, failed[:3]
    wrong = [n for n, r in enumerate(results) if r["text"] != expected(n)]
    assert not wrong, f"{len(wrong)} streams carried text other than their own answer"
    # Each answer was saved once, complete, with the text its reader received.
    listing = httpx.get(f"{app.url}/api/conversations/", headers=headers).json()
    assert listing["count"] == STREAMS
    for conversation in listing["results"][:20]:
        detail = httpx.get(
            f"{app.url}/api/conversations/{conversation['id']}/", headers=headers
        ).json()
        question, answer = detail["messages"]
        number = int(re.match(r"question (\d+):", question["text"]).group(1))
        assert (answer["status"], answer["text"]) == ("complete", expected(number))


def test_a_full_process_says_so_before_the_stream_and_frees_the_place_of_a_reader_who_left(
    tmp_path,
):
    def slow_reply(body: dict[str, Any]) -> Reply:
        return Reply([f"slow{i} " for i in range(30)], delay=0.2)

    llm = OpenAIServer(respond=slow_reply).start()
    app = start_app(tmp_path, llm, MAX_STREAMS="2")
    try:
        asyncio.run(_fill_then_leave(app.url, bearer(app.url)))
    finally:
        app.stop()
        llm.stop()


async def _fill_then_leave(base: str, headers: dict) -> None:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = [asyncio.Event(), asyncio.Event()]
        leave = asyncio.Event()

        async def hold(number: int) -> None:
            async with client.stream(
                "POST",
                f"{base}/api/query/stream/",
                headers=headers,
                json={"query": f"question {number}: where do falcons nest?"},
            ) as response:
                assert response.status_code == 200
                async for chunk in response.aiter_text():
                    if "event: token" in chunk:
                        started[number].set()
                        if number == 0 and leave.is_set():
                            return  # this reader goes away mid-answer

        holders = [asyncio.create_task(hold(0)), asyncio.create_task(hold(1))]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in started)), 30)

        turned_away = await ask(client, base, headers, 2)

        assert turned_away["status"] == 503
        assert turned_away["body"]["code"] == "too_busy"
        assert "try again" in turned_away["body"]["detail"]
        assert int(turned_away["headers"]["Retry-After"]) > 0

        leave.set()
        await asyncio.wait_for(holders[0], 30)
        await asyncio.sleep(0.5)  # the server notices the reader is gone
        let_in = await asyncio.wait_for(ask(client, base, headers, 3), 60)

        assert let_in["status"] == 200 and let_in["names"][-1] == "done"
        await asyncio.wait_for(holders[1], 60)
        listing = (await client.get(f"{base}/api/conversations/", headers=headers)).json()
        assert listing["count"] == 3  # the refused question left no conversation behind
