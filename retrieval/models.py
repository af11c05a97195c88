"""The relational side of a document: who owns it, its file and its ingestion state.

The text, chunks, embeddings and entities live in the graph store; this row is
the source of truth for ownership and status, and what admin and the API list.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models


def upload_path(document: Document, filename: str) -> str:
    # The user's file name never touches the file system: only the row id and
    # a known extension do, so no name can escape MEDIA_ROOT.
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"documents/{document.owner_id}/{document.id}{suffix}"


class Document(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PARSING = "parsing", "Parsing"
        EMBEDDING = "embedding", "Embedding"
        INDEXING = "indexing", "Indexing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    IN_PROGRESS = (Status.PARSING, Status.EMBEDDING, Status.INDEXING)
    BUSY = (Status.QUEUED, *IN_PROGRESS)  # not settled yet: pages refresh while any is

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents"
    )
    title = models.CharField(max_length=255)
    filename = models.CharField("original file name", max_length=255)
    file = models.FileField(upload_to=upload_path, max_length=255)
    size = models.PositiveBigIntegerField("size in bytes", default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    content_type = models.CharField(max_length=100)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    chunks_done = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True, help_text="written when it is ingested")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)
    ingested = models.DateTimeField(null=True, blank=True)
    # A file that came attached to an email: it goes when the email goes.
    attached_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "sha256"], name="one_copy_per_owner"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_busy(self) -> bool:
        return self.status in self.BUSY

    @property
    def progress(self) -> int:
        """Percent of chunks written; 100 once ready."""
        if self.status == self.Status.READY:
            return 100
        if not self.chunks_total:
            return 0
        return min(99, self.chunks_done * 100 // self.chunks_total)
