"""Properties of the SSE encoding, for any text a model may send."""

from __future__ import annotations

import itertools

from hypothesis import example, given
from hypothesis import strategies as st

from queries.sse import LineEndings, event
from tests.sse_parser import Parser

NAMES = st.sampled_from(["status", "citations", "token", "done", "error"])
# Any Unicode a UTF-8 stream can carry (lone surrogates cannot be encoded), with
# line breaks and colons often, as they are what the framing has to get right.
TEXT = st.text(
    st.one_of(st.sampled_from("\r\n: a"), st.characters(exclude_categories=("Cs",))),
    min_size=1,
)


def as_sent(text: str) -> str:
    """SSE cannot carry a carriage return: CR and CRLF arrive as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@given(name=NAMES, text=TEXT, cuts=st.lists(st.integers(min_value=0), max_size=8))
def test_any_text_reaches_a_compliant_parser_as_one_event_however_the_bytes_arrive(
    name, text, cuts
):
    wire = event(name, text)
    # The network may cut the stream anywhere.
    points = sorted({cut % (len(wire) + 1) for cut in cuts} | {0, len(wire)})
    parser = Parser()
    parsed = []
    for start, end in itertools.pairwise(points):
        parsed += parser.feed(wire[start:end])

    assert [(e.event, e.data) for e in parsed] == [(name, as_sent(text))]


@given(tokens=st.lists(TEXT, min_size=1, max_size=20))
@example(tokens=["a\r", "\nb"])
def test_tokens_in_a_row_arrive_as_the_text_they_make_together(tokens):
    lines = LineEndings()
    wire = "".join(event("token", piece) for token in tokens if (piece := lines.feed(token)))

    received = "".join(e.data for e in Parser().feed(wire))

    # A CR ending one token and an LF starting the next are still one line break.
    assert received == as_sent("".join(tokens))
