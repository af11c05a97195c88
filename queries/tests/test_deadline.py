"""Deadline: one timer bounds every wait of a streamed answer."""

from __future__ import annotations

import asyncio
import time

import pytest

from queries.deadline import Deadline


async def test_a_wait_before_the_deadline_gives_its_result():
    deadline = Deadline(5)
    try:
        assert await deadline.wait(asyncio.sleep(0.01, result="piece")) == "piece"
        assert await deadline.wait(asyncio.sleep(0.01, result="next")) == "next"
    finally:
        deadline.close()


async def test_a_wait_that_outlasts_the_deadline_ends_at_it():
    deadline = Deadline(0.3)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await deadline.wait(asyncio.sleep(10))
    assert 0.25 < time.monotonic() - started < 2
    assert asyncio.current_task().cancelling() == 0  # the task can go on


async def test_a_wait_after_the_deadline_fails_at_once_without_starting():
    deadline = Deadline(0.1)
    await asyncio.sleep(0.2)  # the reader was busy elsewhere: no wait was running
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await deadline.wait(asyncio.sleep(10))
    assert time.monotonic() - started < 0.1


async def test_a_cancel_from_outside_stays_a_cancel():
    async def waiting() -> None:
        deadline = Deadline(10)
        await deadline.wait(asyncio.sleep(10))

    task = asyncio.create_task(waiting())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
