"""A client that goes away while the server is blocked sending still stops the model at once.

Driven at the ASGI level, with a send() that blocks the way a full socket
does under uvicorn or Hypercorn, and the garbage collector off, so nothing
but the response itself can close the model's stream and save the answer.
"""

from __future__ import annotations

import asyncio
import gc
import json

import pytest
from asgiref.sync import sync_to_async

from queries.models import Message
from queries.tests.conftest import bearer
from tests.openai_server import Reply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def scope(headers: dict[str, str]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/query/stream/",
        "raw_path": b"/api/query/stream/",
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            *[(k.lower().encode(), v.encode()) for k, v in headers.items()],
        ],
    }


async def test_leaving_while_the_server_is_blocked_in_send(alice, alice_falcons, openai_configured):
    from ragsite.asgi import application

    openai_configured.replies.append(Reply([f"w{i} " for i in range(100)], delay=0.05))
    headers = await sync_to_async(bearer)(alice)
    body = json.dumps({"query": "How fast does a peregrine falcon dive?"}).encode()
    left, never = asyncio.Event(), asyncio.Event()
    received = 0

    async def receive():
        nonlocal received
        received += 1
        if received == 1:
            return {"type": "http.request", "body": body, "more_body": False}
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if b"event: token" in message.get("body", b""):
            left.set()  # the client is gone while this write never completes
            await never.wait()

    gc.disable()
    try:
        await asyncio.wait_for(application(scope(headers), receive, send), 20)
        sent = await sync_to_async(openai_configured.settled_tokens)()
        answer = await Message.objects.filter(role="assistant").afirst()
    finally:
        gc.enable()

    assert sent < 50, "the model kept streaming after the client left"
    assert answer is not None and answer.status == "interrupted"
    assert answer.text.startswith("w0")
