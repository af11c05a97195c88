"""Uploads refused before anything is stored, each with a reason a person understands."""

from __future__ import annotations

import io

import pytest

from retrieval import documents
from retrieval.errors import FileTooLarge, UnsupportedType, UploadError
from retrieval.models import Document
from retrieval.tests import samples

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../etc/passwd.txt", "must not contain"),
        ("folder\\notes.txt", "must not contain"),
        ("notes\x00.txt", "control characters"),
        ("report\n.pdf", "control characters"),
        ("evil\u202etxt.exe", "control characters"),
        ("", "no name"),
        ("a" * 250 + ".txt", "longer than"),
    ],
)
def test_a_dangerous_file_name_is_refused(alice, name, reason):
    with pytest.raises(UploadError) as refused:
        documents.create_document(alice, io.BytesIO(b"plain words"), name)
    assert reason in refused.value.message
    assert not Document.objects.exists()


def test_a_file_over_the_size_limit_is_refused(alice, settings):
    settings.MAX_UPLOAD_MB = 1
    big = io.BytesIO(b"word " * (1024 * 1024 // 5 + 10))

    with pytest.raises(FileTooLarge) as refused:
        documents.create_document(alice, big, "big.txt")

    assert refused.value.status == 413 and "1 MB" in refused.value.message
    assert not Document.objects.exists()


def test_an_empty_file_is_refused(alice):
    with pytest.raises(UploadError, match="empty"):
        documents.create_document(alice, io.BytesIO(b""), "empty.txt")


def test_an_unsupported_file_is_refused_with_415(alice):
    with pytest.raises(UnsupportedType) as refused:
        documents.create_document(alice, io.BytesIO(b"\x7fELF\x02\x01\x01" + bytes(64)), "x.pdf")
    assert refused.value.status == 415


def test_a_zip_bomb_is_refused_at_upload(alice):
    with pytest.raises(UploadError) as refused:
        documents.create_document(alice, io.BytesIO(samples.zip_bomb_docx()), "bomb.docx")
    assert refused.value.code == "zip_bomb"
    assert not Document.objects.exists()


def test_an_accepted_upload_is_queued_with_its_facts(alice, django_capture_on_commit_callbacks):
    data = samples.pdf()
    with django_capture_on_commit_callbacks(execute=True):
        document = documents.create_document(alice, io.BytesIO(data), "Apollo_Report.pdf")

    assert document.status == "queued"
    assert (document.title, document.filename, document.size) == (
        "Apollo Report",
        "Apollo_Report.pdf",
        len(data),
    )
    assert document.content_type == "application/pdf"
    assert document.file.read() == data
    assert "Apollo_Report" not in document.file.name  # stored under the row id only

    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(args_kwargs__args=[str(document.pk)]).exists()
