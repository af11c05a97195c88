"""Server-rendered pages: sign-in, sign-up, the chat page shell."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_chat_page_needs_a_signed_in_user(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_chat_page_has_named_controls_and_a_csrf_cookie(client, alice):
    client.force_login(alice)
    response = client.get("/")
    page = response.content.decode()
    assert '<label for="question" class="visually-hidden">Ask a question</label>' in page
    assert ">Send</button>" in page and ">Stop</button>" in page
    assert '<label for="upload" class="button">Upload</label>' in page
    assert 'aria-live="polite"' in page
    assert "csrftoken" in response.cookies


def test_signing_in_and_out(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-pass-123"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_a_wrong_password_says_so(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert "do not match" in response.content.decode()


def test_sign_up_is_closed_by_default(client):
    assert client.get("/accounts/signup/").status_code == 404
    assert "Sign up" not in client.get("/accounts/login/").content.decode()


def test_sign_up_when_open_creates_the_account_and_signs_in(client, settings, django_user_model):
    settings.REGISTRATION_OPEN = True
    assert "Sign up" in client.get("/accounts/login/").content.decode()

    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "password1": "a-long-unusual-pass-42",
            "password2": "a-long-unusual-pass-42",
        },
    )

    assert response.status_code == 302
    assert django_user_model.objects.filter(username="carol").exists()
    assert client.get("/").status_code == 200


def _document(owner, name: str, **fields):
    import io

    from retrieval import documents
    from retrieval.models import Document

    document = documents.create_document(owner, io.BytesIO(name.encode() * 20), name, enqueue=False)
    if fields:
        Document.objects.filter(pk=document.pk).update(**fields)
    return document


def test_the_documents_page_lists_only_the_callers_documents_in_full(client, alice, bob):
    _document(alice, "falcons.txt", status="failed", error="The file is damaged.")
    _document(bob, "secret.txt")
    client.force_login(alice)

    page = client.get("/documents/").content.decode()

    assert "falcons.txt" in page and "The file is damaged." in page
    assert "secret.txt" not in page
    assert 'http-equiv="refresh"' not in page  # nothing in progress


def test_the_documents_page_pages_through_many_documents(client, alice):
    for n in range(53):
        _document(alice, f"report-{n:02}.txt")
    client.force_login(alice)

    first = client.get("/documents/").content.decode()
    second = client.get("/documents/?page=2").content.decode()

    assert first.count('class="danger"') == 50 and second.count('class="danger"') == 3
    assert "report-52.txt" in first and "report-00.txt" in second  # newest first
    assert "Page 1 of 2 (53 documents)" in first
    assert 'href="?page=2" rel="next"' in first
    assert 'href="?page=1" rel="prev"' in second


def test_the_documents_page_refreshes_while_a_document_is_processed(client, alice):
    _document(alice, "falcons.txt", status="embedding", chunks_done=2, chunks_total=4)
    client.force_login(alice)

    page = client.get("/documents/").content.decode()

    assert 'http-equiv="refresh"' in page
    assert '<progress max="100" value="50"' in page


def test_uploading_from_the_documents_page(client, alice, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from retrieval.models import Document

    client.force_login(alice)
    good = SimpleUploadedFile("notes.md", b"# Notes\n\nFalcons dive fast.")
    empty = SimpleUploadedFile("empty.txt", b"")

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/documents/", {"file": [good, empty]}, follow=True)

    page = response.content.decode()
    assert "notes.md is queued for processing." in page
    assert "empty.txt: The file is empty." in page
    assert list(Document.objects.values_list("filename", "status")) == [("notes.md", "queued")]


@pytest.mark.django_db(transaction=True)
def test_deleting_from_the_documents_page_asks_first(client, alice, bob):
    from retrieval.models import Document

    mine, theirs = _document(alice, "falcons.txt"), _document(bob, "secret.txt")
    client.force_login(alice)

    confirm = client.get(f"/documents/{mine.pk}/delete/").content.decode()
    assert "Delete “falcons”?" in confirm and Document.objects.filter(pk=mine.pk).exists()

    response = client.post(f"/documents/{mine.pk}/delete/", follow=True)
    assert "falcons.txt was deleted." in response.content.decode()
    assert not Document.objects.filter(pk=mine.pk).exists()

    assert client.get(f"/documents/{theirs.pk}/delete/").status_code == 404
    assert client.post(f"/documents/{theirs.pk}/delete/").status_code == 404
    assert Document.objects.filter(pk=theirs.pk).exists()
