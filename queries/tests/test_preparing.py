"""Answers are prepared a few at a time: the others wait, then get a 503 to retry; no place is lost.

In-process (the test's event loop is the server's): places are taken and given
back through queries.admission as the stream view takes them.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import pytest
from asgiref.sync import sync_to_async

from queries import admission
from queries.models import Conversation
from queries.tests.conftest import bearer, post_stream, read_events
from tests.asgi import leaving_client, post_scope
from tests.openai_server import Reply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

QUESTION = {"query": "How fast can a peregrine falcon dive?"}


async def every_place_is_free() -> bool:
    """Whether all places can be taken at once now (then given back)."""
    await asyncio.sleep(0.05)  # a place given back from a thread arrives on the loop
    taken = []
    try:
        for _ in range(admission.PREPARING_AT_ONCE):
            taken.append(await admission.prepare())
    except admission.Refusal:
        return False
    finally:
        for place in taken:
            place.release()
    return True


async def test_a_question_waits_for_a_place_and_gets_a_503_to_retry_when_none_comes(
    async_client, alice, alice_falcons, alice_auth, monkeypatch
):
    monkeypatch.setattr(admission, "PREPARE_WAIT_SECONDS", 0.3)
    held = [await admission.prepare() for _ in range(admission.PREPARING_AT_ONCE)]
    try:
        refused = await post_stream(async_client, QUESTION, alice_auth)

        assert refused.status_code == 503
        assert refused.json()["code"] == "too_busy" and "try again" in refused.json()["detail"]
        assert int(refused["Retry-After"]) > 0
        assert not await Conversation.objects.filter(owner=alice).aexists()

        # A place given back while a question waits lets it in.
        monkeypatch.setattr(admission, "PREPARE_WAIT_SECONDS", 10)
        asyncio.get_running_loop().call_later(0.2, held.pop().release)
        answered = await post_stream(async_client, QUESTION, alice_auth)

        assert answered.status_code == 200
        events, _ = await read_events(answered)
        assert events[-1].event == "done"
    finally:
        for place in held:
            place.release()


async def test_a_streaming_answer_gives_its_place_back_once_its_passages_are_found(
    async_client, alice_falcons, alice_auth, openai_configured, monkeypatch
):
    monkeypatch.setattr(admission, "PREPARE_WAIT_SECONDS", 0.3)
    openai_configured.replies.append(Reply(["Falcons ", "dive ", "fast ", "[1]."], delay=0.4))
    response = await post_stream(async_client, QUESTION, alice_auth)
    names = []
    free_while_streaming = None
    async for chunk in response.streaming_content:
        names.append(re.search(r"^event: \w+", chunk.decode(), re.M).group(0))
        if free_while_streaming is None and names[-1] == "event: token":
            free_while_streaming = await every_place_is_free()

    assert names[-1] == "event: done"
    assert free_while_streaming is True


async def test_every_way_a_question_ends_gives_its_place_back(
    async_client, alice, alice_falcons, alice_auth, openai_configured, monkeypatch
):
    from ragsite.asgi import application

    monkeypatch.setattr(admission, "PREPARE_WAIT_SECONDS", 0.5)
    openai_configured.replies.extend(
        [Reply(["Falcons ", "dive ", "fast ", "[1]."]), Reply(["The ", "falcon"], fail_after=1)]
    )

    completed = await post_stream(async_client, QUESTION, alice_auth)
    assert (await read_events(completed))[0][-1].event == "done"
    failed = await post_stream(async_client, QUESTION, alice_auth)
    assert (await read_events(failed))[0][-1].event == "error"
    unknown = await post_stream(
        async_client, {**QUESTION, "conversation_id": str(uuid.uuid4())}, alice_auth
    )
    assert unknown.status_code == 404
    # A reader who leaves as soon as the first event arrives, while the search runs.
    left = asyncio.Event()

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            left.set()

    headers = await sync_to_async(bearer)(alice)
    receive = leaving_client(json.dumps(QUESTION).encode(), left)
    await asyncio.wait_for(application(post_scope(headers), receive, send), 20)

    assert left.is_set()
    assert await every_place_is_free()
