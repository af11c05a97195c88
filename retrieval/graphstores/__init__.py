"""Open the configured graph store: one per running event loop.

The backend is a class named by a dotted path in settings.GRAPH_STORE_BACKEND
(GRAPH_STORE=falkordb|neo4j is the short form), as Django names its cache and
task backends; each class builds itself from settings. Async drivers belong to
the loop that created them, so one store is kept per loop; `retrieval.loops`
closes the store of a loop that ends with its work.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from retrieval.graphstores.base import ChunkNode, DocumentNode, EntityNode, GraphStore, Hit
from retrieval.loops import note_use, on_loop_end

__all__ = [
    "ChunkNode",
    "DocumentNode",
    "EntityNode",
    "GraphStore",
    "Hit",
    "aget_store",
    "backend_class",
    "build_store",
]

_stores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GraphStore] = (
    weakref.WeakKeyDictionary()
)
_ready: set[str] = set()


def backend_class(path: str | None = None) -> type[GraphStore]:
    return import_string(path or settings.GRAPH_STORE_BACKEND)


def build_store(path: str | None = None, **overrides: Any) -> GraphStore:
    """A new, unconnected store of the given backend; settings fill what is not given."""
    return backend_class(path).from_settings(**overrides)


async def aget_store(*, setup: bool = True) -> GraphStore:
    """The configured store for this event loop, with its indexes in place."""
    note_use()
    loop = asyncio.get_running_loop()
    store = _stores.get(loop)
    if store is None:
        store = _stores[loop] = build_store()
    if setup and store.identity not in _ready:
        from retrieval import embeddings

        await store.setup(embeddings.dimension())
        _ready.add(store.identity)
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
