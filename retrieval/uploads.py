"""Accept a file from a user: validate it, store it once, queue its ingestion.

Everything that can be judged without parsing is judged here, so a bad file
is refused at upload with a clear reason instead of becoming a failed row.
"""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import PurePosixPath
from typing import IO, Protocol

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction

from retrieval import parsing
from retrieval.errors import DuplicateDocument, FileTooLarge, UploadError
from retrieval.models import Document

MAX_FILENAME = 200


class Owner(Protocol):
    pk: int


def clean_filename(name: str) -> str:
    """The name as given, or UploadError if it could be used to attack a path or a page."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if not name:
        raise UploadError("The file has no name.", code="bad_filename")
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise UploadError("The file name must not contain / or \\.", code="bad_filename")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in name):
        raise UploadError("The file name contains control characters.", code="bad_filename")
    if len(name) > MAX_FILENAME:
        raise UploadError(
            f"The file name is longer than {MAX_FILENAME} characters.", code="bad_filename"
        )
    return name


def default_title(filename: str) -> str:
    stem = PurePosixPath(filename).stem or filename
    return " ".join(stem.replace("_", " ").split())[:255] or filename[:255]


def check_size(size: int) -> None:
    limit = settings.MAX_UPLOAD_MB * 1024 * 1024
    if size > limit:
        raise FileTooLarge(f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit.")
    if size == 0:
        raise UploadError("The file is empty.", code="empty_file")


def inspect_file(stream: IO[bytes], filename: str, size: int) -> tuple[str, str]:
    """Content type and sha256 of an upload; raises UploadError for anything refused."""
    check_size(size)
    stream.seek(0)
    head = stream.read(8192)
    content_type = parsing.sniff_content_type(head, filename)
    if content_type == parsing.DOCX:
        parsing.check_docx(stream)  # type: ignore[arg-type]
    stream.seek(0)
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(block)
    stream.seek(0)
    return content_type, digest.hexdigest()


def create_document(
    owner: Owner,
    stream: IO[bytes],
    filename: str,
    *,
    title: str | None = None,
    size: int | None = None,
    enqueue: bool = True,
) -> Document:
    """Store an upload for `owner` and queue it for ingestion (unless the caller ingests it)."""
    filename = clean_filename(filename)
    if size is None:
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(0)
    content_type, sha256 = inspect_file(stream, filename, size)
    existing = Document.objects.filter(owner_id=owner.pk, sha256=sha256).first()
    if existing is not None:
        raise _duplicate(existing)
    document = Document(
        owner_id=owner.pk,
        title=(title or "").strip()[:255] or default_title(filename),
        filename=filename,
        size=size,
        sha256=sha256,
        content_type=content_type,
    )
    try:
        with transaction.atomic():
            document.file.save(filename, File(stream, name=filename), save=False)
            document.save()
            if enqueue:
                transaction.on_commit(lambda: enqueue_ingestion(document))
    except IntegrityError:
        document.file.delete(save=False)
        existing = Document.objects.filter(owner_id=owner.pk, sha256=sha256).first()
        if existing is None:
            raise
        raise _duplicate(existing) from None
    except BaseException:
        document.file.delete(save=False)  # no file without its row
        raise
    return document


def _duplicate(existing: Document) -> DuplicateDocument:
    return DuplicateDocument(
        f"You have already uploaded this file as “{existing.title}”.",
        existing_id=str(existing.pk),
    )


def enqueue_ingestion(document: Document) -> None:
    from retrieval.tasks import ingest_document_task

    ingest_document_task.enqueue(str(document.pk))
