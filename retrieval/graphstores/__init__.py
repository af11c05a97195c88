"""Choose and open the configured graph store.

Async drivers belong to the event loop that created them, so one store is
kept per running loop: daphne has one loop for the life of the process, the
worker and shell commands get a new loop for every async_to_sync call, and
`run_sync` closes the store such a short-lived loop opened (a cached one would
keep its loop, its socket and its driver alive for the life of the process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

from asgiref.sync import async_to_sync
from django.conf import settings

from retrieval.graphstores.base import ChunkNode, DocumentNode, EntityNode, GraphStore, Hit

__all__ = [
    "ChunkNode",
    "DocumentNode",
    "EntityNode",
    "GraphStore",
    "Hit",
    "aget_store",
    "build_store",
    "loop_scope",
    "run_sync",
]

logger = logging.getLogger(__name__)

_stores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GraphStore] = (
    weakref.WeakKeyDictionary()
)
_ready: set[tuple[str, str]] = set()


def build_store(backend: str | None = None, **options: object) -> GraphStore:
    """A new, unconnected store of the given backend (settings fill what is not given)."""
    backend = backend or settings.GRAPH_STORE
    if backend == "neo4j":
        from retrieval.errors import ConfigurationError
        from retrieval.graphstores.neo4j import Neo4jStore

        uri = options.get("uri") or settings.NEO4J_URI
        if not uri:
            raise ConfigurationError("GRAPH_STORE is neo4j but NEO4J_URI is not set.")
        return Neo4jStore(
            uri=str(uri),
            user=str(options.get("user") or settings.NEO4J_USER),
            password=str(options.get("password") or settings.NEO4J_PASSWORD),
            database=options.get("database") or settings.NEO4J_DATABASE,  # type: ignore[arg-type]
        )
    from retrieval.graphstores.falkordb import FalkorDBStore

    return FalkorDBStore(
        path=options.get("path") or settings.FALKORDB_PATH,  # type: ignore[arg-type]
        graph=str(options.get("graph") or settings.FALKORDB_GRAPH),
    )


def _identity() -> tuple[str, str]:
    if settings.GRAPH_STORE == "neo4j":
        return ("neo4j", f"{settings.NEO4J_URI}/{settings.NEO4J_DATABASE}")
    return ("falkordb", f"{settings.FALKORDB_PATH}/{settings.FALKORDB_GRAPH}")


async def aget_store(*, setup: bool = True) -> GraphStore:
    """The configured store for this event loop, with its indexes in place."""
    loop = asyncio.get_running_loop()
    store = _stores.get(loop)
    if store is None:
        store = build_store()
        _stores[loop] = store
    identity = _identity()
    if setup and identity not in _ready:
        from retrieval import embeddings

        await store.setup(embeddings.dimension())
        _ready.add(identity)
    return store


def forget_stores() -> None:
    """Drop cached stores and set-up state (after settings change, in tests)."""
    _stores.clear()
    _ready.clear()


@contextlib.asynccontextmanager
async def loop_scope() -> AsyncIterator[None]:
    """Close, on the way out, what this block opened for this loop: the graph store
    and the chat model's HTTP client (a short-lived loop would leak both)."""
    from retrieval import llm

    loop = asyncio.get_running_loop()
    had_one = loop in _stores
    had_client = llm.has_loop_client()
    try:
        yield
    finally:
        store = None if had_one else _stores.pop(loop, None)
        if store is not None:
            try:
                await store.close()
            except Exception:
                logger.warning("could not close the graph store", exc_info=True)
        if not had_client:
            await llm.aclose_loop_client()


def run_sync[**P, R](func: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
    """async_to_sync(func)(...) for sync callers, without leaving a store open."""

    async def scoped() -> R:
        async with loop_scope():
            return await func(*args, **kwargs)

    return async_to_sync(scoped)()
