"""The stretch of a passage shown beside its citation."""

from __future__ import annotations

from queries.snippets import SNIPPET, snippet

STATUS = (
    "PROJECT KITE - WEEKLY STATUS UPDATE\n"
    "Week 38 - Friday 19 September 2025 - Nadia Rahimi\n"
    "The launch moves from 15 October to 29 October 2025, decided with Owen, Ines and Tom "
    "on Thursday after the week's review of the open items.\n"
    "Beta survey closed: 12 responses, NPS 41. Press release v2 goes out on 26 September.\n"
    "Risks\n"
    "Risk: SSO fix not signed off before go / no-go; Impact: High; Mitigation: launch "
    "without SSO for multi-role tenants\n"
    "Risk: Beta detractors churn; Impact: Medium; Mitigation: calls booked\n"
)


def test_a_short_passage_is_shown_whole():
    assert snippet("The falcon nests on cliffs.", "Where does it nest?") == (
        "The falcon nests on cliffs."
    )


def test_the_stretch_with_the_questions_words_is_shown_from_its_lines_start():
    shown = snippet(STATUS, "What are the risks and their mitigations?")

    assert shown.startswith("...Risks\nRisk: SSO fix not signed off")
    assert "Mitigation" in shown and len(shown) <= SNIPPET


def test_the_passages_start_is_shown_when_no_later_stretch_holds_more():
    for question in ("When does the launch move, and to when?", "What is a banana?", ""):
        shown = snippet(STATUS, question)

        assert shown.startswith("PROJECT KITE - WEEKLY STATUS UPDATE\nWeek 38")
        assert shown.endswith("...") and len(shown) <= SNIPPET


def test_a_snippet_ends_on_a_whole_word():
    shown = snippet(STATUS, "")

    last = shown.removesuffix("...").split()[-1]
    assert f" {last} " in STATUS.replace("\n", " ") or STATUS.endswith(last)
