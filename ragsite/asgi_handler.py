"""Django's ASGI handler, with each request's sync thread reused instead of started anew.

Django gives every request a thread of its own for its sync code (signal
receivers, sync views, `response.close()`) by entering a fresh
`ThreadSensitiveContext`, which starts a thread and joins it when the request
ends: on a streamed question that was a tenth of its CPU on the event loop.
Here the same one-request-at-a-time guarantee comes from single-thread
executors kept for the next request, so a busy process starts a thread only
when more requests than ever before run at once.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler

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
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
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
    return ReusedThreadsASGIHandler()
