"""A burst of queries waits for a free connection to the store instead of failing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.conf import settings

from retrieval.errors import StoreError
from retrieval.graphstores.falkordb import FalkorDBStore

SLOW = "UNWIND range(1, $n) AS x RETURN count(x) AS n"


def small_store(connections: int, wait: float) -> FalkorDBStore:
    return FalkorDBStore(
        path=settings.FALKORDB_PATH,
        graph=f"pool_{uuid.uuid4().hex[:12]}",
        connections=connections,
        wait=wait,
    )


async def test_more_queries_than_connections_all_get_their_answer():
    store = small_store(connections=2, wait=30)
    try:
        answers = await asyncio.gather(*(store.run(SLOW, {"n": 50_000}) for _ in range(40)))
    finally:
        await store.close()

    assert [row[0]["n"] for row in answers] == [50_000] * 40


async def test_a_query_that_waits_past_the_deadline_is_told_the_store_is_busy():
    store = small_store(connections=1, wait=0.2)
    try:
        long = asyncio.create_task(store.run(SLOW, {"n": 30_000_000}))  # holds the connection
        await asyncio.sleep(0.05)
        with pytest.raises(StoreError) as refused:
            await store.run("RETURN 1 AS ok")
        await long
    finally:
        await store.close()

    assert refused.value.message == StoreError.BUSY
    assert refused.value.retry and refused.value.status == 503
