"""Drive the ASGI application directly, for tests that choose the moment a client leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


def post_scope(headers: dict[str, str], path: str = "/api/query/stream/") -> dict:
    """The ASGI scope of a JSON POST to `path` with these headers."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            *[(k.lower().encode(), v.encode()) for k, v in headers.items()],
        ],
    }


def leaving_client(body: bytes, left: asyncio.Event) -> Callable[[], Awaitable[dict]]:
    """An ASGI `receive` that sends `body`, then reports a disconnect once `left` is set."""
    received = 0

    async def receive() -> dict:
        nonlocal received
        received += 1
        if received == 1:
            return {"type": "http.request", "body": body, "more_body": False}
        await left.wait()
        return {"type": "http.disconnect"}

    return receive
