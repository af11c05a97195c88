"""How many answers one web process streams at once, and how many it prepares at once.

Past the limit of streams a question is turned away before its stream starts,
with a 503 and Retry-After, so that a reader gets a clear answer to retry
rather than a stream that stalls or fails halfway because the process is
overloaded. The count lives in the process (one event loop): more processes
behind one address each take their own share.

Preparing an answer (its rows stored, its passages searched) is most of the
CPU a question costs the event loop; streaming it afterwards is little. When
questions arrive faster than one process prepares them, preparing them all at
once filled the loop with their work: every answer already streaming got its
tokens late, and a reader who left was noticed a third of a second later while
the model kept writing for nobody. So questions are prepared a few at a time,
in order of arrival; the others wait (before their stream starts) up to
PREPARE_WAIT_SECONDS, then get the same 503 as a full process.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import weakref
from collections.abc import Callable

from django.conf import settings

from ragsite.async_api import Refusal

FULL = "The server is answering as many questions as it can right now. Please try again shortly."
RETRY_AFTER_SECONDS = 2
# Measured with bench/streaming.py's disconnect burst (100 questions a second):
# upstream closed p99 32 ms at 2, 41 at 3, 67 at 4, 460 with no limit.
PREPARING_AT_ONCE = 2
PREPARE_WAIT_SECONDS = 60.0

_open = 0
_lock = threading.Lock()  # a response's close() may release from a worker thread


class Slot:
    """A place taken (among the answers streaming, or being prepared); `release` gives
    it back once, however many times it is called and from whichever thread (a
    response is closed in one)."""

    def __init__(self, give_back: Callable[[], None]) -> None:
        self._give_back = give_back
        self._held = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if not self._held:
                return
            self._held = False
        self._give_back()


def _stream_ended() -> None:
    global _open
    with _lock:
        _open -= 1


def admit() -> Slot:
    """A slot for one more answer, or a Refusal (503, Retry-After) when all are taken."""
    global _open
    with _lock:
        if _open < settings.MAX_STREAMS:
            _open += 1
            return Slot(_stream_ended)
    raise _busy()


def _busy() -> Refusal:
    refusal = Refusal(FULL, "too_busy", 503)
    refusal.response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return refusal


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _on_loop(loop: asyncio.AbstractEventLoop, call: Callable[[], None]) -> None:
    """`call` on `loop`: at once from the loop itself, else handed to it (if it still runs)."""
    try:
        here = asyncio.get_running_loop() is loop
    except RuntimeError:
        here = False
    if here:
        call()
    elif not loop.is_closed():
        loop.call_soon_threadsafe(call)


async def prepare() -> Slot:
    """Wait for a place among the answers being prepared, or a Refusal (503,
    Retry-After) when none comes within PREPARE_WAIT_SECONDS."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(PREPARING_AT_ONCE)
    try:
        async with asyncio.timeout(PREPARE_WAIT_SECONDS):
            await gate.acquire()
    except TimeoutError:
        raise _busy() from None
    return Slot(functools.partial(_on_loop, loop, gate.release))
