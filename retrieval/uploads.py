"""Judge an uploaded file before anything is stored: one set of checks for every way in.

The API, the documents page, admin and `manage.py ingest` all call
`check_upload`, so a bad file gets the same clear reason wherever it arrives,
and nothing is judged twice (the file is read and hashed once). The owner's
quotas (documents, bytes) are checked last, so a duplicate still says so.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from django.conf import settings
from django.db.models import Count, Sum

from retrieval import parsing
from retrieval.errors import DuplicateDocument, FileTooLarge, QuotaExceeded, UploadError
from retrieval.models import Document

MAX_FILENAME = 200
# A multipart body carries the file plus its headers and boundaries.
MULTIPART_ALLOWANCE = 1024 * 1024


@dataclass(frozen=True)
class CheckedUpload:
    """What the checks learned about a file that passed them."""

    filename: str
    size: int
    content_type: str
    sha256: str


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


def check_size(size: int, *, allowance: int = 0) -> None:
    """FileTooLarge past MAX_UPLOAD_MB (plus `allowance` bytes of framing); empty is refused."""
    if size > settings.MAX_UPLOAD_MB * 1024 * 1024 + allowance:
        raise FileTooLarge(f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit.")
    if size == 0:
        raise UploadError("The file is empty.", code="empty_file")


def check_upload(owner_id: int, stream: IO[bytes], filename: str, size: int) -> CheckedUpload:
    """Everything that can be judged without parsing; UploadError (or a subclass) if refused."""
    filename = clean_filename(filename)
    check_size(size)
    stream.seek(0)
    content_type = parsing.sniff_content_type(stream.read(8192), filename)
    if content_type == parsing.DOCX:  # an Office zip: Word, Excel or PowerPoint
        content_type = parsing.check_office(stream)  # type: ignore[arg-type]
    elif content_type == parsing.OLE:  # an Office 97-2003 file: only .xls is read
        content_type = parsing.check_ole(stream)  # type: ignore[arg-type]
    stream.seek(0)
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(block)
    stream.seek(0)
    checked = CheckedUpload(filename, size, content_type, digest.hexdigest())
    duplicate = duplicate_of(owner_id, checked.sha256)
    if duplicate is not None:
        raise duplicate
    check_quota(owner_id, size)
    return checked


def check_quota(owner_id: int, size: int) -> None:
    """QuotaExceeded when one more file of `size` bytes would pass the owner's quotas."""
    most, megabytes = settings.MAX_DOCUMENTS_PER_USER, settings.MAX_STORAGE_MB_PER_USER
    if not most and not megabytes:
        return
    held = Document.objects.filter(owner_id=owner_id).aggregate(
        count=Count("pk"), bytes=Sum("size")
    )
    if most and held["count"] >= most:
        raise QuotaExceeded(
            f"Your account holds {held['count']:,} documents, the most it may. "
            "Delete some to upload more."
        )
    used = held["bytes"] or 0
    if megabytes and used + size > megabytes * 1024 * 1024:
        raise QuotaExceeded(
            f"This file would take your documents past the {megabytes:,} MB your account "
            f"may store (they take {used / 1024 / 1024:,.1f} MB). Delete some to upload more."
        )


def duplicate_of(owner_id: int, sha256: str) -> DuplicateDocument | None:
    """The error for a file this owner has already uploaded; None for a new one."""
    existing = Document.objects.filter(owner_id=owner_id, sha256=sha256).first()
    if existing is None:
        return None
    return DuplicateDocument(
        f"This file is already uploaded as “{existing.title}”.", existing_id=str(existing.pk)
    )
