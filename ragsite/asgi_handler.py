"""Django's ASGI handler, with each request's sync thread reused instead of started anew.

Django gives every request a thread of its own for its sync code (signal
receivers, sync views, `response.close()`) by entering a fresh
`ThreadSensitiveContext`, which starts a thread and joins it when the request
ends: on a streamed question that was a tenth of its CPU on the event loop.
Here the same one-request-at-a-time guarantee comes from single-thread
executors kept for the next request, so a busy process starts a thread only
when more requests than ever before run at once. The web process also leaves out
Django's work at the start of each request where it has none to do
(`start_requests_on_the_loop`), and tells each request's upstream streams at once
when its reader leaves (ragsite.departures).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_started
from django.db import close_old_connections, reset_queries

from ragsite import departures

# Idle threads kept beyond this are stopped: a burst does not leave hundreds behind.
KEEP_IDLE = 32


class ReusedThreadsASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # Django's own refusal
            return
        executor = self._take()
        departure = departures.begin()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, departure.watching(receive), send)
        finally:
            self._give_back(executor)

    def _take(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def _give_back(self, executor: ThreadPoolExecutor) -> None:
        with self._lock:
            if len(self._idle) < KEEP_IDLE:
                self._idle.append(executor)
                return
        executor.shutdown(wait=False)


def get_asgi_application() -> ReusedThreadsASGIHandler:
    django.setup(set_prefix=False)
    start_requests_on_the_loop()
    return ReusedThreadsASGIHandler()


def start_requests_on_the_loop() -> bool:
    """Leave out Django's two receivers of `request_started` where they have nothing
    to do; True when they were left out.

    Both are sync, so every request waited for a trip to its thread and back before
    its view began (0.24 ms p50 of the 1.0 ms between the request and the view, a
    question at a time; bench/RESULTS.md). `close_old_connections` closes the
    thread's connections that are too old or broken: with CONN_MAX_AGE 0 the thread
    closed every one when its last request ended (`request_finished`, which keeps
    its receivers), and the answer stream's calls close theirs as they go
    (ragsite.db). `reset_queries` empties the log of the queries run, which is kept
    only with DEBUG.
    """
    if settings.DEBUG or any(db.get("CONN_MAX_AGE", 0) != 0 for db in settings.DATABASES.values()):
        return False
    request_started.disconnect(close_old_connections)
    request_started.disconnect(reset_queries)
    return True
