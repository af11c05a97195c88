"""Resuming an answer's event stream after a lost connection.

Each event of an answer carries an id that says how far its reader got: "s1"
(searching), "c" (the sources), "s2" (writing), "t<N>" (the answer's first N
characters), "d" or "e" (the end). With the last id it received, a reader asks
again (GET /api/query/stream/<message id>/ with Last-Event-ID) and gets what it
missed and then the rest: live from an answer this process is writing, once
stored from one another process is writing, at once from a stored answer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from queries.models import Message
from queries.sse import KEEP_ALIVE, event
from ragsite import db

RETRIEVING, CITATIONS, GENERATING, DONE, ERROR = "s1", "c", "s2", "d", "e"
_STAGES = {RETRIEVING: 1, CITATIONS: 2, GENERATING: 3}
_TEXT, _ENDED = 4, 5
KEEP_ALIVE_SECONDS = 15.0
STORED_POLL_SECONDS = 0.5
STOPPED = "This answer was stopped before the end."
FAILED = "The answer could not be completed. Please try again."

Frame = tuple[str, Any, str]  # event name, data, id


@dataclass(frozen=True)
class Progress:
    """How far a reader got, from the last event id it received."""

    stage: int = 0
    offset: int = 0  # characters of the answer text received

    @property
    def ended(self) -> bool:
        return self.stage == _ENDED

    @classmethod
    def after(cls, last_id: str | None) -> Progress:
        last = (last_id or "").strip()
        if last in _STAGES:
            return cls(_STAGES[last])
        if last in (DONE, ERROR):
            return cls(_ENDED)
        if match := re.fullmatch(r"t(\d{1,9})", last):
            return cls(_TEXT, int(match.group(1)))
        return cls()  # none, or not one of ours: from the start


def missed(progress: Progress, frames: list[Frame], text: str) -> list[Frame]:
    """The events after `progress`, given the answer's events before its text and the
    text so far (sent as one token)."""
    later = [frame for frame in frames if _STAGES[frame[2]] > progress.stage]
    start = progress.offset if progress.stage == _TEXT else 0
    if len(text) > start:
        later.append(("token", text[start:], f"t{len(text)}"))
    return later


@dataclass
class Live:
    """An answer this process is writing, as its readers have been sent it."""

    loop: asyncio.AbstractEventLoop
    frames: list[Frame] = field(default_factory=list)  # those before the text
    parts: list[str] = field(default_factory=list)  # the text, token by token
    length: int = 0
    ended: Frame | None = None
    readers: set[asyncio.Queue[Frame | None]] = field(default_factory=set)

    def frame(self, name: str, data: Any) -> str:
        """The event as sent, with its id; readers who came back get it too."""
        if name == "token":
            self.parts.append(data)
            self.length += len(data)
            sent: Frame = (name, data, f"t{self.length}")
        elif name in ("done", "error"):
            sent = self.ended = (name, data, DONE if name == "done" else ERROR)
        else:
            frame_id = (
                CITATIONS if name == "citations" else (GENERATING if self.frames else RETRIEVING)
            )
            sent = (name, data, frame_id)
            self.frames.append(sent)
        for reader in self.readers:
            reader.put_nowait(sent)
        return event(*sent)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def stop(self) -> None:
        """The answer ends without its last event (its reader left): readers who came
        back are told it stopped."""
        if self.ended is None:
            self.frame("error", {"message": STOPPED, "code": "interrupted"})
        for reader in self.readers:
            reader.put_nowait(None)


_live: dict[str, Live] = {}


def begin(message_id: str) -> Live:
    live = _live[message_id] = Live(asyncio.get_running_loop())
    return live


def end(message_id: str, live: Live) -> None:
    live.stop()
    if _live.get(message_id) is live:
        del _live[message_id]


async def resumed(reply: Message, progress: Progress) -> AsyncIterator[str]:
    """What the reader missed of `reply`, then the rest as it comes."""
    live = _live.get(str(reply.pk))
    if live is not None and live.loop is asyncio.get_running_loop():
        async for part in _from_live(live, progress):
            yield part
        return
    # Another process is writing it: its text is stored when it ends.
    waited = 0.0
    while reply.answering_until is not None and reply.answering_until > timezone.now():
        await asyncio.sleep(STORED_POLL_SECONDS)
        waited += STORED_POLL_SECONDS
        if waited >= KEEP_ALIVE_SECONDS:
            waited = 0.0
            yield KEEP_ALIVE
        reply = await db.in_thread(Message.objects.get)(pk=reply.pk)
    yield "".join(event(*frame) for frame in [*missed(progress, *_stored(reply)), _end(reply)])


async def _from_live(live: Live, progress: Progress) -> AsyncIterator[str]:
    queue: asyncio.Queue[Frame | None] = asyncio.Queue()
    # What was sent so far and the subscription, with no await between them:
    # nothing is missed and nothing comes twice.
    first = missed(progress, live.frames, live.text)
    if live.ended is not None:
        yield "".join(event(*frame) for frame in [*first, live.ended])
        return
    live.readers.add(queue)
    try:
        if first:
            yield "".join(event(*frame) for frame in first)
        while True:
            try:
                frame = await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
            except TimeoutError:
                yield KEEP_ALIVE
                continue
            if frame is None:
                return
            yield event(*frame)
            if frame[0] in ("done", "error"):
                return
    finally:
        live.readers.discard(queue)


def _stored(reply: Message) -> tuple[list[Frame], str]:
    frames: list[Frame] = [("status", {"stage": "retrieving"}, RETRIEVING)]
    if reply.citations:
        frames.append(("citations", reply.citations, CITATIONS))
    frames.append(("status", {"stage": "generating"}, GENERATING))
    return frames, reply.text


def _end(reply: Message) -> Frame:
    if reply.status == Message.Status.COMPLETE:
        done = {
            "conversation_id": str(reply.conversation_id),
            "message_id": str(reply.pk),
            "finish_reason": reply.finish_reason or "stop",
        }
        return ("done", done, DONE)
    if reply.status == Message.Status.INTERRUPTED:
        return ("error", {"message": STOPPED, "code": "interrupted"}, ERROR)
    return ("error", {"message": FAILED, "code": "stream_failed"}, ERROR)
