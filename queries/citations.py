"""Keep [n] markers honest while text streams.

A model may cite a passage that does not exist ([7] when five were given),
and may write a marker loosely: [ 2 ], [1, 3], [2-4]. The filter holds back a
possible marker until it is complete, then writes it as plain [n] markers for
the real passages only; invented numbers are dropped, so what a reader sees as
a source always is one.
"""

from __future__ import annotations

import re

_NUMBER = r"\s*\d{1,3}\s*"
_ITEM = rf"{_NUMBER}(?:[-–]{_NUMBER})?"
_MARKER = re.compile(rf"\[({_ITEM}(?:,{_ITEM})*)\]")
# Exactly the unfinished beginnings of a _MARKER, so where tokens split never matters.
_OPEN = re.compile(rf"\[(?:{_ITEM},)*\s*(?:\d{{1,3}}\s*(?:[-–]\s*(?:\d{{1,3}}\s*)?)?)?$")
_LONGEST_RANGE = 20  # [1-999] is not a citation of 999 passages


def _numbers(group: str) -> list[int]:
    numbers: list[int] = []
    for item in group.split(","):
        ends = [int(n) for n in re.findall(r"\d+", item)]
        low, high = ends[0], ends[-1]
        if low <= high <= low + _LONGEST_RANGE:
            numbers.extend(range(low, high + 1))
        else:
            numbers.extend(ends)
    return numbers


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
        numbers = _numbers(match.group(1))
        if 0 in numbers:  # passages count from 1: arr[0], [0-9] are text, not citations
            return match.group(0)
        kept = dict.fromkeys(n for n in numbers if n in self.valid)
        self.dropped.extend(n for n in numbers if n not in self.valid)
        return "".join(f"[{n}]" for n in kept)
