"""Per-loop clients: a server's loop keeps them, a loop that ends with its work closes them."""

from __future__ import annotations

import asyncio
import contextvars

from retrieval.graphstores import aget_store
from retrieval.loops import loop_scope


async def test_a_servers_loop_keeps_the_store_a_scope_on_it_opened():
    async with loop_scope():  # a sync view's run_sync on the server's loop
        store = await aget_store(setup=False)
        # Meanwhile a streaming request (a task of its own, outside any scope) uses it.
        request = asyncio.create_task(aget_store(setup=False), context=contextvars.Context())
        assert await request is store

    assert await aget_store(setup=False) is store  # not closed under that request


async def test_a_loop_of_its_own_closes_its_store_when_its_last_scope_ends():
    async with loop_scope():  # a worker task
        store = await aget_store(setup=False)
        async with loop_scope():  # a second scope on the same loop
            assert await aget_store(setup=False) is store
        assert await aget_store(setup=False) is store  # the first is still open

    assert await aget_store(setup=False) is not store  # closed and forgotten
