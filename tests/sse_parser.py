"""A spec-compliant Server-Sent Events parser (HTML standard, "event stream interpretation").

Written from the standard's algorithm so tests read streams exactly as a
browser's EventSource would: lines end in CRLF, LF or CR; a leading space
after the colon is removed once; data lines are joined with LF; an event with
an empty data buffer is not dispatched; comment lines are kept for tests that
look for keep-alives.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass


@dataclass
class Event:
    event: str
    data: str
    id: str = ""  # the last event id seen so far, as EventSource keeps it


_LINE = re.compile(r"\r\n|\n|\r")


class Parser:
    def __init__(self) -> None:
        self._buffer = ""
        self._data: list[str] = []
        self._event = ""
        self._id = ""
        self.comments: list[str] = []

    def feed(self, text: str) -> list[Event]:
        self._buffer += text
        events: list[Event] = []
        while True:
            match = _LINE.search(self._buffer)
            # A lone CR at the end may be the first half of CRLF: wait for more.
            if match is None or (match.group() == "\r" and match.end() == len(self._buffer)):
                break
            line, self._buffer = self._buffer[: match.start()], self._buffer[match.end() :]
            dispatched = self._line(line)
            if dispatched is not None:
                events.append(dispatched)
        return events

    def _line(self, line: str) -> Event | None:
        if line == "":
            data = "\n".join(self._data)
            name = self._event or "message"
            had_data = bool(self._data)
            self._data, self._event = [], ""
            return Event(name, data, self._id) if had_data else None
        if line.startswith(":"):
            self.comments.append(line[1:].removeprefix(" "))
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self._id = value
        return None


def parse(chunks: Iterable[str]) -> Iterator[Event]:
    parser = Parser()
    for chunk in chunks:
        yield from parser.feed(chunk)


async def aparse(chunks: AsyncIterator[str], parser: Parser | None = None) -> AsyncIterator[Event]:
    parser = parser or Parser()
    async for chunk in chunks:
        for item in parser.feed(chunk):
            yield item
