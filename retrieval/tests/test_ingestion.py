"""Ingesting documents end to end: real parsing, real embeddings, the embedded graph store."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.utils import timezone

from retrieval import documents, ingestion, tasks
from retrieval.errors import DuplicateDocument
from retrieval.graphstores import aget_store
from retrieval.models import Document
from retrieval.tests import samples
from tests import graph

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def upload(owner, data: bytes, name: str) -> Document:
    return documents.create_document(owner, io.BytesIO(data), name, enqueue=False)


def graph_chunks(document: Document):
    async def read():
        return await graph.stored_chunks(await aget_store(), str(document.pk))

    return async_to_sync(read)()


def graph_entities(owner_id: int):
    async def read():
        return await graph.stored_entities(await aget_store(), owner_id)

    return async_to_sync(read)()


def graph_chunk_count(document: Document) -> int:
    async def read():
        return await graph.count_chunks(await aget_store(), str(document.pk))

    return async_to_sync(read)()


@pytest.mark.parametrize(
    ("data", "name", "pages"),
    [
        (samples.pdf(), "apollo.pdf", 3),
        (samples.docx(), "apollo.docx", None),
        (samples.xlsx(), "apollo.xlsx", None),
        (samples.pptx(), "apollo.pptx", 2),
        (samples.xls(), "apollo.xls", None),
        (samples.HTML_PAGE.encode(), "apollo.html", None),
        (b"Mission,Crew\nApollo 11,Armstrong\nApollo 13,Lovell\n", "apollo.csv", None),
        (samples.MARKDOWN.encode(), "apollo.md", None),
        (" ".join(samples.PAGES).encode(), "apollo.txt", None),
    ],
)
def test_each_supported_kind_becomes_ready_with_chunks_in_the_graph(alice, data, name, pages):
    document = upload(alice, data, name)
    stages: list[str] = []

    status = ingestion.ingest_document(document.pk, on_progress=lambda s, d, t: stages.append(s))

    document.refresh_from_db()
    assert status == "ready" and document.status == "ready", document.error
    assert stages[0] == "embedding" and stages[-1] == "indexing"
    assert document.pages == pages
    assert document.chunk_count == len(graph_chunks(document)) > 0
    assert document.progress == 100
    stored = graph_chunks(document)
    assert all(len(c.embedding) == 384 and c.owner_id == alice.pk for c in stored)
    assert "Apollo" in " ".join(c.text for c in stored)


def test_the_scanned_pages_of_a_pdf_are_read_by_ocr_in_their_place(alice):
    document = upload(alice, samples.scanned_pdf(scans=[samples.SCANNED] * 2), "review.pdf")
    stages: list[tuple[str, int, int]] = []

    status = ingestion.ingest_document(document.pk, on_progress=lambda *step: stages.append(step))

    document.refresh_from_db()
    assert status == "ready", document.error
    assert ("parsing", 0, 2) in stages and ("parsing", 2, 2) in stages  # a page at a time
    chunks = graph_chunks(document)
    assert [(c.page, c.ocr) for c in chunks] == [(1, False), (2, True), (3, True)]
    assert "Neil Armstrong walked on the Moon" in chunks[0].text
    assert "The filter bar moves to the top of the dashboard." in chunks[1].text


def test_a_scan_under_a_scanner_apps_mark_is_read_by_ocr_not_taken_for_its_mark(alice):
    """The mark was the page's only text: the scan under it was never read."""
    data = samples.scanned_pdf(scans=[samples.SCANNED] * 2, mark="Scanned with CamScanner")
    document = upload(alice, data, "review.pdf")

    status = ingestion.ingest_document(document.pk)

    assert status == "ready", document.error
    chunks = graph_chunks(document)
    assert [(c.page, c.ocr) for c in chunks] == [(1, False), (2, True), (3, True)]
    assert "The filter bar moves to the top of the dashboard." in chunks[2].text


def test_a_reviewers_note_on_a_scan_is_read_after_the_scans_text(alice):
    """A note is not the page's text layer: the scan under it is still read by OCR,
    and the note kept after what OCR found."""
    note = "Approved at the design review, but the filter bar change needs two more days of work."
    data = samples.with_sticky_note(samples.scanned_pdf(), 1, "Marta Ruiz", note)
    document = upload(alice, data, "review.pdf")

    status = ingestion.ingest_document(document.pk)

    assert status == "ready", document.error
    chunks = graph_chunks(document)
    assert [(c.page, c.ocr) for c in chunks] == [(1, False), (2, True)]
    assert "The filter bar moves to the top of the dashboard." in chunks[1].text
    assert chunks[1].text.endswith(f"Comment by Marta Ruiz: {note}")


@pytest.mark.parametrize(
    ("format", "kind"),
    [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp"), ("TIFF", "tiff"), ("HEIF", "heic")],
)
def test_a_photo_of_a_page_becomes_ready_with_its_text_marked_as_ocr(alice, format, kind):
    document = upload(alice, samples.picture(format=format), "IMG_0042")  # no extension

    status = ingestion.ingest_document(document.pk)

    document.refresh_from_db()
    assert status == "ready", document.error
    assert document.content_type == f"image/{kind}"
    [chunk] = graph_chunks(document)
    assert chunk.ocr and chunk.page is None
    assert chunk.text.splitlines() == samples.SCANNED


@pytest.mark.parametrize("degrees", [90, 180])
def test_a_scan_on_its_side_or_upside_down_is_read_the_right_way_up(alice, degrees):
    """Read as it lies, it gave letters of no words ("JeBeuey yonpold ...")."""
    document = upload(alice, samples.turned_picture(degrees), "scan.png")

    status = ingestion.ingest_document(document.pk)

    assert status == "ready"
    [chunk] = graph_chunks(document)
    assert chunk.text.splitlines() == samples.SCANNED


def test_a_picture_without_text_fails_and_says_ocr_found_nothing(alice):
    document = upload(alice, samples.blank_picture(), "white.png")

    assert ingestion.ingest_document(document.pk) == "failed"

    document.refresh_from_db()
    assert document.error.startswith("No text was found in this picture, even by text")
    assert graph_chunk_count(document) == 0


def test_without_tesseract_a_scan_fails_with_what_to_install(alice, settings):
    settings.TESSERACT_COMMAND = "/nonexistent/tesseract"
    document = upload(alice, samples.scanned_pdf(), "review.pdf")

    assert ingestion.ingest_document(document.pk) == "failed"

    document.refresh_from_db()
    assert "Tesseract is not installed" in document.error
    assert "apt-get install tesseract-ocr" in document.error
    assert graph_chunk_count(document) == 0  # not even the page that has text


def test_an_emails_attachments_become_documents_linked_to_it_and_go_with_it(alice, bob):
    files = {
        "followup.pdf": ("application/pdf", samples.pdf()),
        "notes.txt": ("text/plain", b"Holloway will retest single sign-on on 7 October."),
        "logo.png": ("image/png", samples.blank_picture(size=(180, 60))),  # a logo: left out
        "tool.exe": ("application/octet-stream", b"MZ\x90\x00" + bytes(64)),
    }
    email = upload(alice, samples.email(files=files), "sso-report.eml")

    assert ingestion.ingest_document(email.pk) == "ready"
    call_command("worker", batch=True)  # the attachments were queued

    attached = {d.filename: d for d in Document.objects.filter(attached_to=email)}
    assert set(attached) == {"followup.pdf", "notes.txt"}
    assert all(d.status == "ready" and d.owner == alice for d in attached.values())
    assert attached["followup.pdf"].title == "followup (attached to sso-report)"
    assert "retest single sign-on" in graph_chunks(attached["notes.txt"])[0].text
    links = async_to_sync(graph_links)(str(email.pk))
    assert links == sorted(str(d.pk) for d in attached.values())

    assert ingestion.ingest_document(email.pk) == "ready"  # again: nothing filed twice
    assert Document.objects.filter(attached_to=email).count() == 2

    documents.delete_document(email)
    call_command("worker", batch=True)
    assert not Document.objects.filter(owner=alice).exists()
    assert all(graph_chunk_count(d) == 0 for d in attached.values())


def test_an_email_forwarded_as_an_attachment_becomes_a_document_of_its_own(alice):
    """Forwarded as an attachment, the message (and what it said) was lost; a signed
    email's signature is no attachment."""
    data = samples.email_forwarding(samples.email(), signed=True)
    email = upload(alice, data, "fwd.eml")

    assert ingestion.ingest_document(email.pk) == "ready"
    call_command("worker", batch=True)

    text = " ".join(c.text for c in graph_chunks(email))
    assert "Attachments: Kite 3.0 beta — single sign-on failing for multi-role users.eml" in text
    assert "smime" not in text
    (attached,) = Document.objects.filter(attached_to=email)
    assert attached.content_type == "message/rfc822" and attached.status == "ready"
    assert "they get “role mapping failed”" in " ".join(c.text for c in graph_chunks(attached))


def test_a_file_embedded_in_a_pdf_becomes_a_document_linked_to_it(alice):
    """A report can carry its spreadsheet inside it (Acrobat's attachments pane)."""
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(samples.pdf()))
    writer.add_attachment("budget.csv", b"Line,Planned GBP\nPaid media,40000\nVideo,25000\n")
    data = io.BytesIO()
    writer.write(data)
    report = upload(alice, data.getvalue(), "report.pdf")

    assert ingestion.ingest_document(report.pk) == "ready"
    call_command("worker", batch=True)

    (attached,) = Document.objects.filter(attached_to=report)
    assert (attached.filename, attached.status) == ("budget.csv", "ready")
    assert attached.title == "budget (attached to report)"
    assert "Line: Paid media; Planned GBP: 40000" in graph_chunks(attached)[0].text


def test_an_outlook_message_is_read_like_an_email_and_files_its_attachments(alice):
    files = {"notes.txt": ("text/plain", b"Holloway will retest single sign-on on 7 October.")}
    message = upload(alice, samples.outlook_message(files=files), "sso-report.msg")

    assert message.content_type == "application/vnd.ms-outlook"
    assert ingestion.ingest_document(message.pk) == "ready"
    call_command("worker", batch=True)

    text = " ".join(" ".join(c.text for c in graph_chunks(message)).split())
    assert "Subject: Kite 3.0 beta — single sign-on failing for multi-role users" in text
    assert "they get “role mapping failed”" in text
    (notes,) = Document.objects.filter(attached_to=message)
    assert notes.status == "ready" and notes.filename == "notes.txt"
    assert "retest single sign-on" in graph_chunks(notes)[0].text


async def graph_links(email_id: str) -> list[str]:
    store = await aget_store()
    rows = await store.run(
        "MATCH (d:Document)-[:ATTACHED_TO]->(e:Document {id: $id}) RETURN d.id AS id",
        {"id": email_id},
    )
    return sorted(row["id"] for row in rows)


def test_pdf_chunks_carry_their_page(alice, settings):
    settings.CHUNK_SIZE, settings.CHUNK_OVERLAP = 200, 0
    document = upload(alice, samples.pdf(), "apollo.pdf")
    ingestion.ingest_document(document.pk)

    stored = graph_chunks(document)

    assert [c.page for c in stored] == [1, 2, 3]
    assert "Margaret Hamilton" in stored[1].text
    assert [c.next_id for c in stored[:-1]] == [c.id for c in stored[1:]]


def test_pdf_chunks_carry_the_label_printed_on_their_page(alice, settings):
    settings.CHUNK_SIZE, settings.CHUNK_OVERLAP = 200, 0
    labelled = upload(alice, samples.labelled_pdf(roman=2), "preface.pdf")
    plain = upload(alice, samples.pdf(), "apollo.pdf")
    ingestion.ingest_document(labelled.pk)
    ingestion.ingest_document(plain.pk)

    assert [(c.page, c.page_label) for c in graph_chunks(labelled)] == [
        (1, "i"),
        (2, "ii"),
        (3, "1"),
    ]
    assert [c.page_label for c in graph_chunks(plain)] == [None, None, None]


def test_a_scanned_pdf_page_read_by_ocr_keeps_its_printed_label(alice):
    scan = samples.scanned_pdf(text_pages=samples.PAGES[:1], scans=[samples.SCANNED])
    document = upload(alice, samples.labelled_pdf(scan, roman=2), "review.pdf")

    status = ingestion.ingest_document(document.pk)

    document.refresh_from_db()
    assert status == "ready", document.error
    chunks = graph_chunks(document)
    assert [(c.page, c.page_label, c.ocr) for c in chunks] == [(1, "i", False), (2, "ii", True)]


def test_entities_link_chunks_that_name_the_same_thing(alice, settings):
    settings.CHUNK_SIZE, settings.CHUNK_OVERLAP = 200, 0
    document = upload(alice, samples.pdf(), "apollo.pdf")
    ingestion.ingest_document(document.pk)

    names = {e.name for e in graph_entities(alice.pk)}
    stored = graph_chunks(document)

    assert {"NASA", "Neil Armstrong", "Margaret Hamilton", "MIT"} <= names
    apollo = f"{alice.pk}:apollo"
    assert sum(apollo in c.entity_keys for c in stored) == 3


def test_a_name_said_short_links_to_the_same_entity_as_the_full_name(alice, settings):
    settings.CHUNK_SIZE, settings.CHUNK_OVERLAP = 120, 0
    notes = (
        "Pixelforge Studio Ltd sent quote Q-118 for the launch video on 24 July.\n\n"
        "Owen Castillo owns the single sign-on fix for the Kite release.\n\n"
        "Pixelforge agreed to deliver by 3 October; Owen will test the fix by 6 October."
    )
    document = upload(alice, notes.encode(), "notes.txt")
    ingestion.ingest_document(document.pk)

    keys = {e.key for e in graph_entities(alice.pk)}
    first, second, third = graph_chunks(document)

    pixelforge, owen = f"{alice.pk}:pixelforge studio", f"{alice.pk}:owen castillo"
    assert pixelforge in keys and owen in keys  # the legal form is not part of the name
    assert f"{alice.pk}:pixelforge" not in keys and f"{alice.pk}:owen" not in keys
    assert pixelforge in first.entity_keys and pixelforge in third.entity_keys
    assert owen in second.entity_keys and owen in third.entity_keys


def test_reingesting_replaces_chunks_instead_of_adding(alice):
    document = upload(alice, samples.pdf(), "apollo.pdf")
    ingestion.ingest_document(document.pk)
    first = [c.id for c in graph_chunks(document)]

    ingestion.ingest_document(document.pk)

    second = graph_chunks(document)
    assert len(second) == len(first) == graph_chunk_count(document)
    assert not {c.id for c in second} & set(first)


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (samples.encrypted_pdf(), "locked.pdf", "password"),
        (samples.corrupt_pdf(), "broken.pdf", "damaged"),
        (samples.blank_pdf(), "blank.pdf", "blank pages"),
    ],
)
def test_bad_content_fails_with_a_reason_and_no_chunks(alice, data, name, reason):
    document = upload(alice, data, name)

    status = ingestion.ingest_document(document.pk)

    document.refresh_from_db()
    assert status == document.status == "failed"
    assert reason in document.error
    assert "Traceback" not in document.error
    assert graph_chunk_count(document) == 0


def test_a_missing_file_fails_with_a_reason(alice):
    document = upload(alice, b"some words about falcons", "falcons.txt")
    document.file.delete(save=False)

    ingestion.ingest_document(document.pk)

    document.refresh_from_db()
    assert document.status == "failed" and "missing" in document.error


def test_deleting_removes_file_row_chunks_and_unshared_entities(alice):
    kept = upload(alice, b"NASA runs the Apollo program.", "kept.txt")
    gone = upload(alice, samples.pdf(), "apollo.pdf")
    ingestion.ingest_document(kept.pk)
    ingestion.ingest_document(gone.pk)
    path = gone.file.path

    documents.delete_document(gone)

    assert not Document.objects.filter(pk=gone.pk).exists()
    assert graph_chunk_count(gone) == 0
    import os

    assert not os.path.exists(path)
    names = {e.name for e in graph_entities(alice.pk)}
    assert "NASA" in names  # still mentioned by the kept document
    assert "Margaret Hamilton" not in names


def test_the_same_file_twice_is_detected(alice, bob):
    first = upload(alice, samples.MARKDOWN.encode(), "apollo.md")
    with pytest.raises(DuplicateDocument) as duplicate:
        upload(alice, samples.MARKDOWN.encode(), "copy.md")
    assert duplicate.value.existing_id == str(first.pk)
    assert upload(bob, samples.MARKDOWN.encode(), "apollo.md").owner == bob  # others may


def test_an_interrupted_ingestion_goes_back_to_the_queue(alice):
    document = upload(alice, samples.MARKDOWN.encode(), "apollo.md")
    Document.objects.filter(pk=document.pk).update(
        status="embedding",
        chunks_done=3,
        chunks_total=9,
        updated=timezone.now() - timedelta(minutes=10),
    )
    busy = upload(alice, samples.pdf(), "busy.pdf")
    Document.objects.filter(pk=busy.pk).update(status="indexing")

    requeued = tasks.requeue_interrupted(idle=timedelta(minutes=5))

    assert [d.pk for d in requeued] == [document.pk]
    document.refresh_from_db()
    assert document.status == "queued" and document.chunks_done == 0
    assert Document.objects.get(pk=busy.pk).status == "indexing"


def test_two_ingestions_of_one_document_at_once_leave_one_whole_version(alice):
    import asyncio

    document = upload(alice, samples.pdf(), "apollo.pdf")

    async def both():
        return await asyncio.gather(
            ingestion.aingest_document(document.pk), ingestion.aingest_document(document.pk)
        )

    outcomes = async_to_sync(both)()

    assert sorted(outcomes) == ["busy", "ready"]
    document.refresh_from_db()
    chunks = graph_chunks(document)
    assert document.status == "ready"
    assert len(chunks) == document.chunk_count == graph_chunk_count(document)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_a_document_being_ingested_is_not_queued_again(alice):
    document = upload(alice, samples.MARKDOWN.encode(), "apollo.md")
    Document.objects.filter(pk=document.pk).update(status="embedding", chunks_done=3)

    assert tasks.requeue(document) is False
    assert ingestion.ingest_document(document.pk) == "busy"
    document.refresh_from_db()
    assert (document.status, document.chunks_done) == ("embedding", 3)


def test_a_long_ingestion_keeps_its_document_fresh(alice, monkeypatch, settings):
    import time

    settings.INGEST_HEARTBEAT_SECONDS = 0.05
    document = upload(alice, samples.MARKDOWN.encode(), "apollo.md")
    real_split = ingestion.chunking.split
    seen = {}

    def slow_split(*args, **kwargs):  # a huge text; runs off the event loop
        started = Document.objects.get(pk=document.pk).updated
        time.sleep(0.5)
        seen["touched"] = Document.objects.get(pk=document.pk).updated - started
        return real_split(*args, **kwargs)

    monkeypatch.setattr(ingestion.chunking, "split", slow_split)

    assert ingestion.ingest_document(document.pk) == "ready"
    assert seen["touched"] > timedelta(seconds=0.3)


def test_sync_callers_and_worker_tasks_leave_no_connection_open(alice):
    import gc
    import os

    from retrieval.tasks import ingest_document_task

    document = upload(alice, b"Peregrine falcons nest on cliffs.", "falcons.txt")
    ingestion.ingest_document(document.pk)  # model, server and indexes are up from here on
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))

    for _ in range(4):
        assert ingestion.ingest_document(document.pk) == "ready"
        assert ingest_document_task.call(str(document.pk)) == "ready"
    gc.collect()

    assert len(os.listdir("/proc/self/fd")) <= before


def test_deleting_a_user_removes_their_documents_from_the_graph_and_disk(alice, bob):
    import os

    theirs = upload(alice, samples.pdf(), "apollo.pdf")
    kept = upload(bob, samples.pdf(), "apollo.pdf")
    ingestion.ingest_document(theirs.pk)
    ingestion.ingest_document(kept.pk)
    path = theirs.file.path

    alice.delete()  # one transaction: the store is left for the worker, after it

    assert not os.path.exists(path)
    assert graph_chunk_count(theirs) > 0
    call_command("worker", batch=True)
    assert graph_chunk_count(theirs) == 0
    assert graph_entities(theirs.owner_id) == []
    assert not os.path.exists(path)
    assert graph_chunk_count(kept) > 0


def test_an_email_becomes_ready_as_its_headers_and_decoded_text(alice):
    document = upload(alice, samples.email(), "sso-report")  # an attachment without extension

    status = ingestion.ingest_document(document.pk)

    document.refresh_from_db()
    assert status == "ready", document.error
    assert document.content_type == "message/rfc822"
    raw = "\n".join(c.text for c in graph_chunks(document))
    text = " ".join(raw.split())
    assert "Subject: Kite 3.0 beta — single sign-on failing for multi-role users" in text
    assert "they get “role mapping failed”" in text
    assert "=\n" not in raw and "=E2=80" not in raw  # no quoted-printable left
