"""Server-Sent Events framing, per the HTML standard's event-stream format.

A text with line breaks becomes several `data:` lines, which a compliant parser
joins back with LF. SSE has no way to carry a carriage return, so CR and CRLF
are sent as LF. An empty data field would not be dispatched at all by a
parser, so callers must not send empty tokens.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from django.http import StreamingHttpResponse

KEEP_ALIVE = ": keep-alive\n\n"


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def event(name: str, data: Any, id: str | None = None) -> str:
    """One event; its `id` is what a client sends back as Last-Event-ID to resume."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    lines = _lf(text).split("\n")
    head = f"id: {id}\nevent: {name}\n" if id is not None else f"event: {name}\n"
    return head + "".join(f"data: {line}\n" for line in lines) + "\n"


class LineEndings:
    """CR and CRLF as LF, also when a CRLF is split between two tokens.

    `event` does the same within one token; a model may end one token with
    CR and start the next with LF, which must still be one line break.
    """

    def __init__(self) -> None:
        self._after_cr = False

    def feed(self, text: str) -> str:
        if self._after_cr and text.startswith("\n"):
            text = text[1:]
        if text:
            self._after_cr = text.endswith("\r")
        return _lf(text)


class EventStreamResponse(StreamingHttpResponse):
    """An event stream that proxies pass through unbuffered, closing its generator itself.

    Django closes only its own wrappers when the client goes away; the events
    generator inside would wait for the garbage collector, and with it the
    model's stream and the save of the partial answer. Daphne happens to cancel
    at a point where that does not matter; servers that block in send() do not.
    """

    def __init__(
        self, events: AsyncIterator[str], *, on_close: Callable[[], None] | None = None
    ) -> None:
        super().__init__(events, content_type="text/event-stream; charset=utf-8")
        self["Cache-Control"] = "no-cache"
        self["X-Accel-Buffering"] = "no"
        self._on_close = on_close

    def close(self) -> None:
        """Django's close, then `on_close`: it runs even when the stream never started."""
        try:
            super().close()
        finally:
            if self._on_close is not None:
                self._on_close()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async with contextlib.aclosing(self._iterator) as parts:
            async for part in parts:
                yield self.make_bytes(part)
