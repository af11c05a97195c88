"""The local extractive chat model quotes the best sentences, cites them and streams."""

from __future__ import annotations

import pytest

from queries.generation import stream_answer
from queries.local_model import ExtractiveChatModel, first_date, split_sentences
from queries.prompts import I_DONT_KNOW
from retrieval.questions import key_terms
from retrieval.search import Passage

pytestmark = pytest.mark.slow


def passage(n: int, text: str) -> Passage:
    return Passage(
        chunk_id=f"c{n}",
        document_id=f"d{n}",
        title=f"doc {n}",
        filename=f"doc{n}.txt",
        page=None,
        text=text,
        score=0.5,
    )


PASSAGES = [
    passage(
        1,
        "Lisbon is the capital of Portugal. It lies on the Tagus river. "
        "Its tram 28 is famous with visitors.",
    ),
    passage(
        2,
        "The Eiffel Tower was built for the 1889 World's Fair.It was designed by the "
        "company of Gustave Eiffel. The tower is 330 metres tall.",
    ),
]


async def answer(question: str, passages=PASSAGES) -> list[str]:
    return [token async for token in stream_answer(question, passages, model=ExtractiveChatModel())]


async def test_it_quotes_the_sentence_that_answers_with_its_passage_number():
    tokens = await answer("How tall is the Eiffel Tower?")
    text = "".join(tokens)
    assert "The tower is 330 metres tall. [2]" in text
    assert not text.startswith("Lisbon")  # not just the first sentence of the first passage
    assert len(tokens) > 5  # word by word


async def test_sentences_glued_without_a_space_are_told_apart():
    text = "".join(await answer("Who designed the Eiffel Tower?"))
    assert "It was designed by the company of Gustave Eiffel. [2]" in text


async def test_passages_about_something_else_get_the_fixed_refusal():
    tokens = await answer("Which river flows through Budapest and Vienna?")
    assert "".join(tokens) == I_DONT_KNOW


def test_key_terms_are_the_names_and_numbers_of_the_question():
    assert key_terms("Who won the 1994 French Open, Henri Leconte or Jonathan Stark?") == [
        "1994",
        "french",
        "open",
        "henri",
        "leconte",
        "jonathan",
        "stark",
    ]


async def test_markdown_headings_are_not_quoted_and_list_items_stand_alone():
    notes = passage(
        1,
        "# Sea otters\n\nSea otters use rocks as tools to crack open shellfish.\n\n"
        "## Range\n- They live along the coasts of the North Pacific\n"
        "- Their fur is the densest of any animal",
    )
    text = "".join(await answer("Where do sea otters live?", [notes]))
    assert "#" not in text
    assert "They live along the coasts of the North Pacific [1]" in text


def test_lines_of_one_paragraph_are_joined_but_items_are_not():
    pdf_page = "The tower was finished\nin 1889. It is 330 metres\ntall.\n1. First item\n2) Second"
    assert split_sentences(pdf_page) == [
        "The tower was finished in 1889.",
        "It is 330 metres tall.",
        "First item",
        "Second",
    ]


async def test_reference_numbers_of_the_document_are_not_quoted_as_citations():
    article = passage(
        1,
        "The peregrine falcon is the fastest bird in the world.[3] It nests on "
        "cliffs.[4][5] Its diet is mostly birds.[citation needed]",
    )
    other = passage(2, "Lisbon is the capital of Portugal.")
    text = "".join(await answer("What is the fastest bird in the world?", [article, other]))
    assert "The peregrine falcon is the fastest bird in the world. [1]" in text
    assert "[3]" not in text and "[2]" not in text and "citation" not in text


def test_headers_and_column_lists_are_searched_but_never_quoted():
    from queries.prompts import ANSWER, format_passages
    from retrieval import parsing
    from retrieval.tests import samples

    def passage(text: str, name: str) -> Passage:
        return Passage(
            chunk_id=name, document_id=name, title=name, filename=name, page=None,
            text=text, score=0.5,
        )  # fmt: skip

    email = parsing.parse(samples.email(), parsing.EMAIL).segments[0].text
    sheet = parsing.parse(samples.xlsx(), parsing.XLSX).segments[0].text
    messages = ANSWER.format_messages(
        i_dont_know=I_DONT_KNOW,
        passages=format_passages([passage(email, "sso.eml"), passage(sheet, "risks.xlsx")]),
        history=[],
        question="What did Holloway report about single sign-on for users with several roles?",
    )

    answer = ExtractiveChatModel().answer(messages)

    assert "role mapping failed" in answer
    for metadata in ("From: ", "Subject: ", "Attachments: ", "Columns: "):
        assert metadata not in answer


def test_a_sheet_is_quoted_row_by_row_without_its_title():
    from queries.prompts import ANSWER, format_passages
    from retrieval import parsing
    from retrieval.tests import samples

    sheet = parsing.parse(samples.xlsx(rows=4), parsing.XLSX).segments[0].text
    messages = ANSWER.format_messages(
        i_dont_know=I_DONT_KNOW,
        passages=format_passages([Passage("c", "d", "risks.xlsx", "risks.xlsx", None, sheet, 0.5)]),
        history=[],
        question="Which risks have a high impact, and who owns the supplier risk?",
    )

    answer = ExtractiveChatModel().answer(messages)

    assert answer.startswith("[Risks] Risk: ")
    assert "Risk register" not in answer and "Columns: " not in answer
    assert answer.count("[1]") == answer.count("[Risks] Risk: ")  # each row its own quote


def ask(question: str, files: dict[str, str]) -> str:
    """The local model's answer to `question` over passages of the named files, in order."""
    from queries.prompts import ANSWER, format_passages

    passages = [
        Passage(f"c{n}", f"d{n}", name, name, None, text, 0.5)
        for n, (name, text) in enumerate(files.items(), start=1)
    ]
    messages = ANSWER.format_messages(
        i_dont_know=I_DONT_KNOW, passages=format_passages(passages), history=[], question=question
    )
    return ExtractiveChatModel().answer(messages)


MANUAL = (
    "Contents\n"
    "3.1 Invoking the parser . . . . . . . . 2\n"
    "3.2 Parser options .............. 4\n\n"
    "INVOKING THE PARSER\n"
    "The parser is invoked with the input file as its only argument.\n"
    "Options\n"
    "The --strict option makes the parser stop at the first error it finds.\n"
    "The default weight value is"
)


def test_contents_lines_titles_and_cut_sentences_are_never_quoted():
    answer = ask(
        "How is the parser invoked, and what does the strict option do?", {"m.pdf": MANUAL}
    )

    assert "The parser is invoked with the input file as its only argument. [1]" in answer
    assert "The --strict option makes the parser stop at the first error it finds. [1]" in answer
    for never in (". . .", "....", "INVOKING", "Options", "Contents", "The default weight"):
        assert never not in answer


def test_a_passage_cut_mid_sentence_is_not_quoted_from_its_cut_end():
    cut = "the lamp was lit at dusk. The keeper wrote the weather in the log every night."
    answer = ask("What did the keeper write in the log?", {"log.txt": cut})
    assert answer == "The keeper wrote the weather in the log every night. [1]"


def test_it_quotes_one_document_and_at_most_one_short_sentence_of_another():
    files = {
        "status.txt": (
            "The launch moves from 15 October to 29 October. The reason is a sign-on bug that "
            "blocks enterprise customers. The fix needs two more weeks of testing."
        ),
        "brief.txt": "The launch was planned for 15 October. The launch needs a press release.",
        "notes.txt": "The launch party is at the old mill. The launch video is in production.",
    }

    answer = ask("When is the launch, and why did it move?", files)

    assert answer.startswith("The launch moves from 15 October to 29 October. [1]")
    assert answer.count("[2]") + answer.count("[3]") <= 1


def test_an_answer_opens_with_the_sentence_of_the_kind_asked_for_then_keeps_reading_order():
    brief = (
        "The planner app is used by 410 customers. The new version launches on 15 October. "
        "The launch has a budget of £120,000 for video, media and events."
    )

    answer = ask("What is the total budget for the launch?", {"brief.txt": brief})

    assert answer.startswith("The launch has a budget of £120,000")  # an amount, as asked
    assert answer.index("410 customers") < answer.index("launches on 15 October")


def test_an_opening_sentence_that_leans_on_the_one_before_keeps_its_place():
    text = "The Akashi Kaikyo bridge links Kobe to Awaji Island. It cost $3.6 billion to build."

    answer = ask("How much did the bridge cost?", {"bridge.txt": text})

    # The best sentence, but "It" needs the sentence before it.
    assert answer == f"{text.replace('Island. ', 'Island. [1] ')} [1]"


def test_a_question_about_several_documents_quotes_each():
    files = {
        "v1.txt": "The first version of the press release gives the launch date as 15 October.",
        "v2.txt": "The second version of the press release gives the launch date as 29 October.",
    }

    answer = ask("Compare the launch date in both versions of the press release.", files)

    assert "[1]" in answer and "[2]" in answer


def test_a_question_that_names_a_file_is_answered_from_that_file():
    files = {
        "kickoff_notes.txt": "Open items were reviewed at the kickoff. Tom owns the budget.",
        "launch_checklist.txt": (
            "Open: pricing page updated, owned by Ines, due 20 October. "
            "Open: sign-on fix signed off, owned by Owen, due 17 October."
        ),
    }

    answer = ask("Which checklist items are still open, and who owns them?", files)

    assert "owned by Ines" in answer and "owned by Owen" in answer
    assert answer.count("[1]") <= 1


def test_table_cells_one_per_line_are_not_quoted_as_a_sentence():
    quote = (
        "Item\nDescription\nPrice\n1\nConcept and script\n3,500\n2\nProduction\n14,000\n\n"
        "The quote is valid for 30 days from its date."
    )
    answer = ask("How long is the quote valid?", {"quote.pdf": quote})
    assert answer == "The quote is valid for 30 days from its date. [1]"


def test_a_whiteboard_in_capitals_is_quoted_whole_line_by_line():
    """Its lines read little like the question and, in capitals, like titles; but
    they are what the board says (in a document with sentences, such a line is a
    title and is not quoted: the test above)."""
    files = {
        "whiteboard.jpg": (
            "GO / NO-GO 22 OCT\n\nLAUNCH 29 OCT 2025\n\nSSO FIX: OC — PRICING PAGE: IO\n"
            "VIDEO DONE — PR V2 DONE"
        ),
        "notes.txt": "Next review: none planned; changes go through the weekly status.",
    }
    answer = ask("What does the go / no-go whiteboard say?", files)
    assert answer.startswith(
        "GO / NO-GO 22 OCT [1] LAUNCH 29 OCT 2025 [1] SSO FIX: OC — PRICING PAGE: IO [1] "
        "VIDEO DONE — PR V2 DONE [1]"
    )


def test_a_sentence_cut_where_its_passage_ends_is_completed_from_the_next_one():
    manual = (
        "Entries are weighed when they are created. The default weight value that the "
        "importer gives to each new entry is"
    )
    following = (  # the next chunk: it begins inside the same sentence (chunks overlap)
        "that the importer gives to each new entry is 10, and 20 for pinned ones. "
        "Weights above 100 are refused."
    )
    question = "What default weight value does the importer give to a new entry?"
    alone = ask(question, {"manual.pdf": manual})
    assert "entry is [" not in alone  # cut, and nothing goes on from it

    from queries.prompts import ANSWER, format_passages

    passages = [
        Passage("c1", "d1", "manual", "manual.pdf", 3, manual, 0.6),
        Passage("c2", "d1", "manual", "manual.pdf", 4, following, 0.5),
    ]
    messages = ANSWER.format_messages(
        i_dont_know=I_DONT_KNOW, passages=format_passages(passages), history=[],
        question=question,
    )  # fmt: skip
    answer = ExtractiveChatModel().answer(messages)

    whole = "The default weight value that the importer gives to each new entry is 10, and 20"
    assert f"{whole} for pinned ones. [1]" in answer


def test_each_ask_of_a_question_is_answered_even_from_another_file():
    files = {
        "checklist.txt": (
            "Launch date: Wednesday 29 October (moved from 15 October on 18 September). "
            "Go / no-go meeting on 22 October, chaired by Nadia."
        ),
        "status.txt": (
            "The launch moves from 15 October to 29 October. Decided on Thursday with "
            "Owen, Ines and Tom. Reason: a sign-on bug reported by a customer blocks "
            "enterprise accounts and the fix needs two more weeks of testing."
        ),
    }

    answer = ask("When is the launch, and why did the date change?", files)

    assert "29 October" in answer
    # The reason, which shares no word with the question, follows what it explains.
    assert "Reason: a sign-on bug reported by a customer blocks" in answer
    assert answer.count("Reason:") == 1


def test_a_field_line_a_greeting_and_a_question_are_not_quoted_as_answers():
    guide = (
        "Version: 2025.2 — 21 July 2025\n"
        "Welcome to Pixelforge. This guide explains how a video project runs.\n"
        "How does a video project run when its scope changes?"
    )
    sentences = split_sentences(guide)
    assert sentences[0] == "Version: 2025.2 — 21 July 2025"  # not glued to the next line

    answer = ask("How does a Pixelforge video project run?", {"guide.pdf": guide})

    assert answer == "This guide explains how a video project runs. [1]"


def test_a_short_field_line_under_a_title_is_a_fact_not_a_section_title():
    invoice = (
        "NORTHWIND PRINTING — INVOICE\n"
        "Invoice number: NW-0042\n"
        "Customer: Example Traders Ltd, 1 High Street, Leeds\n"
        "Payment is due within 14 days of the invoice date.\n"
    )

    assert "Invoice number: NW-0042" in split_sentences(invoice)
    assert "NW-0042" in ask("What is the Northwind invoice number?", {"invoice.pdf": invoice})


def test_a_passage_is_evidence_for_the_names_its_file_carries():
    # A later passage of an email does not repeat whom it is from; its file's name does.
    files = {"14_holloway_sso_report.eml": "This affects 14 of our 60 users, all planners."}

    answer = ask("How many users at Holloway are affected?", files)

    assert answer == "This affects 14 of our 60 users, all planners. [1]"


NOTES = (
    "Design review notes\n\n"
    "Decisions\n"
    "1. New dashboard approved with changes.\n\n"
    "2. Saved views get a rename action. Marta updates the designs by 19 August.\n\n"
    "3. Dark mode raised again by a customer. Parked for the next release.\n\n"
    "Open questions\n"
    "- Where the export button goes on the dashboard review screen.\n"
    "- Who reviews the dashboard design for the mobile app.\n"
    "- Whether the design review of the dashboard needs a second session.\n\n"
    "Next review of the dashboard design: none planned before the launch.\n"
)


def test_a_short_list_item_of_the_section_asked_about_is_quoted_whole():
    answer = ask("What was decided at the dashboard design review?", {"notes.pdf": NOTES})

    assert "Dark mode raised again by a customer. Parked for the next release. [1]" in answer
    assert "Parked for the next release." in split_sentences(NOTES)  # elsewhere: sentences


def test_the_items_of_the_section_the_question_is_about_come_first():
    answer = ask("What was decided at the dashboard design review?", {"notes.pdf": NOTES})

    # The open questions and the last line share more words with the question.
    for decision in ("New dashboard approved", "Saved views get", "Dark mode raised"):
        assert decision in answer


def test_a_timeline_is_told_in_date_order_across_files():
    files = {
        "status.txt": (
            "The launch moved to 29 October on 18 September. "
            "The sign-on bug was reported on 12 September."
        ),
        "notes.txt": "Kickoff on Tuesday 8 July 2025. The design review is on 14 August.",
    }

    answer = ask("Give me a dated timeline of the project.", files)

    order = ["Kickoff on", "design review", "sign-on bug", "launch moved"]
    positions = [answer.index(event) for event in order]
    assert positions == sorted(positions), answer
    assert answer.startswith("- Kickoff on Tuesday 8 July 2025. [2]\n- ")  # a list


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("Kickoff on Tuesday 8 July 2025.", (2025, 7, 8)),
        ("Go / no-go | 22 Oct", (2024, 10, 22)),  # the year of its passage
        ("Due: 2026-01-30", (2026, 1, 30)),
        ("Signed on Aug 14th, 2025 by both", (2025, 8, 14)),
        ("May I ask a question?", None),
    ],
)
def test_the_first_date_a_sentence_gives(text, when):
    assert first_date(text, 2024) == when


def test_a_close_sentence_of_another_file_is_quoted_beside_the_best():
    files = {
        "kickoff_notes.txt": "Go / no-go meeting on 8 October. Tom keeps the budget tracker.",
        "checklist.txt": "Go / no-go decision recorded: scheduled for 22 October, by Nadia.",
    }

    answer = ask("What did the go / no-go meeting decide?", files)

    assert "Go / no-go meeting on 8 October. [1]" in answer
    assert "scheduled for 22 October, by Nadia. [2]" in answer  # the later word


def test_no_lesser_sentence_of_another_file_stands_in_for_its_best():
    files = {
        "risks.xlsx": (
            "[Risks] Risk register\n"
            "[Risks] Columns: Risk, Likelihood, Impact, Owner, Mitigation\n"
            "[Risks] Risk: SSO multi-role bug not fixed before go / no-go; Likelihood: Medium; "
            "Impact: High; Owner: Owen Castillo; Mitigation: Fix in testing; fallback is to "
            "launch without SSO for multi-role tenants\n"
            "[Risks] Risk: Beta NPS below 40; Likelihood: Low; Impact: Medium; "
            "Owner: Nadia Rahimi; Mitigation: Survey at 41"
        ),
        "holloway_report.eml": (
            "We have hit a problem in the beta at Holloway. Users with more than one role "
            "cannot sign in through SSO. This affects 14 of our 60 users. Users with a single "
            "role sign in fine."
        ),
    }

    answer = ask("How many Holloway users are affected by the SSO bug?", files)

    assert "This affects 14 of our 60 users. [2]" in answer
    # The register's SSO row is too long to add to the email's answer; its NPS row,
    # short but about something else, is not quoted in its place.
    assert "NPS" not in answer


def test_a_sheets_last_row_is_quoted_though_it_ends_in_a_word():
    sheet = (
        "Event budget (as at 3 March)\n"
        "Columns: Line, Planned GBP, Actual GBP, Note\n"
        "Line: Catering; Planned GBP: 5000; Actual GBP: 4200; Note: Deposit paid\n"
        "Line: Venue; Planned GBP: 8000; Actual GBP: 8000; Note: 12 May\n"
        "Line: Total; Planned GBP: 13000; Actual GBP: 12200; Note: spent to date"
    )

    answer = ask("How much of the event budget has been spent in total?", {"budget.csv": sheet})

    # A passage's last line ending on an open word is a cut sentence, unless it is a row.
    assert "Line: Total; Planned GBP: 13000; Actual GBP: 12200; Note: spent to date [1]" in answer


def test_a_copy_of_the_answers_sentence_in_another_file_leaves_its_place_to_the_later_word():
    files = {
        "kickoff_notes.txt": "Go / no-go meeting on 8 October. Tom keeps the budget tracker.",
        "checklist.txt": (
            "Go / no-go meeting on 8 October. "
            "Go / no-go decision recorded: scheduled for 22 October, by Nadia."
        ),
    }

    answer = ask("What did the go / no-go meeting decide?", files)

    assert "Go / no-go meeting on 8 October." in answer
    assert "scheduled for 22 October, by Nadia. [2]" in answer


SUMMARISED = {
    "brief.docx": (
        "The launch brief sets out the goals of the Kite Planner 3.0 launch. "
        "The launch aims at enterprise customers with single sign-on and scheduled exports. "
        "Printed on recycled paper."
    ),
    "quote.pdf": (
        "Pixelforge quotes £24,500 for a 90-second launch video. "
        "The video price includes two concepts and two rounds of revisions. "
        "Quote valid for 30 days."
    ),
    "notes.txt": "Kickoff notes. Nadia walked the team through the launch plan on 8 July.",
}


@pytest.mark.parametrize(
    "question",
    [
        "Give me a one-line summary of every document in the project.",
        "What is in each of the files?",
        "An overview of all the documents, please.",
    ],
)
def test_a_summary_of_every_document_is_one_line_a_file(question):
    answer = ask(question, SUMMARISED)

    lines = answer.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"- {name}" for name in SUMMARISED]
    for n, (line, text) in enumerate(zip(lines, SUMMARISED.values(), strict=True), start=1):
        quoted = line.split(": ", 1)[1].removesuffix(f" [{n}]")
        assert line.endswith(f" [{n}]") and quoted in text
    # The line that says what its file is about, not an aside.
    assert "recycled" not in answer and "valid for 30 days" not in answer


QUOTE_AND_DEAL = [
    passage(
        1,
        "Quotation for the launch video. Production: two-day shoot and motion graphics, "
        "£14,000. Total (excluding VAT): £24,500. Delivery six weeks from approval.",
    ),
    passage(
        2,
        "Hi Faye,\n\nAgreed at £21,000 on that basis: one concept and no vertical version. "
        "Tom will pay the deposit on receipt of your invoice.",
    ),
    passage(3, "Line: Launch video; Planned GBP: 25,000; Actual GBP: 21,000; Note: negotiated"),
]


async def test_a_figure_the_documents_do_not_give_is_said_to_be_missing():
    """A wrong premise is corrected, not answered as asked: the figures the
    documents do give come with the answer, from each file that gives one."""
    text = "".join(await answer("Why did the studio charge £30,000 for the video?", QUOTE_AND_DEAL))

    assert text.startswith("The documents found do not mention £30,000. ")
    assert "£24,500" in text and "£21,000" in text and "Planned GBP: 25,000" in text


@pytest.mark.parametrize("asked", ["£24,500", "£24.5k", "24,500 pounds"])
async def test_a_figure_the_documents_give_however_written_is_not_questioned(asked):
    text = "".join(await answer(f"Why did the studio quote {asked} for the video?", QUOTE_AND_DEAL))

    assert "do not mention" not in text
    assert "£24,500" in text


async def test_the_figures_given_instead_are_of_the_kind_asked_about():
    """Asked about an amount, the files' other figures (a guide's version, a date)
    are no answer to it."""
    passages = [
        passage(1, "Pixelforge quotation for the launch video. Total (excluding VAT): £24,500."),
        passage(
            2,
            "PIXELFORGE STUDIO - CLIENT ONBOARDING GUIDE\nVersion: 2025.2 - 21 July 2025\n"
            "Welcome to Pixelforge. This guide explains how a video project runs.",
        ),
    ]

    text = "".join(await answer("Why did Pixelforge charge £30,000 for the video?", passages))

    assert text.startswith("The documents found do not mention £30,000. ")
    assert "£24,500" in text and "2025.2" not in text


BUDGET = passage(
    1,
    "Budget tracker (as at 1 March)\n"
    "Columns: Line, Planned EUR, Actual EUR, Variance EUR\n"
    "Line: Venue; Planned EUR: 12,000; Actual EUR: 12,400; Variance EUR: 400\n"
    "Line: Catering; Planned EUR: 8000; Actual EUR: 2500; Variance EUR: -5500\n"
    "Line: Travel; Planned EUR: 6000; Actual EUR: 5100; Variance EUR: -900\n"
    "Line: Printing; Planned EUR: 1500; Actual EUR: 1500; Variance EUR: 0\n"
    "Line: Total; Planned EUR: 27,500; Actual EUR: 21,500; Variance EUR: -6000",
)
RATINGS = passage(
    2,
    "[Feedback] Columns: Attendee, Rating, Comment\n"
    "[Feedback] Attendee: Brightwater Ltd; Rating: 9\n"
    "[Feedback] Attendee: Osprey Foods; Rating: 4; Comment: Too long; no breaks\n"
    "[Feedback] Attendee: Kestrel Bank; Rating: 7; Comment: Good venue\n"
    "[Feedback] Attendee: Alder Homes; Rating: 9; Comment: Great talks",
)
RISKS = passage(
    3,
    "[Risks] Columns: Risk, Impact, Owner\n"
    "[Risks] Risk: Speaker cancels; Impact: Medium; Owner: Lena\n"
    "[Risks] Risk: Venue floods; Impact: High; Owner: Marc\n"
    "[Risks] Risk: Printing late; Impact: Low; Owner: Lena",
)


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("Which budget line is furthest below plan?", "Line: Catering;"),
        ("Which line went most over budget?", "Line: Venue;"),
        ("Which attendee gave the lowest rating?", "[Feedback] Attendee: Osprey Foods;"),
        ("Which risk has the highest impact?", "[Risks] Risk: Venue floods;"),
    ],
)
async def test_a_superlative_question_is_answered_with_the_row_at_that_end(question, first):
    """No sentence of a table says which row is largest: the rows are compared on the
    column asked about (a variance for "below plan", levels as their order), a total
    row left out."""
    text = "".join(await answer(question, [BUDGET, RATINGS, RISKS]))

    assert text.startswith(first), text


async def test_rows_tied_at_the_top_are_the_answer_and_the_others_are_not():
    text = "".join(await answer("Which attendee gave the highest rating?", [RATINGS]))

    assert text == (
        "[Feedback] Attendee: Brightwater Ltd; Rating: 9 [1] "
        "[Feedback] Attendee: Alder Homes; Rating: 9; Comment: Great talks [1]"
    )


async def test_a_meetings_when_where_and_who_are_quoted_together():
    """An invitation's facts are one record: its date was left out for an older note's
    date of the same meeting, and a form's empty fields are no answer."""
    from retrieval import parsing
    from retrieval.tests import samples

    invitation = parsing.parse(samples.INVITATION.encode(), parsing.CALENDAR).segments[0].text
    notes = "Go / no-go meeting on 8 October."
    question = "When and where is the go / no-go meeting, and who organises it?"

    text = "".join(await answer(question, [passage(1, invitation), passage(2, notes)]))

    assert text.startswith(
        "Meeting: Go / no-go for Kite 3.0; When: Wednesday 22 October 2025, 14:00 to 15:00 BST; "
        "Where: Room 4 and Teams; Organiser: Nadia Rahimi;"
    )


async def test_a_forms_empty_fields_are_not_quoted():
    from retrieval import parsing
    from retrieval.tests import samples

    form = parsing.parse(samples.filled_pdf_form(), parsing.PDF).segments[0].text
    question = "Who requested change CR-7, and what budget was approved?"

    text = "".join(await answer(question, [passage(1, form)]))

    assert "Requested by: Ines Okonkwo [1]" in text and "Approved budget: GBP 21,000" in text
    assert "Needs legal review" not in text and "Notes:" not in text
