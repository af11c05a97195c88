"""A question that asks several things is told apart into its asks; one that asks one is not."""

from __future__ import annotations

import pytest

from retrieval.questions import question_parts


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "When is the launch, and why did the date change?",
            ["When is the launch", "why did the date change"],
        ),
        (
            "What did the studio quote, what was agreed, and what changed in scope?",
            ["What did the studio quote", "what was agreed", "what changed in scope"],
        ),
        (
            "How much is left to pay, and against which budget line?",
            ["How much is left to pay", "against which budget line"],
        ),
        ("Who chairs the meeting? When is it?", ["Who chairs the meeting", "When is it"]),
    ],
)
def test_each_ask_of_a_question_is_a_part(question: str, parts: list[str]) -> None:
    assert question_parts(question) == parts


@pytest.mark.parametrize(
    "question",
    [
        "What was decided at the design review?",
        "How many promoters and detractors were there?",
        # A relative clause is not a new ask.
        "When did the television channel, which features Spliced, first launch?",
        "Which band, who toured with Everclear, recorded the album?",
        # A statement followed by its question is asked as a whole.
        "The film starred a four-time nominee, who received a star in what year?",
        "What changed between v1 and v2 of the press release?",
    ],
)
def test_a_question_that_asks_one_thing_stays_whole(question: str) -> None:
    assert question_parts(question) == [question]
