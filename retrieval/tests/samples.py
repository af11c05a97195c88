"""Real documents of each supported kind (and broken ones), built in memory for tests."""

from __future__ import annotations

import io
import zipfile

from docx import Document as DocxDocument
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

PAGES = [
    "The Apollo program was run by NASA. Neil Armstrong walked on the Moon in 1969.",
    "Margaret Hamilton led the team at MIT that wrote the Apollo guidance software.",
    "The Saturn V rocket launched every crewed Apollo mission from Kennedy Space Center.",
]


def pdf(pages: list[str] = PAGES) -> bytes:
    document = FPDF()
    document.set_font("helvetica", size=12)
    for text in pages:
        document.add_page()
        document.multi_cell(0, 8, text)
    return bytes(document.output())


# A quotation as studios send them: a ruled table of items and prices.
QUOTE_TABLE = [
    ["Item", "Description", "Price (£)"],
    ["1", "Concept and script (two concepts, one developed)", "3,500"],
    ["2", "Production: two-day shoot, motion graphics, voice-over", "14,000"],
    ["", "Total (excluding VAT)", "17,500"],
]


def pdf_with_table(rows: list[list[str]] = QUOTE_TABLE) -> bytes:
    """One page: a title, a ruled table (pypdf reads it a row a line), then terms."""
    document = FPDF()
    document.set_font("helvetica", size=11)
    document.add_page()
    document.multi_cell(0, 8, "Northlight Studio - Quotation Q-118")
    with document.table(col_widths=(15, 60, 25)) as table:
        for cells in rows:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    document.multi_cell(0, 8, "Terms: payment on delivery of the master.")
    return bytes(document.output())


def blank_pdf() -> bytes:
    document = FPDF()
    document.add_page()
    document.rect(20, 20, 100, 60, style="F")  # one grey box, nothing to read
    return bytes(document.output())


# What the pictures below show, as a scanner or a phone camera would take it.
SCANNED = [
    "Design review notes, 14 August 2025.",
    "The filter bar moves to the top of the dashboard.",
    "Dark mode is parked for release 3.1.",
]


def picture(lines: list[str] = SCANNED, format: str = "PNG", frames: int = 1) -> bytes:
    """A photo or scan of printed lines (every frame the same), in a picture format."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=36)
    image = Image.new("L", (1400, 120 + 60 * len(lines)), color=255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((60, 60 + 60 * number), line, fill=0, font=font)
    out = io.BytesIO()
    extra = {"save_all": True, "append_images": [image] * (frames - 1)} if frames > 1 else {}
    if format == "HEIF":  # an iPhone's photo
        from pillow_heif import register_heif_opener

        register_heif_opener()
        extra["quality"] = 95
    image.save(out, format=format, **extra)
    return out.getvalue()


def turned_picture(degrees: int, lines: list[str] = SCANNED) -> bytes:
    """A scan of printed lines lying on its side or upside down (turned anticlockwise),
    with no tag saying which way is up."""
    from PIL import Image

    image = Image.open(io.BytesIO(picture(lines))).rotate(degrees, expand=True)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def blank_picture(format: str = "PNG", size: tuple[int, int] = (800, 600)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", size, color=255).save(out, format=format)
    return out.getvalue()


def scanned_pdf(
    text_pages: list[str] = PAGES[:1], scans: list[list[str]] | None = None, mark: str = ""
) -> bytes:
    """A PDF whose first pages have text and whose last ones are scans (pictures only,
    or with `mark` written under the picture, as scanner apps sign their pages)."""
    scans = [SCANNED] if scans is None else scans
    document = FPDF()
    document.set_font("helvetica", size=12)
    document.set_auto_page_break(False)
    for text in text_pages:
        document.add_page()
        document.multi_cell(0, 8, text)
    for lines in scans:
        document.add_page()
        document.image(io.BytesIO(picture(lines)), x=10, y=10, w=190)
        if mark:
            document.set_xy(10, 280)
            document.cell(0, 5, mark)
    return bytes(document.output())


def pptx(
    slides: list[tuple[str, list[str]]] | None = None,
    notes: str = "",
    grouped: list[str] = (),
    table: list[list[str]] | None = None,
    chart: dict[str, dict[str, float]] | None = None,
) -> bytes:
    """A presentation: each slide a title and bullet points (the last with speaker notes,
    `grouped`: text boxes in a group, a group inside it holding the last one, and
    `table`: a table's rows of cells, `chart`: a titled column chart's series, each
    its value by category)."""
    from pptx import Presentation

    slides = slides or [
        ("Apollo program", ["Run by NASA", "Neil Armstrong walked on the Moon in 1969"]),
        ("Guidance software", ["Margaret Hamilton led the team at MIT"]),
    ]
    presentation = Presentation()
    for title, points in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text_frame.text = "\n".join(points)
    if notes:
        slide.notes_slide.notes_text_frame.text = notes
    if grouped:
        from pptx.util import Cm

        group = slide.shapes.add_group_shape()
        for n, text in enumerate(grouped):
            inner = group.shapes.add_group_shape() if n == len(grouped) - 1 else group
            inner.shapes.add_textbox(Cm(2 + 6 * n), Cm(14), Cm(5), Cm(2)).text_frame.text = text
    if table:
        from pptx.util import Cm

        frame = slide.shapes.add_table(len(table), len(table[0]), Cm(2), Cm(10), Cm(20), Cm(4))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                frame.table.cell(r, c).text = text
    if chart:
        from pptx.chart.data import CategoryChartData
        from pptx.enum.chart import XL_CHART_TYPE
        from pptx.util import Cm

        data = CategoryChartData()
        data.categories = list(next(iter(chart.values())))
        for name, values in chart.items():
            data.add_series(name, list(values.values()))
        shown = slide.shapes.add_chart(
            XL_CHART_TYPE.COLUMN_CLUSTERED, Cm(2), Cm(10), Cm(16), Cm(8), data
        ).chart
        shown.has_title = True
        shown.chart_title.text_frame.text = "Budget by line"
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


HTML_PAGE = """<!DOCTYPE html>
<html><head><title>Apollo</title><style>p { color: red }</style>
<script>var secret = "not text";</script></head>
<body><h1>Apollo program</h1><p>The Apollo program was run by <b>NASA</b>.</p>
<h2>Crew</h2><ul><li>Neil Armstrong walked on the Moon in 1969.</li></ul></body></html>
"""


def encrypted_pdf(password: str = "secret") -> bytes:
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(pdf())).pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password=password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def labelled_pdf(data: bytes | None = None, roman: int = 3, appendix: int = 0) -> bytes:
    """A PDF (the three Apollo pages by default) with printed page labels, as a book has:
    i, ii, iii... on its first `roman` pages, 1, 2... on the next, A-1, A-2... on the
    last `appendix` ones."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf() if data is None else data))
    count = len(writer.pages)
    body_end = count - appendix
    if roman:
        writer.set_page_label(0, roman - 1, style="/r")
    if body_end > roman:
        writer.set_page_label(roman, body_end - 1, style="/D", start=1)
    if appendix:
        writer.set_page_label(body_end, count - 1, style="/D", prefix="A-", start=1)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# A change request form as its fields were filled in: (label printed on the page,
# where its field starts, field type, value). Two fields share a line; the empty
# ones and the unticked box say nothing.
FORM_LINES = [
    ("Requested by:", 150, "/Tx", "Ines Okonkwo"),
    ("Approved budget:", 150, "/Tx", "GBP 21,000"),
    ("Start:", 90, "/Tx", "3 November 2025"),
    ("Urgent:", 150, "/Btn", "/Yes"),
    ("Needs legal review:", 150, "/Btn", "/Off"),
    ("Notes:", 150, "/Tx", None),
]


def filled_pdf_form() -> bytes:
    """A one-page PDF form whose answers are fields over the page, not its text."""
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    page_height = 842
    printed = FPDF(unit="pt", format="A4")
    printed.add_page()
    printed.set_font("helvetica", size=11)
    printed.text(40, 60, "Change request CR-7: launch video scope")
    for row, (label, _, _, _) in enumerate(FORM_LINES):
        printed.text(40, 100 + 30 * row, label)
    printed.text(260, 160, "End:")
    printed.text(40, 100 + 30 * len(FORM_LINES), "Decision:")
    writer = PdfWriter(clone_from=io.BytesIO(bytes(printed.output())))
    fields = ArrayObject()

    def widget(baseline: float, x0: float, width: float, **entries) -> DictionaryObject:
        low = page_height - baseline - 4
        box = [FloatObject(v) for v in (x0, low, x0 + width, low + 16)]
        made = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Widget"),
            }
        )
        made[NameObject("/Rect")] = ArrayObject(box)
        for key, value in entries.items():
            made[NameObject(f"/{key}")] = value
        return made

    def field(name: str, kind: str, value, baseline: float, x0: float, tooltip: str = ""):
        entries = {"T": TextStringObject(name), "FT": NameObject(kind)}
        if tooltip:
            entries["TU"] = TextStringObject(tooltip)
        if value is not None:
            entries["V"] = NameObject(value) if kind == "/Btn" else TextStringObject(value)
        fields.append(writer._add_object(widget(baseline, x0, 100, **entries)))

    for row, (_, x0, kind, value) in enumerate(FORM_LINES):
        field(f"field{row}", kind, value, 100 + 30 * row, x0)
    field("end_date", "/Tx", "14 November 2025", 160, 290, tooltip="End date")
    decision = DictionaryObject(
        {
            NameObject("/T"): TextStringObject("decision"),
            NameObject("/FT"): NameObject("/Btn"),
            NameObject("/Ff"): NumberObject(1 << 15),
            NameObject("/V"): NameObject("/Approved"),
        }
    )
    decision_ref = writer._add_object(decision)
    baseline = 100 + 30 * len(FORM_LINES)
    kids = ArrayObject(
        writer._add_object(widget(baseline, x0, 12, Parent=decision_ref)) for x0 in (150, 250)
    )
    decision[NameObject("/Kids")] = kids
    fields.append(decision_ref)
    writer.pages[0][NameObject("/Annots")] = ArrayObject([*fields[:-1], *kids])
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): fields})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def commented_pdf() -> bytes:
    """A one-page PDF a reviewer commented on: a sticky note, a comment on highlighted
    text, a reply to it, text typed over the page, and the pop-up of a note (which
    repeats nothing of its own)."""
    from pypdf.annotations import FreeText, Highlight, Popup, Text
    from pypdf.generic import ArrayObject, FloatObject, NameObject, TextStringObject

    writer = PdfWriter(clone_from=io.BytesIO(pdf(["The launch is on 15 October 2025."])))

    def by(annotation, author: str):
        annotation[NameObject("/T")] = TextStringObject(author)
        return annotation

    note = writer.add_annotation(
        0, by(Text(rect=(50, 700, 70, 720), text="Moved to 29 October: the SSO bug."), "Nadia")
    )
    writer.add_annotation(0, Popup(rect=(80, 650, 280, 720), parent=note))
    marked = Highlight(
        rect=(50, 740, 250, 760),
        quad_points=ArrayObject(FloatObject(v) for v in (50, 760, 250, 760, 50, 740, 250, 740)),
    )
    marked[NameObject("/Contents")] = TextStringObject("Which bug?")
    highlight = writer.add_annotation(0, by(marked, "Tom Berglund"))
    reply = by(Text(rect=(50, 600, 70, 620), text="Holloway's multi-role sign-on."), "Owen")
    reply[NameObject("/IRT")] = highlight.indirect_reference
    writer.add_annotation(0, reply)
    writer.add_annotation(0, FreeText(text="APPROVED 3 Oct", rect=(300, 500, 450, 530)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_sticky_note(data: bytes, page: int, author: str, text: str) -> bytes:
    """`data`, a PDF, with a reviewer's sticky note on its page `page` (from 0)."""
    from pypdf.annotations import Text
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter(clone_from=io.BytesIO(data))
    note = Text(rect=(50, 700, 70, 720), text=text)
    note[NameObject("/T")] = TextStringObject(author)
    writer.add_annotation(page, note)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def corrupt_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nthis is not a pdf body\n%%EOF"


def docx(paragraphs: list[str] = PAGES, table: list[list[str]] | None = None) -> bytes:
    document = DocxDocument()
    document.add_heading("Apollo notes", level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    rows = table or [
        ["Mission", "Commander"],
        ["Apollo 11", "Neil Armstrong"],
        ["Apollo 13", "Jim Lovell"],
    ]
    grid = document.add_table(rows=len(rows), cols=len(rows[0]))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# A text box as Word writes it: the drawing, and the same text again as the
# fallback picture older readers show.
_TEXT_BOX = """<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
 xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"
 xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"
 xmlns:v="urn:schemas-microsoft-com:vml"><mc:AlternateContent>
<mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx><w:txbxContent>{paragraphs}
</w:txbxContent></wps:txbx></wps:wsp></w:drawing></mc:Choice>
<mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>{paragraphs}
</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback>
</mc:AlternateContent></w:r>"""


# A change tracked in review, as Word writes it: a deletion and an insertion.
_TRACKED = """<w:p xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:r><w:t xml:space="preserve">{before}</w:t></w:r>
<w:del w:id="1" w:author="Nadia Rahimi"><w:r><w:delText>{deleted}</w:delText></w:r></w:del>
<w:ins w:id="2" w:author="Nadia Rahimi"><w:r><w:t>{inserted}</w:t></w:r></w:ins>
<w:r><w:t>{after}</w:t></w:r></w:p>"""


def docx_with_tracked_changes(before: str, deleted: str, inserted: str, after: str) -> bytes:
    """A Word document of one paragraph and a one-row table, each with `deleted`
    struck out and `inserted` typed in review (changes not yet accepted)."""
    from lxml import etree

    document = DocxDocument()
    paragraph = etree.fromstring(
        _TRACKED.format(before=before, deleted=deleted, inserted=inserted, after=after)
    )
    document.element.body.insert(0, paragraph)
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Launch"
    cell = table.cell(0, 1)._tc
    cell.remove(cell.p_lst[0])
    cell.append(
        etree.fromstring(_TRACKED.format(before="", deleted=deleted, inserted=inserted, after=""))
    )
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_with_text_box(lines: list[str], before: str, after: str) -> bytes:
    """A Word document whose paragraph `before` holds a text box of `lines`."""
    from lxml import etree

    document = DocxDocument()
    paragraph = document.add_paragraph(before)
    box = "".join(f"<w:p><w:r><w:t>{line}</w:t></w:r></w:p>" for line in lines)
    paragraph._p.append(etree.fromstring(_TEXT_BOX.format(paragraphs=box)))
    document.add_paragraph(after)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_with_content_controls() -> bytes:
    """A Word template filled in: its title is a content control holding a paragraph
    and a table, and a cell of another table holds a control of its own."""
    from lxml import etree

    def control(alias: str, content: str) -> str:
        return (
            f'<w:sdt {_W}><w:sdtPr><w:alias w:val="{alias}"/></w:sdtPr>'
            f"<w:sdtContent>{content}</w:sdtContent></w:sdt>"
        )

    def paragraph(text: str) -> str:
        return f"<w:p {_W}><w:r><w:t>{text}</w:t></w:r></w:p>"

    def cell(content: str) -> str:
        return f"<w:tc {_W}>{content}</w:tc>"

    document = DocxDocument()
    document.add_paragraph("Launch plan")
    owners = (
        f"<w:tbl {_W}><w:tr>{cell(paragraph('Owner'))}{cell(paragraph('Nadia'))}</w:tr></w:tbl>"
    )
    title = control("Title", paragraph("Project Kite 3.0") + owners)
    document.element.body.insert(1, etree.fromstring(title))
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Launch date"
    table.cell(0, 1)._tc.remove(table.cell(0, 1)._tc.p_lst[0])
    table.cell(0, 1)._tc.append(etree.fromstring(control("Date", paragraph("29 October 2025"))))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_with_notes(paragraphs: list[tuple[str, str]], unreferenced: str = "") -> bytes:
    """A Word document whose paragraphs (text, footnote) each call a footnote; Word's
    separator notes are there as Word writes them, and `unreferenced` is a footnote
    no paragraph calls."""
    from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from lxml import etree

    def note(number: int | str, content: str, kind: str = "") -> str:
        typed = f' w:type="{kind}"' if kind else ""
        return f'<w:footnote{typed} w:id="{number}"><w:p><w:r>{content}</w:r></w:p></w:footnote>'

    document = DocxDocument()
    notes = [
        note(-1, "<w:separator/>", "separator"),
        note(0, "<w:continuationSeparator/>", "continuationSeparator"),
    ]
    for number, (text, footnote) in enumerate(paragraphs, start=1):
        paragraph = document.add_paragraph(text)
        paragraph._p.append(
            etree.fromstring(
                f'<w:r {_W}><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
                f'<w:footnoteReference w:id="{number}"/></w:r>'
            )
        )
        notes.append(note(number, f"<w:t>{footnote}</w:t>"))
    if unreferenced:
        notes.append(note(99, f"<w:t>{unreferenced}</w:t>"))
    blob = f"<w:footnotes {_W}>{''.join(notes)}</w:footnotes>".encode()
    package = document.part.package
    part = Part(PackURI("/word/footnotes.xml"), CONTENT_TYPE.WML_FOOTNOTES, blob, package)
    document.part.relate_to(part, RELATIONSHIP_TYPE.FOOTNOTES)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bomb_docx(inflated_mb: int = 300) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(inflated_mb):
                member.write(block)
    return out.getvalue()


def fake_docx() -> bytes:
    return b"PK\x03\x04" + b"\x00" * 200


MARKDOWN = """# Apollo

The **Apollo program** was run by NASA.

## Crew

Neil Armstrong and Buzz Aldrin landed on the Moon; Michael Collins stayed in orbit.
"""


def xlsx(rows: int = 3) -> bytes:
    """A workbook of two sheets: a titled risk register (with a date) and a bare table."""
    import datetime

    import openpyxl

    book = openpyxl.Workbook()
    risks = book.active
    risks.title = "Risks"
    risks.append(["Risk register"])
    risks.append(["Risk", "Impact", "Owner", "Review"])
    names = ["Supplier late", "Budget overrun", "Key person leaves", "Server outage"]
    for n in range(rows):
        risks.append([names[n % 4], ["High", "Medium", "Low"][n % 3], "Ada", None])
    risks["D3"] = datetime.datetime(2025, 10, 6)
    scores = book.create_sheet("Scores")
    scores.append(["Customer", "Score"])
    scores.append(["Holloway Logistics", 6.0])
    scores.append(["Apollo Freight", 9])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xls() -> bytes:
    """An Excel 97-2003 workbook: a titled risk register with a date, as xlsx() has."""
    import datetime

    import xlwt

    book = xlwt.Workbook()
    risks = book.add_sheet("Apollo risks")
    rows = [["Risk register"], ["Risk", "Impact", "Owner", "Review"]]
    rows += [["Supplier late", "High", "Ada", None], ["Budget overrun", "Medium", "Ada", 12.0]]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                risks.write(r, c, value)
    risks.write(2, 3, datetime.datetime(2025, 10, 6), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def outlook_message(files: dict[str, tuple[str, bytes]] | None = None) -> bytes:
    """The sample email saved as Outlook does (.msg), written by aspose-email-foss."""
    from email import message_from_bytes, policy

    from aspose.email_foss.msg import MapiMessage

    mime = message_from_bytes(email(files=files), policy=policy.default)
    return MapiMessage.from_email_message(mime).to_bytes()


def email(html_only: bool = False, files: dict[str, tuple[str, bytes]] | None = None) -> bytes:
    """A quoted-printable email with an encoded subject, a small logo attached, and
    `files` (name -> (content type, bytes)) attached too."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = '"Kwame Mensah" <k.mensah@holloway.example>'
    message["To"] = "Nadia Rahimi <nadia@larkspur.example>"
    message["Date"] = "Fri, 12 Sep 2025 14:10:22 +0100"
    message["Subject"] = "Kite 3.0 beta — single sign-on failing for multi-role users"
    text = (
        "Users who have more than one role (for example planner and approver) cannot sign "
        "in through single sign-on: they get “role mapping failed”."
    )
    if html_only:
        message.set_content(
            f"<html><head><style>p {{color: red}}</style></head><body><p>{text}</p>"
            "<p>This affects <b>14</b> of our 60 users.</p></body></html>",
            subtype="html",
            cte="quoted-printable",
        )
    else:
        message.set_content(text + "\nThis affects 14 of our 60 users.", cte="quoted-printable")
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(64), "image", "png", filename="logo.png")
    for name, (content_type, data) in (files or {}).items():
        main, sub = content_type.split("/")
        message.add_attachment(data, main, sub, filename=name)
    return bytes(message)


def email_forwarding(original: bytes, signed: bool = False) -> bytes:
    """An email forwarding `original` as an attachment (Outlook's "Forward as
    attachment"), signed with S/MIME when `signed`."""
    from email import message_from_bytes, policy
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Nadia Rahimi <nadia@larkspur.example>"
    message["To"] = "Owen Castillo <owen@larkspur.example>"
    message["Date"] = "Mon, 15 Sep 2025 09:00:00 +0100"
    message["Subject"] = "Fwd: the Holloway report"
    message.set_content("Owen, see Holloway's report attached. Can you look today?")
    message.add_attachment(message_from_bytes(original, policy=policy.default))
    if signed:
        message.add_attachment(
            b"0\x82\x01\x00" + bytes(200), "application", "pkcs7-signature", filename="smime.p7s"
        )
    return bytes(message)


# A studio's offer, then the client's reply quoting it as mail programs do.
OFFER = (
    "We can get to £21,000 by developing a single concept (rather than two) and "
    "dropping the vertical social version."
)
ACCEPTANCE = "Agreed at £21,000. Tom will pay the deposit of £10,500 on receipt of your invoice."
REPLY_HISTORY = {
    # Gmail, Apple Mail, Thunderbird: an attribution line, the old text marked "> ".
    "quoted": f"On Tue, 29 Jul 2025 at 15:44, Faye Delacroix wrote:\n\n> Hi Ines,\n>\n> {OFFER}"
    "\n>\n> Best,\n> Faye",
    # Outlook: the old message's headers, its text unmarked.
    "outlook": "From: Faye Delacroix <faye@pixelforge.example>\nSent: Tuesday, July 29, 2025 "
    f"3:44 PM\nTo: Ines Okonkwo <ines@larkspur.example>\nSubject: Launch video\n\nHi Ines,\n\n"
    f"{OFFER}\n\nBest,\nFaye",
}


# A calendar's invitation to a meeting (in London time, which has its own zone block)
# and a weekly meeting since cancelled, as calendars write them.
INVITATION = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Larkspur//Calendar//EN",
        "METHOD:REQUEST",
        "BEGIN:VTIMEZONE",
        "TZID:Europe/London",
        "BEGIN:DAYLIGHT",
        "DTSTART:19700329T010000",
        "TZOFFSETFROM:+0000",
        "TZOFFSETTO:+0100",
        "TZNAME:BST",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        "DTSTART:19701025T020000",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0000",
        "TZNAME:GMT",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:go-no-go@larkspur.example",
        "DTSTAMP:20251001T090000Z",
        "SUMMARY:Go / no-go for Kite 3.0",
        "DTSTART;TZID=Europe/London:20251022T140000",
        "DTEND;TZID=Europe/London:20251022T150000",
        "LOCATION:Room 4 and Teams",
        "ORGANIZER;CN=Nadia Rahimi:mailto:nadia@larkspur.example",
        "ATTENDEE;CN=Ines Okonkwo:mailto:ines@larkspur.example",
        "ATTENDEE:mailto:tom@larkspur.example",
        "DESCRIPTION:Agenda:\\n1. SSO fix sign-off\\n2. Pricing page",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:status@larkspur.example",
        "DTSTAMP:20251001T090000Z",
        "SUMMARY:Weekly status",
        "DTSTART;VALUE=DATE:20251006",
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
        "STATUS:CANCELLED",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)


def email_with_invitation() -> bytes:
    """An invitation as calendars send it: a line of text, the calendar data beside it."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Nadia Rahimi <nadia@larkspur.example>"
    message["To"] = "Ines Okonkwo <ines@larkspur.example>"
    message["Subject"] = "Invitation: Go / no-go for Kite 3.0"
    message["Date"] = "Wed, 01 Oct 2025 10:00:00 +0100"
    message.set_content("Nadia Rahimi has invited you to a meeting.")
    message.add_alternative(INVITATION, subtype="calendar", params={"method": "REQUEST"})
    return message.as_bytes()


def email_text(sender: str, subject: str, body: str) -> str:
    """A plain-text email as a mail program saves it (.eml)."""
    return (
        f"From: {sender}\nTo: Studio <studio@pixelforge.example>\n"
        f"Date: Tue, 05 Aug 2025 10:15:33 +0100\nSubject: {subject}\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    )


def reply(style: str = "quoted") -> str:
    """The client's acceptance, quoting the studio's offer in `style` (REPLY_HISTORY),
    or forwarding it ("forward")."""
    if style == "forward":
        body = "FYI, see below.\n\n---------- Forwarded message ---------\n" + REPLY_HISTORY[
            "outlook"
        ].replace("Sent:", "Date:")
    else:
        body = f"Hi Faye,\n\n{ACCEPTANCE}\n\nInes\n\n{REPLY_HISTORY[style]}"
    return email_text("Ines Okonkwo <ines@larkspur.example>", "RE: Launch video", body)
