"""The life of a document: created from a checked upload, deleted everywhere at once.

A document row, its stored file and its part of the graph store come and go
together: a failed create leaves no file, and a delete clears the graph store
before the row, so a store that is down keeps the row and says so.
"""

from __future__ import annotations

from typing import IO, Protocol

from django.core.files import File
from django.db import IntegrityError, transaction

from retrieval import tasks, uploads
from retrieval.graphstores import aget_store
from retrieval.loops import run_sync
from retrieval.models import Document
from retrieval.uploads import CheckedUpload


class Owner(Protocol):
    pk: int


def create_document(
    owner: Owner,
    stream: IO[bytes],
    filename: str,
    *,
    title: str | None = None,
    size: int | None = None,
    enqueue: bool = True,
    checked: CheckedUpload | None = None,
    attached_to: Document | None = None,
) -> Document:
    """Store an upload for `owner` and queue it for ingestion (unless the caller ingests it).

    `checked` is the result of `uploads.check_upload` when the caller (a form)
    has already run the checks on this stream.
    """
    if checked is None:
        if size is None:
            stream.seek(0, 2)
            size = stream.tell()
            stream.seek(0)
        checked = uploads.check_upload(owner.pk, stream, filename, size)
    document = Document(
        owner_id=owner.pk,
        title=(title or "").strip()[:255] or uploads.default_title(checked.filename),
        filename=checked.filename,
        size=checked.size,
        sha256=checked.sha256,
        content_type=checked.content_type,
        attached_to=attached_to,
    )
    try:
        with transaction.atomic():
            document.file.save(checked.filename, File(stream, name=checked.filename), save=False)
            document.save()
    except IntegrityError:
        # The same file uploaded twice at once: the other upload won.
        document.file.delete(save=False)
        duplicate = uploads.duplicate_of(owner.pk, checked.sha256)
        if duplicate is None:
            raise
        raise duplicate from None
    except BaseException:
        document.file.delete(save=False)  # no file without its row
        raise
    if enqueue:  # once the row is committed (at once, or with the caller's transaction)
        transaction.on_commit(lambda: tasks.enqueue(document))
    return document


def delete_document(document: Document) -> None:
    """Remove a document everywhere: graph store, file, row.

    Outside a transaction (the API, the documents page) the graph store is
    cleared first, so a store that is down keeps the row and says so. Inside one
    (admin's delete, a cascade) the store is never called while the transaction
    holds the database: the row and file go with the transaction, and the
    chunks are left to the worker once it commits (see `clear_after_commit`).
    """
    if transaction.get_connection().in_atomic_block:
        clear_after_commit(document)
        document._graph_cleared = True  # type: ignore[attr-defined]  (see retrieval.signals)
        document.delete()
        return
    run_sync(adelete_graph, str(document.pk), document.owner_id)
    document.file.delete(save=False)
    document._graph_cleared = True  # type: ignore[attr-defined]
    document.delete()


def clear_after_commit(document: Document) -> None:
    """Once the current transaction commits, delete the document's file and have the
    worker delete its chunks (tried again while the store is down). Until they are
    gone, answers leave out chunks whose document no longer exists."""
    document_id, owner_id = str(document.pk), document.owner_id
    name, storage = document.file.name, document.file.storage
    transaction.on_commit(lambda: tasks.delete_graph_task.enqueue(document_id, owner_id))
    if name:
        transaction.on_commit(lambda: storage.delete(name))


async def adelete_graph(document_id: str, owner_id: int) -> None:
    store = await aget_store()
    await store.delete_document(document_id, owner_id)
