"""A client that goes away while the server is blocked sending still stops the model at once.

Driven at the ASGI level, with a send() that blocks the way a full socket
does under uvicorn or Hypercorn, and the garbage collector off, so nothing
but the response itself can close the model's stream and save the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json

import pytest
from asgiref.sync import sync_to_async

from queries.models import Message
from queries.tests.conftest import bearer
from tests.asgi import leaving_client, post_scope
from tests.openai_server import Reply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def a_long_answer_to_come(alice, server) -> tuple[dict[str, str], bytes]:
    """Alice's headers and question; the model will answer it in 100 words, 20 a second."""
    server.replies.append(Reply([f"w{i} " for i in range(100)], delay=0.05))
    headers = await sync_to_async(bearer)(alice)
    body = json.dumps({"query": "How fast does a peregrine falcon dive?"}).encode()
    return headers, body


async def test_leaving_while_the_server_is_blocked_in_send(alice, alice_falcons, openai_configured):
    from ragsite.asgi import application

    headers, body = await a_long_answer_to_come(alice, openai_configured)
    left, never = asyncio.Event(), asyncio.Event()
    receive = leaving_client(body, left)

    async def send(message):
        if b"event: token" in message.get("body", b""):
            left.set()  # the client is gone while this write never completes
            await never.wait()

    gc.disable()
    try:
        await asyncio.wait_for(application(post_scope(headers), receive, send), 20)
        sent = await sync_to_async(openai_configured.settled_tokens)()
        answer = await Message.objects.filter(role="assistant").afirst()
    finally:
        gc.enable()

    assert sent < 50, "the model kept streaming after the client left"
    assert answer is not None and answer.status == "interrupted"
    assert answer.text.startswith("w0")


async def test_the_model_is_hung_up_on_when_the_reader_leaves_even_if_the_response_is_stuck(
    alice, alice_falcons, openai_configured, caplog
):
    """The server's disconnect closes the model's stream in the turn it arrives
    (ragsite.departures), not after Django has cancelled the response: here the
    response's write never returns, cancelled or not, until the model is quiet.
    The stream broken by that hang-up is the reader's leaving, not a failure."""
    from ragsite.asgi import application

    headers, body = await a_long_answer_to_come(alice, openai_configured)
    left, quiet = asyncio.Event(), asyncio.Event()
    receive = leaving_client(body, left)

    async def send(message):
        if b"event: token" in message.get("body", b"") and not quiet.is_set():
            left.set()
            while not quiet.is_set():  # a write that outlives its cancellation
                with contextlib.suppress(asyncio.CancelledError):
                    await quiet.wait()

    app = asyncio.ensure_future(application(post_scope(headers), receive, send))
    await left.wait()
    sent = await sync_to_async(openai_configured.settled_tokens)()
    quiet.set()
    await asyncio.wait_for(app, 20)
    answer = await Message.objects.filter(role="assistant").afirst()

    assert sent < 50, "the model kept streaming while the response was stuck"
    assert answer is not None and answer.status == "interrupted"
    assert answer.text.startswith("w0")
    assert "answer stream failed" not in caplog.text
