"""The local extractor names people, places, organisations and acronyms, not the words
that stand in capitals in every email, form and heading."""

from __future__ import annotations

from retrieval.entities import extract

EMAIL = """From: Kwame Mensah <k.mensah@holloway.example>
To: Nadia Rahimi <nadia@larkspur.example>
Cc: Owen Castillo <owen@larkspur.example>
Date: Fri, 12 Sep 2025 14:10:22 +0100
Subject: RE: Sign-on with Kite 3

Hi Nadia,

Users who have more than one role cannot sign in through SAML. Only some users are
affected. Otherwise the beta went well at Holloway Logistics Ltd.

Happy to join a call with Owen Castillo on Tuesday.

Thanks,
Kwame Mensah
Operations Director, Holloway Logistics Ltd
"""

FORM = """PROJECT KITE BRIEF

Owner: Tom Berglund
Scope: usage-based pricing for Kite Planner 3, built by Pixelforge
Launch
The launch date depends on the budget. Budget is set by Tom Berglund and Pixelforge.
Goals
NPS above 40 at launch.
Risks
"""


def names(text: str) -> set[str]:
    return {entity.name for entity in extract(text) if entity.type != "phrase"}


def test_an_email_gives_its_people_and_organisations_not_its_headers_and_greetings():
    found = names(EMAIL)

    assert {"Kwame Mensah", "Nadia Rahimi", "Owen Castillo", "Holloway Logistics Ltd"} <= found
    assert {"SAML", "Kite 3", "Operations Director"} <= found
    for noise in ("Cc", "Date", "Fri", "Sep", "Subject", "Hi Nadia", "Thanks", "Regards"):
        assert noise not in found
    # Words that stand in capitals only because they open a sentence.
    for word in ("Users", "Otherwise", "Happy", "Only"):
        assert word not in found


def test_a_form_gives_its_names_not_its_labels_and_headings():
    found = names(FORM)

    assert {"Tom Berglund", "Kite Planner 3", "Pixelforge", "NPS"} <= found
    # Labels before a colon, headings on lines of their own, and a word the
    # document also writes in small letters ("launch", "budget").
    for word in ("Owner", "Scope", "Launch", "Goals", "Risks", "Budget", "PROJECT", "BRIEF"):
        assert word not in found


def test_a_one_word_name_inside_a_sentence_is_kept():
    found = names("Quotes come from Pixelforge. Pixelforge films it. Its producer is Faye.")

    assert {"Pixelforge", "Faye"} <= found


def test_names_that_begin_like_a_greeting_or_a_date_are_kept():
    found = names(
        "The deal with Best Buy was signed on 3 Mar 2024 by Jan Koum. Sales rose after it."
    )

    assert {"Best Buy", "Jan Koum"} <= found
    assert "Mar" not in found


# A sheet and a Word table as retrieval.parsing writes them.
TABLES = """[Survey] Beta survey, closed 19 September
[Survey] Columns: Customer, Score, Comment
[Survey] Customer: Holloway Logistics; Score: 6; Comment: SSO fails for multi-role users
[Survey] Customer: Dunmore Council; Score: 5; Comment: Needs exports
[Survey] Detractors (0-6): 2

Item | Owner | Due | Status
SSO fix signed off | Owen Castillo | 17 Oct 2025 | Open
Pricing page updated | Ines Okonkwo | 20 Oct 2025 | Done
Support trained | Owen Castillo | 24 Oct 2025 | Open
"""


def test_tables_give_the_names_in_their_cells_not_their_column_names():
    found = names(TABLES)
    phrases = {entity.name for entity in extract(TABLES) if entity.type == "phrase"}

    assert {"Holloway Logistics", "Dunmore Council", "Owen Castillo", "Ines Okonkwo"} <= found
    for word in ("Customer", "Score", "Comment", "Survey", "Detractors", "Owner", "Due"):
        assert word not in found
    for word in ("Status", "Open", "Done", "Item"):
        assert word not in found
    assert not any("castillo" in phrase for phrase in phrases)  # no "castillo open"
