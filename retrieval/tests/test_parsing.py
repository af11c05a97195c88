"""Recognising files by content and reading their text."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from retrieval import parsing
from retrieval.errors import IngestionError, UnsupportedType, UploadError
from retrieval.tests import samples

DOSSIER = Path(__file__).resolve().parents[2] / "queries" / "tests" / "data" / "dossier_kite_launch"


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (samples.pdf(), "report.bin", parsing.PDF),
        (samples.docx(), "notes", parsing.DOCX),
        (samples.MARKDOWN.encode(), "readme.md", parsing.MARKDOWN),
        (samples.MARKDOWN.encode(), "readme.txt", parsing.TEXT),
        ("Grüße aus Köln – ünïcödé".encode("latin-1", "replace"), "old.txt", parsing.TEXT),
    ],
)
def test_it_judges_the_type_by_content(data: bytes, name: str, expected: str):
    assert parsing.sniff_content_type(data[:8192], name) == expected


def test_it_refuses_a_binary_file_named_like_text():
    program = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256))
    with pytest.raises(UnsupportedType) as refused:
        parsing.sniff_content_type(program, "notes.txt")
    assert "not supported" in refused.value.message
    # It names what can be uploaded instead, every kind that is read.
    for kind in (".docx", ".xlsx", ".xls", ".pptx", ".eml", ".msg", ".html", "PDF", "JPEG", "CSV"):
        assert kind in refused.value.message


def test_it_refuses_an_empty_file():
    with pytest.raises(UploadError, match="empty"):
        parsing.sniff_content_type(b"", "empty.txt")


def test_pdf_text_keeps_its_page_numbers():
    parsed = parsing.parse(samples.pdf(), parsing.PDF)
    assert parsed.pages == 3
    assert [s.page for s in parsed.segments] == [1, 2, 3]
    assert "Margaret Hamilton" in parsed.segments[1].text


def test_pdf_pages_keep_the_labels_printed_on_them():
    book = samples.pdf([*samples.PAGES, "Body one.", "Body two.", "Appendix one."])

    parsed = parsing.parse(samples.labelled_pdf(book, roman=3, appendix=1), parsing.PDF)

    assert [s.page for s in parsed.segments] == [1, 2, 3, 4, 5, 6]
    assert [s.page_label for s in parsed.segments] == ["i", "ii", "iii", "1", "2", "A-1"]


def test_pdf_pages_whose_label_is_their_number_have_none():
    labelled = samples.labelled_pdf(samples.pdf(), roman=1)  # i, then 1, 2 on pages 2 and 3

    assert [s.page_label for s in parsing.parse(samples.pdf(), parsing.PDF).segments] == [None] * 3
    assert [s.page_label for s in parsing.parse(labelled, parsing.PDF).segments] == ["i", "1", "2"]
    numbered = samples.labelled_pdf(samples.pdf(), roman=0)  # labels 1, 2, 3: the numbers
    assert [s.page_label for s in parsing.parse(numbered, parsing.PDF).segments] == [None] * 3


def test_page_labels_that_cannot_be_read_cost_the_labels_not_the_document(monkeypatch):
    import pypdf

    def unreadable(reader):
        raise pypdf.errors.PdfReadError("broken number tree")

    monkeypatch.setattr(pypdf.PdfReader, "page_labels", property(unreadable))

    parsed = parsing.parse(samples.labelled_pdf(), parsing.PDF)

    assert [(s.page, s.page_label) for s in parsed.segments] == [(1, None), (2, None), (3, None)]


def test_a_password_protected_pdf_says_so():
    with pytest.raises(IngestionError, match="password"):
        parsing.parse(samples.encrypted_pdf(), parsing.PDF)


def test_a_damaged_pdf_says_so():
    with pytest.raises(IngestionError, match="damaged"):
        parsing.parse(samples.corrupt_pdf(), parsing.PDF)


def test_a_pdf_of_blank_pages_says_so():
    with pytest.raises(IngestionError, match="only blank pages"):
        parsing.parse(samples.blank_pdf(), parsing.PDF)


def test_the_scanned_pages_of_a_pdf_are_left_for_ocr_and_its_text_pages_read():
    parsed = parsing.parse(samples.scanned_pdf(scans=[samples.SCANNED] * 2), parsing.PDF)

    assert parsed.pages == 3
    assert [s.page for s in parsed.segments] == [1]
    assert not parsed.segments[0].ocr
    assert parsed.scanned == (2, 3)


@pytest.mark.parametrize(
    ("format", "expected"),
    [("PNG", parsing.PNG), ("JPEG", parsing.JPEG), ("WEBP", parsing.WEBP), ("TIFF", parsing.TIFF)],
)
def test_a_picture_is_known_by_its_signature_and_left_for_ocr(format, expected):
    data = samples.picture(format=format)

    assert parsing.sniff_content_type(data[:8192], "IMG_0042") == expected
    assert parsing.parse(data, expected) == parsing.ParsedDocument([], None, scanned=(1,))


def test_each_frame_of_a_multi_page_tiff_is_a_page():
    parsed = parsing.parse(samples.picture(format="TIFF", frames=3), parsing.TIFF)
    assert (parsed.pages, parsed.scanned) == (3, (1, 2, 3))


def test_a_damaged_picture_says_so():
    data = samples.picture(format="PNG")
    with pytest.raises(IngestionError, match="picture is damaged") as failed:
        parsing.parse(data[: len(data) // 2], parsing.PNG)
    assert failed.value.code == "corrupt_file"


def test_a_picture_of_too_many_pixels_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr(parsing.pictures, "MAX_IMAGE_PIXELS", 100_000)
    with pytest.raises(IngestionError, match="too many to read") as refused:
        parsing.parse(samples.picture(), parsing.PNG)
    assert refused.value.code == "too_large"


def test_docx_text_includes_headings_and_tables_in_order():
    parsed = parsing.parse(samples.docx(), parsing.DOCX)
    text = parsed.segments[0].text
    assert text.startswith("# Apollo notes")
    assert "Apollo 11 | Neil Armstrong" in text
    assert text.index("Saturn V") < text.index("Apollo 13 | Jim Lovell")


def test_a_docx_zip_bomb_is_refused_before_reading():
    with pytest.raises(UploadError) as refused:
        parsing.check_office(io.BytesIO(samples.zip_bomb_docx()))
    assert refused.value.code == "zip_bomb"


def test_a_docx_that_is_not_a_zip_is_refused():
    with pytest.raises(UploadError, match="not a valid zip"):
        parsing.check_office(io.BytesIO(samples.fake_docx()))


def test_text_in_a_legacy_encoding_is_decoded():
    data = "Crème brûlée is a French dessert served in Paris cafés.".encode("cp1252")
    parsed = parsing.parse(data, parsing.TEXT)
    assert "Crème brûlée" in parsed.segments[0].text


def test_text_that_mentions_the_pdf_signature_stays_text():
    notes = b"# Notes on file formats\n\nA PDF starts with the bytes %PDF-1.7 and a newline.\n"
    assert parsing.sniff_content_type(notes, "formats.md") == parsing.MARKDOWN


def test_a_pdf_after_binary_junk_is_still_a_pdf():
    assert parsing.sniff_content_type(b"\x89\x00\xff\x13junk" + samples.pdf(), "scan.pdf") == (
        parsing.PDF
    )


def test_an_excel_workbook_is_known_by_its_parts_not_its_name():
    data = samples.xlsx()

    assert parsing.sniff_content_type(data[:8192], "report.docx") == parsing.DOCX  # a zip
    assert parsing.check_office(io.BytesIO(data)) == parsing.XLSX
    with pytest.raises(UnsupportedType, match="not a Word document, an Excel workbook or a"):
        parsing.check_office(io.BytesIO(samples.zip_of({"notes.txt": b"hello"})))


def test_each_sheet_row_names_its_sheet_and_columns():
    parsed = parsing.parse(samples.xlsx(), parsing.XLSX)

    risks, scores = (segment.text.splitlines() for segment in parsed.segments)
    assert risks[:3] == [
        "[Risks] Risk register",
        "[Risks] Columns: Risk, Impact, Owner, Review",
        "[Risks] Risk: Supplier late; Impact: High; Owner: Ada; Review: 2025-10-06",
    ]
    assert risks[3] == "[Risks] Risk: Budget overrun; Impact: Medium; Owner: Ada"  # no empty cell
    assert scores == [
        "[Scores] Columns: Customer, Score",
        "[Scores] Customer: Holloway Logistics; Score: 6",
        "[Scores] Customer: Apollo Freight; Score: 9",
    ]


def test_a_long_sheet_is_capped_with_a_note(monkeypatch):
    monkeypatch.setattr(parsing.sheets, "MAX_SHEET_ROWS", 2)

    risks = parsing.parse(samples.xlsx(rows=5), parsing.XLSX).segments[0].text.splitlines()

    assert len([line for line in risks if line.startswith("[Risks] Risk: ")]) == 2
    assert risks[-1] == "[Risks] (only the first 2 rows were read; 3 more follow)"


def test_a_damaged_workbook_fails_with_its_reason():
    broken = samples.zip_of({"xl/workbook.xml": b"<not xml", "[Content_Types].xml": b"<x/>"})

    with pytest.raises(IngestionError, match="Excel workbook is damaged"):
        parsing.parse(broken, parsing.XLSX)


CSV_TRACKER = (
    "Budget tracker (as at 10 October 2025)\r\n"
    "Line,Planned GBP,Actual GBP,Note\r\n"
    'Launch video,25000,21000,"Negotiated from £24,500"\r\n'
    "Contingency,10000,0,\r\n"
)


def test_a_csv_file_is_read_as_a_table_whose_rows_name_their_columns():
    data = CSV_TRACKER.encode()

    assert parsing.sniff_content_type(data, "budget.csv") == parsing.CSV
    assert parsing.sniff_content_type(data, "budget.txt") == parsing.TEXT
    assert parsing.parse(data, parsing.CSV).segments[0].text.splitlines() == [
        "Budget tracker (as at 10 October 2025)",
        "Columns: Line, Planned GBP, Actual GBP, Note",
        "Line: Launch video; Planned GBP: 25000; Actual GBP: 21000; Note: Negotiated from £24,500",
        "Line: Contingency; Planned GBP: 10000; Actual GBP: 0",
    ]


def test_a_csv_file_with_semicolons_is_read_too():
    data = "Name;Score\nHolloway;6\nMarlow;9\n".encode("cp1252")

    lines = parsing.parse(data, parsing.CSV).segments[0].text.splitlines()

    assert lines[1:] == ["Name: Holloway; Score: 6", "Name: Marlow; Score: 9"]


def test_a_tab_separated_file_is_read_as_a_table_too():
    data = b"Name\tScore\tComment\nHolloway\t6\tSSO fails, otherwise strong\nMarlow\t9\t\n"

    assert parsing.sniff_content_type(data, "survey.tsv") == parsing.CSV
    lines = parsing.parse(data, parsing.CSV).segments[0].text.splitlines()

    assert lines[1:] == [
        "Name: Holloway; Score: 6; Comment: SSO fails, otherwise strong",
        "Name: Marlow; Score: 9",
    ]


def test_figures_below_a_table_past_a_blank_row_are_labels_with_their_values():
    data = b"Customer,Score,Comment\nHolloway,6,SSO fails\nMarlow,9,\n,,\nResponses,2,\nNPS,0,\n"

    lines = parsing.parse(data, parsing.CSV).segments[0].text.splitlines()

    assert lines[1:] == [
        "Customer: Holloway; Score: 6; Comment: SSO fails",
        "Customer: Marlow; Score: 9",
        "Responses: 2",  # not "Customer: Responses"
        "NPS: 0",
    ]


def test_a_second_table_on_a_sheet_has_its_own_columns():
    """Past a blank row and a title, the next table's header: its rows were read with
    the first table's columns ("Feature: SSO bug; Owner: Medium")."""
    data = (
        b"Feature,Owner,Status\nSaved views,Owen,Done\n,,\nRisk register,,\n"
        b"Risk,Likelihood,Impact,Owner\nSSO bug,Medium,High,Owen\n,,\nNPS,41,\n"
    )

    lines = parsing.parse(data, parsing.CSV).segments[0].text.splitlines()

    assert lines == [
        "Columns: Feature, Owner, Status",
        "Feature: Saved views; Owner: Owen; Status: Done",
        "Risk register",
        "Columns: Risk, Likelihood, Impact, Owner",
        "Risk: SSO bug; Likelihood: Medium; Impact: High; Owner: Owen",
        "NPS: 41",
    ]


def test_a_two_column_table_keeps_its_columns_past_a_blank_row():
    data = b"Name,Score\nHolloway,6\n,\nMarlow,9\n"

    lines = parsing.parse(data, parsing.CSV).segments[0].text.splitlines()

    assert lines[1:] == ["Name: Holloway; Score: 6", "Name: Marlow; Score: 9"]


def test_an_outlook_message_is_known_by_its_content_and_read_as_its_email():
    data = samples.outlook_message(files={"notes.txt": ("text/plain", b"Retest on 7 October.")})

    assert parsing.sniff_content_type(data[:8192], "report.bin") == parsing.OLE
    assert parsing.check_ole(io.BytesIO(data)) == parsing.MSG
    text = parsing.parse(data, parsing.MSG).segments[0].text

    assert text.startswith("From: Kwame Mensah <k.mensah@holloway.example>")
    assert "Subject: Kite 3.0 beta — single sign-on failing for multi-role users" in text
    assert "Date: Fri, 12 Sep 2025" in text
    assert "they get “role mapping failed”." in text
    assert "Attachments: logo.png (image/png), notes.txt (text/plain)" in text
    assert ("notes.txt", b"Retest on 7 October.") in parsing.email_attachments(data)


def test_a_damaged_outlook_message_fails_with_its_reason():
    data = samples.outlook_message()
    with pytest.raises(IngestionError, match=r"Outlook message \(.msg\) is damaged"):
        parsing.parse(data[:4096] + bytes(4096), parsing.MSG)


@pytest.mark.parametrize("name", ["report.eml", "attachment-without-extension", "mail.txt"])
def test_an_email_is_known_by_its_headers_whatever_its_name(name):
    assert parsing.sniff_content_type(samples.email()[:8192], name) == parsing.EMAIL
    assert parsing.sniff_content_type(b"Note: From the kickoff\n\nText.", name) != parsing.EMAIL


@pytest.mark.parametrize("html_only", [False, True], ids=["plain", "html"])
def test_an_email_keeps_its_headers_with_its_decoded_text_and_names_its_attachments(html_only):
    text = parsing.parse(samples.email(html_only), parsing.EMAIL).segments[0].text

    assert text.splitlines()[:4] == [
        "From: Kwame Mensah <k.mensah@holloway.example>",
        "To: Nadia Rahimi <nadia@larkspur.example>",
        "Date: Fri, 12 Sep 2025 14:10:22 +0100",
        "Subject: Kite 3.0 beta — single sign-on failing for multi-role users",
    ]
    body = " ".join(text.split())
    assert "Users who have more than one role (for example planner and approver) cannot" in body
    assert "“role mapping failed”" in body and "This affects 14 of our 60 users." in body
    assert "=\n" not in text and "<p>" not in text and "color: red" not in text
    assert text.endswith("Attachments: logo.png (image/png)")


@pytest.mark.parametrize("style", ["quoted", "outlook"])
def test_a_reply_keeps_its_own_text_apart_from_the_messages_it_quotes(style):
    """Apart, the reply's passages hold what it says, and the quoted history is
    marked as quoted whatever the mail program (retrieval.search ranks it lower)."""
    own, history = parsing.parse(samples.reply(style).encode(), parsing.EMAIL).segments

    assert own.text.startswith("From: Ines Okonkwo <ines@larkspur.example>")
    assert samples.ACCEPTANCE in own.text
    assert "single concept" not in own.text and "Faye Delacroix" not in own.text
    lines = [line for line in history.text.splitlines() if line.strip()]
    assert lines and all(line.startswith(">") for line in lines)
    assert samples.OFFER in " ".join(line.lstrip("> ") for line in lines)


def test_an_html_reply_keeps_its_own_text_apart_from_the_message_it_quotes():
    """Gmail's HTML reply: the quoted message is a blockquote under "On ... wrote:"."""
    html = (
        f"<div dir='ltr'>{samples.ACCEPTANCE}</div><br><div class='gmail_quote'><div "
        "class='gmail_attr'>On Tue, 29 Jul 2025 at 15:44, Faye Delacroix wrote:<br></div>"
        f"<blockquote class='gmail_quote'><div>{samples.OFFER}</div><div>Faye</div>"
        "</blockquote></div>"
    )
    data = samples.email_text("Ines Okonkwo <ines@larkspur.example>", "RE: Video", html)
    data = data.replace("text/plain", "text/html")

    own, history = parsing.parse(data.encode(), parsing.EMAIL).segments

    assert own.text.endswith(samples.ACCEPTANCE)
    assert history.text.splitlines() == [
        "> On Tue, 29 Jul 2025 at 15:44, Faye Delacroix wrote:",
        f"> {samples.OFFER}",
        "> Faye",
    ]


def test_a_reply_with_a_very_long_line_is_split_without_a_stall():
    """The reply finder's patterns take time in the square of a line's length: a
    40,000-character paragraph opening with "On" cost it about 20 s; read as
    parse_email reads it, well under a second. A guard against the stall, not a
    speed target."""
    paragraph = "On Monday we met the studio and agreed the plan " * 800
    body = f"{paragraph}\n\n{samples.REPLY_HISTORY['quoted']}"
    data = samples.email_text("Ines Okonkwo <ines@larkspur.example>", "RE: Plan", body)

    started = time.perf_counter()
    own, history = parsing.parse(data.encode(), parsing.EMAIL).segments
    assert time.perf_counter() - started < 5

    assert own.text.endswith(paragraph.strip())
    assert history.text.startswith("> On Tue, 29 Jul 2025 at 15:44, Faye Delacroix wrote:")


# One record, as a sheet's row is, so that its facts are quoted together.
MEETING = [
    "Meeting: Go / no-go for Kite 3.0; When: Wednesday 22 October 2025, 14:00 to 15:00 BST; "
    "Where: Room 4 and Teams; Organiser: Nadia Rahimi; Invited: Ines Okonkwo, "
    "tom@larkspur.example",
    "Agenda:",
    "1. SSO fix sign-off",
    "2. Pricing page",
]


def test_a_calendar_file_is_read_as_its_meetings():
    data = samples.INVITATION.encode()

    assert parsing.sniff_content_type(data, "invite.ics") == parsing.CALENDAR
    (text,) = parsing.parse(data, parsing.CALENDAR).segments

    meeting, status = text.text.split("\n\n")
    assert meeting.splitlines() == MEETING
    assert (
        status == "Meeting: Weekly status (cancelled); When: Monday 6 October 2025; Repeats: weekly"
    )


def test_an_invitation_email_is_read_with_its_meeting():
    """The email's text says only who invites; when and where are in its calendar part."""
    (text,) = parsing.parse(samples.email_with_invitation(), parsing.EMAIL).segments

    body = text.text.split("\n\n", 1)[1]
    assert body.split("\n\n")[0] == "Nadia Rahimi has invited you to a meeting."
    assert body.split("\n\n")[1].splitlines() == MEETING


def test_a_damaged_calendar_file_is_refused_with_a_reason():
    with pytest.raises(IngestionError, match="calendar file is damaged"):
        parsing.parse(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:not a date", parsing.CALENDAR)


@pytest.mark.parametrize("declared", ['; charset="utf-8"', '; charset="us-ascii"', ""])
def test_an_email_in_windows_1252_under_another_charset_keeps_its_accents(declared):
    """Old mail programs wrote Windows-1252 and called it ASCII or UTF-8, or named no
    charset: "Inés" was read "In\ufffds", and no search for her name found it."""
    body = "Café launch on 29 October – confirmed by Inés.".encode("cp1252")
    data = (
        b"From: Ines <ines@larkspur.example>\r\nSubject: Launch\r\nDate: Mon, 6 Oct 2025 "
        b"10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain"
        + declared.encode()
        + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body
    )

    (text,) = parsing.parse(data, parsing.EMAIL).segments

    assert text.text.endswith("Café launch on 29 October – confirmed by Inés.")


def test_a_forwarded_message_is_the_emails_text_not_a_quote():
    (text,) = parsing.parse(samples.reply("forward").encode(), parsing.EMAIL).segments

    assert "FYI, see below." in text.text
    assert f"\n{samples.OFFER}\n" in text.text  # as written, not marked as quoted


def test_a_pdfs_running_header_is_read_once_not_on_every_page():
    """Printed on every page, it would open every passage and match every search
    for its words; kept where it first appears, with the document's first words."""
    from fpdf import FPDF

    bodies = [
        "The launch moves to 29 October because of the sign-on bug.",
        "Paid media starts on 20 October with a budget of 40,000.",
        "The go / no-go meeting is on 22 October, chaired by Nadia.",
    ]
    document = FPDF()
    document.set_font("helvetica", size=10)
    document.set_auto_page_break(False)
    for number, body in enumerate(bodies, start=1):
        document.add_page()
        document.set_xy(10, 8)
        document.cell(0, 5, "Larkspur Labs - Project Kite - Confidential")
        document.set_xy(10, 16)
        document.cell(0, 5, f"Status on day {number}")  # not the same on every page
        document.set_xy(10, 30)
        document.multi_cell(0, 5, body)

    pages = parsing.parse(bytes(document.output()), parsing.PDF).segments

    assert [page.text for page in pages] == [
        f"Larkspur Labs - Project Kite - Confidential\nStatus on day 1\n{bodies[0]}",
        f"Status on day 2\n{bodies[1]}",
        f"Status on day 3\n{bodies[2]}",
    ]
    assert [page.page for page in pages] == [1, 2, 3]


def test_a_running_headers_words_within_a_page_are_kept():
    """Only a page's edges hold its running lines: the same words quoted mid-page
    are part of what the page says."""
    from retrieval.parsing.pdf import without_running_lines
    from retrieval.parsing.segments import Segment

    header = "Kite launch plan - draft"
    bodies = [
        ["Owners are listed below.", "Nadia chairs the go / no-go.", "Page end."],
        ["Paid media starts on 20 October.", "The budget is 40,000.", "Page end two."],
        ["The title of this file is:", header, "It was agreed on 3 July.", "By all", "Done."],
    ]
    pages = [
        Segment(text="\n".join([header, *body]), page=number)
        for number, body in enumerate(bodies, start=1)
    ]

    kept = [page.text.splitlines() for page in without_running_lines(pages)]

    assert kept == [[header, *bodies[0]], bodies[1], bodies[2]]


def test_a_filled_pdf_forms_answers_are_read_after_their_labels():
    """A form's answers are fields over the page, outside its text layer: unread, a
    filled change request said "Requested by:" and nothing more. Ticked boxes and
    chosen buttons count; empty fields and unticked boxes say nothing."""
    (page,) = parsing.parse(samples.filled_pdf_form(), parsing.PDF).segments

    assert page.text.splitlines() == [
        "Change request CR-7: launch video scope",
        "Requested by: Ines Okonkwo",
        "Approved budget: GBP 21,000",
        "Start: 3 November 2025",
        "Urgent: yes",
        "Needs legal review:",
        "Notes:",
        "End: 14 November 2025",  # printed on the line of "Start:", after it
        "Decision: Approved",
    ]


def test_a_reviewers_comments_on_a_pdf_are_read_after_its_page():
    """Sticky notes, comments on highlighted text and replies lie over the page, outside
    its text: a review's decision ("moved to 29 October") was only there."""
    (page,) = parsing.parse(samples.commented_pdf(), parsing.PDF).segments

    assert page.text.splitlines() == [
        "The launch is on 15 October 2025.",
        "Comment by Nadia: Moved to 29 October: the SSO bug.",
        "Comment by Tom Berglund: Which bug?",
        "Reply by Owen: Holloway's multi-role sign-on.",
        "APPROVED 3 Oct",  # typed over the page
    ]


def test_a_ruled_table_in_a_pdf_is_read_row_by_row_in_its_place():
    """Each price stays with its item: read cell by cell, "Total (excluding VAT)" and
    "17,500" were two lines among a dozen."""
    text = parsing.parse(samples.pdf_with_table(), parsing.PDF).segments[0].text

    assert text.splitlines() == [
        "Northlight Studio - Quotation Q-118",
        "Columns: Item, Description, Price (£)",
        "Item: 1; Description: Concept and script (two concepts, one developed); Price (£): 3,500",
        "Item: 2; Description: Production: two-day shoot, motion graphics, voice-over; "
        "Price (£): 14,000",
        "Description: Total (excluding VAT); Price (£): 17,500",
        "Terms: payment on delivery of the master.",
    ]


def test_pdf_tables_past_their_time_leave_the_pages_text_as_it_was(monkeypatch):
    """A document of finely ruled pages (seconds each for the table finder) is still
    read whole within the parse's time: the pages past TABLE_SECONDS as text."""
    monkeypatch.setattr(parsing.pdf, "TABLE_SECONDS", 0.0)

    text = parsing.parse(samples.pdf_with_table(), parsing.PDF).segments[0].text

    assert "Columns:" not in text
    assert "Total (excluding VAT) 17,500" in text


def test_a_quotes_table_with_wrapped_cells_is_read_row_by_row():
    """A studio's quotation (the working files' case), its cells wrapped over lines."""
    quote = DOSSIER / "docs" / "05_pixelforge_quote.pdf"

    text = parsing.parse(quote.read_bytes(), parsing.PDF).segments[0].text

    assert (
        "Item: 4; Description: Deliverables: 90-second master, 30-second cut, square and "
        "vertical social versions, captions; Price (£): 1,500\n"
        "Description: Total (excluding VAT); Price (£): 24,500\nTerms\n"
    ) in text


def test_a_tables_lines_are_found_however_its_cells_were_broken_over_them():
    rows = [["Item", "Description", "Price"], ["1", "Concept and script (two concepts)", "3,500"]]
    cell_a_line = (
        "Quotation\nItem\nDescription\nPrice\n1\nConcept and script (two\nconcepts)\n3,500\nTerms"
    )
    row_a_line = (
        "Quotation\nItem Description Price\n1 Concept and script (two 3,500\nconcepts)\nTerms"
    )
    rendered = (
        "Quotation\nColumns: Item, Description, Price\n"
        "Item: 1; Description: Concept and script (two concepts); Price: 3,500\nTerms"
    )

    assert parsing.with_table_rows(cell_a_line, rows) == rendered
    assert parsing.with_table_rows(row_a_line, rows) == rendered
    # Cells the page's text does not hold (read otherwise by the two readers): as it was.
    assert parsing.with_table_rows(row_a_line, [["Item", "Cost"], ["1", "3,500"]]) == row_a_line


def test_pdf_bullets_become_list_items_and_page_numbers_are_dropped():
    page = (
        "Page 2\n Terms\n\x7f\nDelivery six weeks from approval.\n• Payment on delivery.\n- 2 -\n"
    )
    assert parsing.tidy_pdf_text(page) == (
        "Terms\n- Delivery six weeks from approval.\n- Payment on delivery."
    )


def test_a_presentation_is_read_slide_by_slide_with_titles_as_headings_and_notes():
    data = samples.pptx(notes="Ask about the Saturn V.")

    assert parsing.check_office(io.BytesIO(data)) == parsing.PPTX
    parsed = parsing.parse(data, parsing.PPTX)

    assert parsed.pages == 2
    assert [s.page for s in parsed.segments] == [1, 2]
    assert parsed.segments[0].text == (
        "# Apollo program\n\nRun by NASA\n\nNeil Armstrong walked on the Moon in 1969"
    )
    assert parsed.segments[1].text.endswith("Notes: Ask about the Saturn V.")


def test_the_text_in_a_word_documents_text_boxes_is_read_once_in_its_place():
    data = samples.docx_with_text_box(
        ["Deadline: 3 October", "Owner: Ines"], before="Launch plan", after="Next steps"
    )

    text = parsing.parse(data, parsing.DOCX).segments[0].text

    assert text == "Launch plan\n\nDeadline: 3 October\n\nOwner: Ines\n\nNext steps"


def test_the_text_in_a_word_documents_content_controls_is_read_in_its_place():
    """A template's title, date and table boxes are content controls, which python-docx
    leaves out: a filled-in plan read as "Launch plan" alone."""
    text = parsing.parse(samples.docx_with_content_controls(), parsing.DOCX).segments[0].text

    assert text.split("\n\n") == [
        "Launch plan",
        "Project Kite 3.0",
        "Owner | Nadia",
        "Launch date | 29 October 2025",
    ]


def test_a_word_documents_footnotes_are_read_after_the_paragraph_that_calls_them():
    """A figure's source or a date's caveat is often only in a footnote, which
    python-docx does not read; Word's separator lines are not notes."""
    data = samples.docx_with_notes(
        [
            ("The beta NPS was 41.", "Survey of 12 customers, closed 19 September."),
            ("The launch moved to 29 October.", "Decided at the steering group of 18 September."),
        ],
        unreferenced="Drafted by Ines.",
    )

    text = parsing.parse(data, parsing.DOCX).segments[0].text

    assert text.split("\n\n") == [
        "The beta NPS was 41.",
        "Footnote 1: Survey of 12 customers, closed 19 September.",
        "The launch moved to 29 October.",
        "Footnote 2: Decided at the steering group of 18 September.",
        "Footnote: Drafted by Ines.",
    ]


def test_a_table_inside_a_word_table_cell_is_read_in_its_cell():
    """A plan's cell holding a small table (owners and dates) was read empty."""
    from docx import Document

    document = Document()
    outer = document.add_table(rows=1, cols=2)
    outer.cell(0, 0).text = "Launch tasks"
    cell = outer.cell(0, 1)
    inner = cell.add_table(rows=2, cols=2)
    for r, row in enumerate([["Task", "Owner"], ["Pricing page", "Ines"]]):
        for c, text in enumerate(row):
            inner.cell(r, c).text = text

    assert word_blocks(document) == ["Launch tasks | Task, Owner; Pricing page, Ines"]


def test_a_slides_table_is_read_a_row_a_line():
    """A slide's table made the whole presentation unreadable ("damaged")."""
    data = samples.pptx(table=[["Task", "Owner"], ["Pricing page", "Ines Okonkwo"]])

    text = parsing.parse(data, parsing.PPTX).segments[1].text

    assert text.splitlines()[-3:] == ["Task | Owner", "", "Pricing page | Ines Okonkwo"]


def test_a_slides_chart_is_read_as_its_title_and_figures():
    """A chart holds its figures, not text: "how much is planned for paid media?"
    had no answer in a deck that showed it."""
    chart = {
        "Planned": {"Launch video": 25000, "Paid media": 40000},
        "Actual": {"Launch video": 21000, "Paid media": 18500.5},
    }

    text = parsing.parse(samples.pptx(chart=chart), parsing.PPTX).segments[1].text

    assert text.split("\n\n")[-3:] == [
        "Chart: Budget by line",
        "Planned: Launch video 25000; Paid media 40000",
        "Actual: Launch video 21000; Paid media 18500.5",
    ]


def test_the_text_in_a_slides_grouped_shapes_is_read():
    """A diagram's boxes, grouped (and a group in the group), are read after the slide's
    other text, in order."""
    data = samples.pptx(grouped=["Brief", "Shoot", "Edit and deliver"])

    text = parsing.parse(data, parsing.PPTX).segments[1].text

    assert text.endswith(
        "Margaret Hamilton led the team at MIT\n\nBrief\n\nShoot\n\nEdit and deliver"
    )


def test_a_web_page_is_known_by_its_doctype_and_read_as_its_visible_text():
    data = samples.HTML_PAGE.encode()

    assert parsing.sniff_content_type(data, "page.txt") == parsing.HTML
    text = parsing.parse(data, parsing.HTML).segments[0].text

    assert text == (
        "# Apollo program\nThe Apollo program was run by NASA.\n## Crew\n"
        "Neil Armstrong walked on the Moon in 1969."
    )


def test_a_web_pages_table_is_read_a_row_a_line_without_its_menu():
    data = (
        b"<!DOCTYPE html><html><body><nav><a href='/'>Home</a> <a>Pricing</a></nav>"
        b"<h1>Q3 report</h1><table><tr><th>Region</th><th>Revenue</th><th>Owner</th></tr>"
        b"<tr><td>North</td><td>1,200</td><td>Ana Lima</td></tr>"
        b"<tr><td>South</td><td></td><td>Bo Chen</td></tr></table></body></html>"
    )

    text = parsing.parse(data, parsing.HTML).segments[0].text

    assert text.splitlines() == [
        "# Q3 report",
        "Region | Revenue | Owner",
        "North | 1,200 | Ana Lima",  # not "North1,200Ana Lima"
        "South | | Bo Chen",
    ]


def test_an_old_excel_workbook_is_read_like_a_new_one():
    data = samples.xls()

    assert parsing.sniff_content_type(data[:8192], "risks") == parsing.OLE
    assert parsing.check_ole(io.BytesIO(data)) == parsing.XLS
    lines = parsing.parse(data, parsing.XLS).segments[0].text.splitlines()

    assert lines == [
        "[Apollo risks] Risk register",
        "[Apollo risks] Columns: Risk, Impact, Owner, Review",
        "[Apollo risks] Risk: Supplier late; Impact: High; Owner: Ada; Review: 2025-10-06",
        "[Apollo risks] Risk: Budget overrun; Impact: Medium; Owner: Ada; Review: 12",
    ]


def test_a_damaged_old_office_file_is_refused_as_damaged():
    import olefile

    assert olefile.isOleFile(io.BytesIO(samples.xls()))  # the signature the check relies on
    with pytest.raises(UploadError, match="damaged"):
        parsing.check_ole(io.BytesIO(parsing.OLE_SIGNATURE + bytes(600)))


def test_a_percentage_in_a_sheet_reads_as_excel_shows_it():
    """0.125 formatted "0%" is the 13% its reader sees, not a fraction."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Budget"
    sheet.append(["Line", "Share", "Growth", "Planned"])
    sheet.append(["Video", 0.125, 0.0345, 25000])
    sheet["B2"].number_format = "0%"
    sheet["C2"].number_format = "0.0%"
    data = io.BytesIO()
    book.save(data)

    text = parsing.parse(data.getvalue(), parsing.XLSX).segments[0].text

    assert text.splitlines()[-1] == "[Budget] Line: Video; Share: 13%; Growth: 3.5%; Planned: 25000"


def test_an_amount_in_a_sheet_reads_as_excel_shows_it():
    """40000 formatted "£#,##0" is the £40,000 its reader sees and asks about."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Budget"
    sheet.append(["Line", "Planned", "Actual", "Variance", "Rate", "Count"])
    sheet.append(["Paid media", 40000, 18500.5, -21499.5, 1234.5, 12])
    sheet["B2"].number_format = '"£"#,##0'
    sheet["C2"].number_format = '_-£* #,##0.00_-;-£* #,##0.00_-;_-£* "-"??_-;_-@_-'
    sheet["D2"].number_format = "£#,##0;[Red]-£#,##0"
    sheet["E2"].number_format = "#,##0.00 [$EUR]"
    data = io.BytesIO()
    book.save(data)

    text = parsing.parse(data.getvalue(), parsing.XLSX).segments[0].text

    assert text.splitlines()[-1] == (
        "[Budget] Line: Paid media; Planned: £40,000; Actual: £18,500.50; Variance: -£21,500; "
        "Rate: 1,234.50 EUR; Count: 12"
    )


def test_a_cells_note_is_read_after_its_value():
    """Excel's notes (comments) say why a figure is what it is; a workbook read
    quickly (read-only) leaves them out."""
    import openpyxl
    from openpyxl.comments import Comment

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Budget"
    sheet.append(["Line", "Planned", "Actual"])
    sheet.append(["Paid media", 40000, 18500])
    sheet.append(["Contingency", 10000, None])
    sheet["C2"].comment = Comment("Tom Berglund: spend starts 20 Oct", "Tom Berglund")
    sheet["C3"].comment = Comment("Not touched yet", "Tom Berglund")
    data = io.BytesIO()
    book.save(data)

    text = parsing.parse(data.getvalue(), parsing.XLSX).segments[0].text

    assert text.splitlines()[1:] == [
        "[Budget] Line: Paid media; Planned: 40000; Actual: 18500 (note: Tom Berglund: spend "
        "starts 20 Oct)",
        "[Budget] Line: Contingency; Planned: 10000; Actual: (note: Not touched yet)",
    ]


def test_a_word_document_is_read_with_its_tracked_changes_accepted():
    """As Word shows a draft under review: the words typed in are read, the words
    struck out are not (the typed-in date was lost: "The launch is on .")."""
    data = samples.docx_with_tracked_changes("The launch is on ", "15 October", "29 October", ".")

    text = parsing.parse(data, parsing.DOCX).segments[0].text

    assert text.split("\n\n") == ["The launch is on 29 October.", "Launch | 29 October"]


def word_blocks(document) -> list[str]:
    """A python-docx document, saved and read back: its paragraphs as the reader gives them."""
    data = io.BytesIO()
    document.save(data)
    return parsing.parse(data.getvalue(), parsing.DOCX).segments[0].text.split("\n\n")


def test_a_reviewers_comment_is_read_after_the_paragraph_it_is_about():
    from docx import Document as WordDocument

    document = WordDocument()
    dated = document.add_paragraph("The launch is on 29 October.")
    document.add_paragraph("Paid media starts on 20 October.")
    document.add_comment(dated.runs, text="Confirm the date with Tom.", author="Nadia Rahimi")

    assert word_blocks(document) == [
        "The launch is on 29 October.",
        "Comment by Nadia Rahimi: Confirm the date with Tom.",
        "Paid media starts on 20 October.",
    ]


def test_a_word_documents_page_header_and_footer_are_read_once():
    """A header often holds what the body never says: the title, version and date."""
    from docx import Document as WordDocument

    document = WordDocument()
    document.sections[0].header.paragraphs[0].text = "Launch brief v3 — 4 July 2025"
    document.sections[0].footer.paragraphs[0].text = "Confidential: Larkspur Labs"
    document.sections[0].footer.add_paragraph("12")  # a page number
    document.add_paragraph("The launch is on 29 October.")
    document.add_section()  # its header is the first section's: read once
    document.add_paragraph("Paid media starts on 20 October.")

    assert word_blocks(document) == [
        "Launch brief v3 — 4 July 2025",
        "The launch is on 29 October.",
        "Paid media starts on 20 October.",
        "Confidential: Larkspur Labs",
    ]
