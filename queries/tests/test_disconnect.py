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
from tests.asgi import leaving_client, post_scope
from tests.openai_server import Reply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def test_leaving_while_the_server_is_blocked_in_send(alice, alice_falcons, openai_configured):
    from ragsite.asgi import application

    openai_configured.replies.append(Reply([f"w{i} " for i in range(100)], delay=0.05))
    headers = await sync_to_async(bearer)(alice)
    body = json.dumps({"query": "How fast does a peregrine falcon dive?"}).encode()
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
