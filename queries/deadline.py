"""A deadline for a whole streamed answer that costs one timer, not one per piece.

`asyncio.timeout` cannot be held across a generator's `yield` (it would fire in
the reader's code), and a fresh `asyncio.wait_for` around every wait for the
model's next piece armed and cancelled a timer per token: under 300 streams,
a tenth of the event loop's time. `Deadline` arms one timer for the answer and
cancels the task only while it waits for the model; a wait that starts after
the deadline fails at once. Either way the caller sees `TimeoutError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    def __init__(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None, "a Deadline belongs to a task"
        self._task = task
        self._waiting = False
        self._passed = False
        self._timer = loop.call_at(loop.time() + seconds, self._pass)

    def _pass(self) -> None:
        self._passed = True
        if self._waiting:
            self._task.cancel()

    async def wait(self, awaitable: Awaitable[T]) -> T:
        """`awaitable`'s result, or TimeoutError once the deadline has passed."""
        if self._passed:
            close = getattr(awaitable, "close", None)
            if close is not None:
                close()  # never started: not left for the collector to warn about
            raise TimeoutError
        self._waiting = True
        try:
            return await awaitable
        except asyncio.CancelledError:
            # Ours only if the deadline cancelled and nobody else asked to cancel.
            if self._passed and self._task.uncancel() == 0:
                raise TimeoutError from None
            raise
        finally:
            self._waiting = False

    def close(self) -> None:
        self._timer.cancel()
