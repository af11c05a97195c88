"""Keep [n] markers honest while text streams.

A model may cite a passage that does not exist ([7] when five were given).
The filter holds back a possible marker until it is complete, then lets it
through only if it names a real passage; invented markers are dropped.
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_OPEN = re.compile(r"\[[\d,\s]{0,12}$")


class MarkerFilter:
    def __init__(self, passages: int) -> None:
        self.valid = set(range(1, passages + 1))
        self.dropped: list[int] = []
        self._pending = ""

    def feed(self, text: str) -> str:
        """Text safe to show now; a possibly unfinished marker is kept for later."""
        buffer = self._pending + text
        held = _OPEN.search(buffer)
        if held:
            self._pending = buffer[held.start() :]
            buffer = buffer[: held.start()]
        else:
            self._pending = ""
        return _MARKER.sub(self._keep, buffer)

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return _MARKER.sub(self._keep, rest)

    def _keep(self, match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        kept = [n for n in numbers if n in self.valid]
        self.dropped.extend(n for n in numbers if n not in self.valid)
        return "".join(f"[{n}]" for n in kept)


def cited(text: str) -> set[int]:
    """The passage numbers an answer cites."""
    return {int(n) for group in _MARKER.findall(text) for n in re.findall(r"\d+", group)}
