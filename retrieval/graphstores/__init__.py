"""Choose and open the configured graph store.

Async drivers belong to the event loop that created them, so one store is
kept per running loop; `retrieval.loops` closes the store of a loop that ends
with its work (a worker task, a `run_sync` call from sync code).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable

from asgiref.sync import async_to_sync
from django.conf import settings

from retrieval.graphstores.base import ChunkNode, DocumentNode, EntityNode, GraphStore, Hit
from retrieval.loops import loop_scope, note_use, on_loop_end

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
    note_use()
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


@on_loop_end
async def _close_store(loop: asyncio.AbstractEventLoop) -> None:
    store = _stores.pop(loop, None)
    if store is not None:
        await store.close()


def run_sync[**P, R](func: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
    """async_to_sync(func)(...) for sync callers, without leaving a store open."""

    async def scoped() -> R:
        async with loop_scope():
            return await func(*args, **kwargs)

    return async_to_sync(scoped)()
