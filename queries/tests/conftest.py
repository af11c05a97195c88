"""Fixtures for the question endpoints: ready documents and authenticated callers."""

from __future__ import annotations

import json

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from tests.documents import ingest
from tests.sse_parser import Event, Parser

FALCONS = (
    "The peregrine falcon is the fastest bird in the world. In a hunting dive it can "
    "exceed 300 km/h. Peregrine falcons nest on cliffs and, in cities, on tall buildings.\n\n"
    "Falconers in the Middle Ages trained peregrines to hunt ducks and herons."
)
HARBOUR = (
    "The old harbour of Valletta was built by the Knights of St John. Its fortifications "
    "protected the Grand Harbour during the Great Siege of Malta in 1565."
)


@pytest.fixture
def alice_falcons(alice):
    return ingest(alice, FALCONS, "falcons.txt")


@pytest.fixture
def bob_harbour(bob):
    return ingest(bob, HARBOUR, "harbour.txt")


@pytest.fixture(scope="module")
def llm():
    """One local OpenAI-compatible server for a module's app processes."""
    from tests.openai_server import OpenAIServer

    server = OpenAIServer().start()
    yield server
    server.stop()


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


@pytest.fixture
def alice_auth(alice):
    return bearer(alice)


@pytest.fixture
def bob_auth(bob):
    return bearer(bob)


async def post_stream(client, body, headers, *, raw: bool = False):
    return await client.post(
        "/api/query/stream/",
        data=body if raw else json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


async def read_events(response) -> tuple[list[Event], Parser]:
    parser = Parser()
    events: list[Event] = []
    async for chunk in response.streaming_content:
        events.extend(parser.feed(chunk.decode()))
    return events, parser
