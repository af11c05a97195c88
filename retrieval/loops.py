"""Which event loops live long and which end soon, and closing what the latter opened.

Async clients (the graph store's driver, the chat model's HTTP client) belong
to the event loop that opened them, so one of each is kept per loop. daphne
runs one loop for the life of the process: what it opens stays open and is
shared by every request. A worker task or a sync caller (`run_sync`) gets a
loop that ends with it: what it opened must be closed, or the loop, its
sockets and its clients stay alive for the life of the process.

Sync views run `run_sync` on daphne's loop too, so a loop is "short-lived"
only until code outside any `loop_scope` (an async view's request) uses a
client on it; and a scope closes nothing while another scope on the loop is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

from asgiref.sync import async_to_sync

logger = logging.getLogger(__name__)

Closer = Callable[[asyncio.AbstractEventLoop], Awaitable[None]]

_open_scopes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = (
    weakref.WeakKeyDictionary()
)
_long_lived: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
_closers: list[Closer] = []
_in_scope = contextvars.ContextVar("in_loop_scope", default=False)


def on_loop_end(closer: Closer) -> Closer:
    """Register `closer(loop)`, called when the last scope on a short-lived loop ends."""
    _closers.append(closer)
    return closer


def note_use() -> None:
    """Call where a per-loop client is handed out: a use outside any scope marks the
    loop as a server's, whose clients are never closed by a scope."""
    if not _in_scope.get():
        _long_lived.add(asyncio.get_running_loop())


@contextlib.asynccontextmanager
async def loop_scope() -> AsyncIterator[None]:
    """On the way out of the last scope of a short-lived loop, close its clients."""
    loop = asyncio.get_running_loop()
    _open_scopes[loop] = _open_scopes.get(loop, 0) + 1
    token = _in_scope.set(True)
    try:
        yield
    finally:
        _in_scope.reset(token)
        _open_scopes[loop] -= 1
        if not _open_scopes[loop] and loop not in _long_lived:
            for closer in _closers:
                try:
                    await closer(loop)
                except Exception:
                    logger.warning("could not close a client of a finished loop", exc_info=True)


def run_sync[**P, R](func: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
    """async_to_sync(func)(...) for sync callers, closing the clients its loop opened."""

    async def scoped() -> R:
        async with loop_scope():
            return await func(*args, **kwargs)

    return async_to_sync(scoped)()
