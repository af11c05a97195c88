"""The stretch of a passage shown beside its citation.

A passage is often a page or a long part of one, and what the question is about
may sit in its middle: a status update's risk table under its headline and its
week's news. Its first 200 characters then say nothing of why it was cited. The
snippet is the stretch, from the start of a line or a sentence, that holds the
most of the question's words; the passage's start when no stretch holds more.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from retrieval.words import WORD, query_words, stem

SNIPPET = 200  # characters at most, the "..." marks included
_CUT = "..."
# Where a stretch may begin: a line's start, or a sentence's.
_START = re.compile(r"\n\s*|(?<=[.!?;])\s+")


def snippet(text: str, question: str = "") -> str:
    """At most SNIPPET characters of `text`, "..." where it is cut."""
    if len(text) <= SNIPPET:
        return text
    wanted = {stem(word) for word in query_words(question)}
    found = [
        (match.start(), word)
        for match in WORD.finditer(text)
        if (word := stem(match.group().lower())) in wanted
    ]
    start = _best_start(text, found) if found else 0
    room = SNIPPET - len(_CUT) * (2 if start else 1)
    if start and len(text) - start <= room:  # the rest of the passage fits
        return _CUT + text[start:]
    window = text[start : start + room]
    if not text[start + room].isspace() and len(window.split()) > 1:
        window = window.rsplit(None, 1)[0]  # not a word cut in two
    return (_CUT if start else "") + window.rstrip() + _CUT


def _best_start(text: str, found: list[tuple[int, str]]) -> int:
    """The line or sentence start whose stretch holds the most distinct wanted words,
    the nearest before the first of them among equals; 0 unless a later start's
    stretch holds more than the passage's start."""
    positions = [position for position, _ in found]
    room = SNIPPET - 2 * len(_CUT)

    def held(start: int) -> tuple[int, int]:
        first = bisect_left(positions, start)
        last = bisect_left(positions, start + room)
        words = len({word for _, word in found[first:last]})
        return words, -(positions[first] - start) if first < last else 0

    best, most = 0, held(0)[0]
    ranked: tuple[int, int] | None = None
    for match in _START.finditer(text):
        start = match.end()
        if start >= len(text) or start > positions[-1]:
            break
        score = held(start)
        if score[0] > most and (ranked is None or score > ranked):
            best, ranked = start, score
    return best
