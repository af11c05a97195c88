"""Request bodies over their limit are refused as they arrive, before anything buffers them.

Daphne (Twisted) reads a whole body into memory or a temporary file before the
application sees the request, and Django reads it again before a view runs:
a POST declaring 10 GiB was written to disk before any check (authentication
included) could refuse it. Here the limit is known from the path as soon as
the headers are in: MAX_UPLOAD_MB (and room for the form around the file) where
uploads are taken, MAX_BODY_KB everywhere else. A declared length over it, or
the bytes received passing it (a chunked body), is answered at once with the
API's JSON 413, and the connection is closed.

Two places apply it: `install_in_daphne()` gives daphne's protocol a request
class that counts as bytes arrive (ragsite.asgi installs it when daphne serves),
and `BodyLimit` wraps the ASGI application for servers that stream the body to
it (uvicorn).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Paths that take a file: the API, the documents page, the admin's document form.
UPLOAD_PATHS = ("/api/documents/", "/documents/", "/admin/retrieval/document/")
FORM_ALLOWANCE = 1024 * 1024  # the multipart framing and fields around the file


def limit_for(path: str) -> int:
    if path.startswith(UPLOAD_PATHS):
        return settings.MAX_UPLOAD_MB * 1024 * 1024 + FORM_ALLOWANCE
    return settings.MAX_BODY_KB * 1024


def refusal(limit: int) -> bytes:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    detail = f"The request body is too large (at most {size} here)."
    return json.dumps({"detail": detail, "code": "request_too_large"}).encode()


class BodyLimit:
    """ASGI middleware: the limit for servers that hand the body over as it comes."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = _declared_length(scope["headers"])
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)


class _TooLarge(Exception):
    pass


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = refusal(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install_in_daphne() -> None:
    """Make daphne's protocol build each request with the limit, and name status 429
    (idempotent)."""
    from daphne import http_protocol
    from twisted.web import http

    if getattr(http_protocol.WebRequest, "limits_body", False):
        return
    http.RESPONSES.setdefault(429, b"Too Many Requests")  # Twisted says "Unknown Status"

    class LimitedRequest(http_protocol.WebRequest):
        limits_body = True
        _refused = False

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Twisted would parse a form body itself (all of it in memory) and
            # answer one it cannot parse with a bare 400; Django parses it.
            self._parsePOSTFormSubmission = False

        def gotLength(self, length: int | None) -> None:
            path = self.channel._path.split(b"?", 1)[0].decode("latin-1")
            self._limit = limit_for(path)
            self._seen = 0
            if length is not None and length > self._limit:
                self._refuse()
                return
            super().gotLength(length)

        def handleContentChunk(self, data: bytes) -> None:
            if self._refused:
                return
            self._seen += len(data)
            if self._seen > self._limit:
                self._refuse()
                return
            super().handleContentChunk(data)

        def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
            if not self._refused:
                super().requestReceived(command, path, version)

        def _refuse(self) -> None:
            self._refused = True
            body = refusal(self._limit)
            self.channel.transport.write(
                b"HTTP/1.1 413 Request Entity Too Large\r\n"
                b"Content-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                b"Connection: close\r\n\r\n" + body
            )
            self.channel.transport.loseConnection()

    http_protocol.WebRequest = LimitedRequest  # type: ignore[misc]
