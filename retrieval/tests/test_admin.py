"""Staff upload, watch, re-ingest and delete documents in Django admin; the real worker ingests."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command

from retrieval.graphstores import aget_store
from retrieval.models import Document
from retrieval.tests import samples
from tests import graph

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CHANGELIST = "/admin/retrieval/document/"


def run_worker() -> None:
    call_command("worker", batch=True, recover_after=3600)


def graph_document_ids(owner_id: int) -> list[str]:
    async def read():
        return await graph.stored_document_ids(await aget_store(), owner_id)

    return async_to_sync(read)()


def admin_upload(client, owner, name: str, data: bytes, title: str = ""):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        f"{CHANGELIST}add/",
        {"owner": owner.pk, "title": title, "upload": SimpleUploadedFile(name, data)},
        follow=True,
    )


def row_of(page: str, title: str) -> str:
    for row in re.findall(r"<tr>.*?</tr>", page, re.S):
        if f">{title}</span></a>" in row:
            return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
    raise AssertionError(f"{title} not listed")


def test_an_uploaded_pdf_is_listed_queued_then_ready_with_progress(client, admin_user, alice):
    client.force_login(admin_user)

    response = admin_upload(client, alice, "apollo.pdf", samples.pdf(), title="Apollo facts")

    assert response.status_code == 200
    assert "Queued" in row_of(response.content.decode(), "Apollo facts")
    assert 'http-equiv="refresh"' in response.content.decode()  # the list follows progress

    run_worker()

    page = client.get(CHANGELIST).content.decode()
    row = row_of(page, "Apollo facts")
    document = Document.objects.get(title="Apollo facts")
    assert "Ready" in row and f"{document.chunk_count} chunks" in row and "alice" in row
    assert "apollo.pdf" in row and "3 pages" in row
    assert graph_document_ids(alice.pk) == [str(document.pk)]
    assert 'http-equiv="refresh"' not in page


def test_a_refused_file_shows_the_reason_on_the_form(client, admin_user, alice):
    client.force_login(admin_user)

    response = admin_upload(client, alice, "tool.txt", b"\x7fELF\x02\x01\x01\x00\x00\x00")

    assert "This kind of file is not supported" in response.content.decode()
    assert not Document.objects.exists()


def test_a_failed_document_shows_its_reason_in_the_list(client, admin_user, alice):
    client.force_login(admin_user)
    admin_upload(client, alice, "blank.pdf", samples.blank_pdf())

    run_worker()

    row = row_of(client.get(CHANGELIST).content.decode(), "blank")
    assert "Failed" in row and "only blank pages" in row


def test_the_same_file_twice_for_one_owner_is_refused(client, admin_user, alice):
    client.force_login(admin_user)
    admin_upload(client, alice, "apollo.md", samples.MARKDOWN.encode())

    response = admin_upload(client, alice, "again.md", samples.MARKDOWN.encode())

    assert "already uploaded as “apollo”" in response.content.decode()
    assert Document.objects.count() == 1


def test_reingest_action_queues_and_the_worker_replaces_chunks(client, admin_user, alice):
    client.force_login(admin_user)
    admin_upload(client, alice, "apollo.md", samples.MARKDOWN.encode())
    run_worker()
    document = Document.objects.get()

    response = client.post(
        CHANGELIST, {"action": "reingest", "_selected_action": [document.pk]}, follow=True
    )
    assert "1 document(s) queued" in response.content.decode()
    assert Document.objects.get().status == "queued"
    run_worker()

    document.refresh_from_db()
    assert document.status == "ready"
    assert graph_document_ids(alice.pk) == [str(document.pk)]


def test_deleting_in_admin_removes_the_document_from_the_graph(client, admin_user, alice):
    client.force_login(admin_user)
    admin_upload(client, alice, "apollo.md", samples.MARKDOWN.encode())
    run_worker()
    document = Document.objects.get()

    client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [document.pk], "post": "yes"},
    )

    assert not Document.objects.exists()
    assert graph_document_ids(alice.pk) == []


def test_non_staff_cannot_reach_the_documents_admin(client, alice):
    client.force_login(alice)
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
