"""Database calls from async code, on the thread that suits the database.

Django runs each request's sync work on a thread of its own, which opens a
database connection and closes it when the request ends. With SQLite, whose
writers take turns anyway, the rows of the answer stream (a turn started, an
answer saved) go to one long-lived thread instead: its connection stays open,
and under load the writes queue in order rather than sleep on SQLite's lock
and retry. With PostgreSQL each call borrows a connection from the process's
pool and gives it back at once, so answers streaming for a minute hold none.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connections

_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")


def _sqlite() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


def in_thread[**P, T](function: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """`function` as a coroutine, run where database work of the answer stream runs."""

    @functools.wraps(function)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        if _sqlite():
            return await _on_writer(functools.partial(function, *args, **kwargs))
        return await sync_to_async(_released)(function, *args, **kwargs)

    return call


def after_request[**P, T](function: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """As `in_thread`, for work that may run after its request has ended, when the
    request's own thread (where Django runs its sync work) is gone."""

    @functools.wraps(function)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        if _sqlite():
            return await in_thread(function)(*args, **kwargs)
        return await sync_to_async(_released, thread_sensitive=False)(function, *args, **kwargs)

    return call


def _on_writer[T](call: Callable[[], T]) -> asyncio.Future[T]:
    """`call` on the writer thread. Its result comes back in two turns of the event
    loop (set, then the caller woken), where sync_to_async's layers of futures took
    three; on a busy loop each turn waits behind everything else ready to run.
    A caller cancelled meanwhile stops waiting; the call still completes."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (context.run(_guarded, call), None)
        except BaseException as error:  # handed to the caller
            outcome = (None, error)
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(_settle, done, *outcome)

    _writer.submit(run)
    return done


def _settle(done: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if done.cancelled():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)


def _released[T](function: Callable[..., T], *args: object, **kwargs: object) -> T:
    try:
        return function(*args, **kwargs)
    finally:
        # Back to the pool: an answer holds no connection while it streams.
        connections.close_all()


def _guarded[T](function: Callable[[], T]) -> T:
    try:
        return function()
    except DatabaseError:
        # Never reuse a connection an error may have broken: the next call reconnects.
        connections.close_all()
        raise


async def close() -> None:
    """Close the long-lived thread's connection (tests drop their database after)."""
    await _on_writer(connections.close_all)
