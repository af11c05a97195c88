"""Markers in a streamed answer name only passages the reader can see."""

from __future__ import annotations

import pytest

from queries.citations import MarkerFilter


def stream(tokens: list[str], passages: int) -> tuple[str, list[int]]:
    markers = MarkerFilter(passages)
    shown = "".join(markers.feed(token) for token in tokens) + markers.flush()
    return shown, markers.dropped


@pytest.mark.parametrize(
    ("written", "shown", "dropped"),
    [
        ("fast [1].", "fast [1].", []),
        ("fast [ 2 ].", "fast [2].", []),
        ("fast [1, 3].", "fast [1][3].", []),
        ("fast [1,9].", "fast [1].", [9]),
        ("fast [2-4].", "fast [2][3][4].", []),
        ("fast [2–4].", "fast [2][3][4].", []),
        ("fast [4-7].", "fast [4][5].", [6, 7]),
        ("fast [ 9 ].", "fast .", [9]),
        ("fast [1-999].", "fast [1].", [999]),
        ("fast [1][1].", "fast [1][1].", []),
        ("see arr[x] and [note]", "see arr[x] and [note]", []),
        ("arr[0] and digits [0-9]", "arr[0] and digits [0-9]", []),
    ],
)
def test_markers_are_normalised_and_invented_ones_dropped(written, shown, dropped):
    assert stream([written], passages=5) == (shown, dropped)


def test_a_marker_split_across_tokens_is_judged_whole():
    tokens = ["nests on cliffs [", " 2", " -", "3", " ]", " and [", "8", "]."]
    assert stream(tokens, passages=3) == ("nests on cliffs [2][3] and .", [8])


def test_an_unfinished_bracket_at_the_end_is_shown_as_written():
    assert stream(["a list [1, "], passages=3) == ("a list [1, ", [])


def test_where_the_tokens_split_never_changes_what_is_shown():
    text = "Fast [7, 2 , 2 ,12,7,12] and [ 3 - 4 ], arr[0], [note] [1"
    whole = stream([text], passages=5)
    for cut in range(1, len(text)):
        assert stream([text[:cut], text[cut:]], passages=5) == whole, cut
    assert whole == ("Fast [2] and [3][4], arr[0], [note] [1", [7, 12, 7, 12])
