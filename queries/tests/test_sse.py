"""Token texts survive SSE framing exactly, as read by a spec-compliant parser."""

from __future__ import annotations

import json

import pytest

from queries.sse import KEEP_ALIVE, event
from tests.sse_parser import Parser, parse

TOKENS = [
    " leading space",
    "trailing space ",
    "  two spaces both sides  ",
    "\n",
    "\n\n",
    "line one\nline two",
    "ends with newline\n",
    "data: x",
    ": x",
    "event: x",
    "id: 7",
    "retry: 10",
    "naïve café — ünïcödé",
    "emoji 🚀👩‍🚀 and 中文",
    "[1]",
    ":",
    " ",
]


@pytest.mark.parametrize("token", TOKENS)
def test_a_token_round_trips_exactly(token: str):
    (received,) = parse([event("token", token)])
    assert received.event == "token"
    assert received.data == token


def test_carriage_returns_arrive_as_line_feeds():
    (received,) = parse([event("token", "a\r\nb\rc\n")])
    assert received.data == "a\nb\nc\n"


def test_a_stream_split_anywhere_parses_the_same():
    stream = "".join(event("token", t) for t in TOKENS) + KEEP_ALIVE
    for size in (1, 2, 3, 7, 64):
        parser = Parser()
        pieces = [stream[i : i + size] for i in range(0, len(stream), size)]
        received = [e for piece in pieces for e in parser.feed(piece)]
        assert [e.data for e in received] == TOKENS
        assert parser.comments == ["keep-alive"]


def test_json_events_carry_their_object():
    payload = {"stage": "retrieving", "text": "a\nb"}
    (received,) = parse([event("status", payload)])
    assert json.loads(received.data) == payload
