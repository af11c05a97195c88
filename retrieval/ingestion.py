"""The ingestion pipeline: a stored document becomes chunks, embeddings and entities.

Stages: parsing -> chunking -> embedding -> indexing (the graph store write) ->
ready, or failed with a reason a person can act on. Status is written with
UPDATE ... WHERE id (never save()), so a document deleted while it is being
ingested stays deleted. Queueing lives in `retrieval.tasks`; creating and
deleting documents in `retrieval.documents`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.utils import timezone

from retrieval import (
    attachments,
    child,
    chunking,
    embeddings,
    entities,
    entities_llm,
    ocr,
    parsing,
    summaries,
)
from retrieval.errors import IngestionError, RagError
from retrieval.graphstores import ChunkNode, DocumentNode, EntityNode, aget_store
from retrieval.loops import run_sync
from retrieval.models import Document

logger = logging.getLogger(__name__)

EMBED_BATCH = 64
# What a document is doing at each stage, as a stalled ingestion reports it.
STEPS = {
    Document.Status.PARSING: "reading its scanned pages by OCR",
    Document.Status.EMBEDDING: "embedding its passages",
    Document.Status.INDEXING: "writing it to the graph store",
}
UNEXPECTED_FAILURE = (
    "Something went wrong while processing this document. Try re-ingesting it; "
    "if it fails again, contact an administrator."
)

Status = Document.Status
ProgressHook = Callable[[str, int, int], Awaitable[None] | None]


async def _set(document_id: object, **fields: object) -> int:
    return await Document.objects.filter(pk=document_id).aupdate(updated=timezone.now(), **fields)


async def aingest_document(document_id: object, *, on_progress: ProgressHook | None = None) -> str:
    """Ingest one document; returns its final status. Never raises for bad content."""
    document = await Document.objects.filter(pk=document_id).afirst()
    if document is None:
        return "missing"

    watch = _Watch()

    async def report(stage: str, done: int, total: int) -> None:
        watch.moved(STEPS.get(stage, stage))
        await _set(document.pk, status=stage, chunks_done=done, chunks_total=total)
        if on_progress is not None:
            outcome = on_progress(stage, done, total)
            if asyncio.iscoroutine(outcome):
                await outcome

    # Claim it: one ingestion of a document at a time, or two runs would
    # interleave their chunk writes.
    claimed = (
        await Document.objects.filter(pk=document.pk)
        .exclude(status__in=Document.IN_PROGRESS)
        .aupdate(
            status=Status.PARSING,
            error="",
            chunks_done=0,
            chunks_total=0,
            updated=timezone.now(),
        )
    )
    if not claimed:
        logger.info("document %s is already being ingested", document.pk)
        return "busy"
    work = asyncio.create_task(_ingest_claimed(document, report, watch))
    heartbeat = asyncio.create_task(_heartbeat(document.pk, watch, work))
    try:
        return await work
    except asyncio.CancelledError:
        if not watch.stopped:
            raise
        message = (
            f"Processing this document stopped making progress ({watch.step}, nothing "
            f"moved for {settings.INGEST_STALL_SECONDS} s). Try re-ingesting it; if it "
            "stops again, contact an administrator."
        )
        logger.warning("document %s: %s", document.pk, message)
        await _set(document.pk, status=Status.FAILED, error=message)
        return Status.FAILED
    finally:
        heartbeat.cancel()


class _Watch:
    """When the ingestion last moved on, and what it is doing since."""

    def __init__(self) -> None:
        self.step = "reading the file"
        self.at = time.monotonic()
        self.stopped = False

    def moved(self, step: str) -> None:
        self.step = step
        self.at = time.monotonic()

    def still_for(self) -> float:
        return time.monotonic() - self.at


async def _heartbeat(document_id: object, watch: _Watch, work: asyncio.Task[str]) -> None:
    """Touch `updated` while the ingestion moves on; stop it once it has not for
    INGEST_STALL_SECONDS.

    A beat that only proved the worker alive would keep a hung step (a parser
    stuck in a loop, a call that never returns) "in progress" for ever; a beat
    that stops lets the document fail with its reason, or, if the whole worker
    is stuck, another worker take it over (`tasks.requeue_interrupted`).
    """
    stall = float(settings.INGEST_STALL_SECONDS)
    while True:
        until_stalled = stall - watch.still_for()
        await asyncio.sleep(max(0.0, min(settings.INGEST_HEARTBEAT_SECONDS, until_stalled)))
        if watch.still_for() >= stall:
            watch.stopped = True
            work.cancel()
            return
        await Document.objects.filter(pk=document_id, status__in=Document.IN_PROGRESS).aupdate(
            updated=timezone.now()
        )


async def _ingest_claimed(
    document: Document, report: Callable[[str, int, int], Awaitable[None]], watch: _Watch
) -> str:
    try:
        data = await asyncio.to_thread(_read, document)
        parsed = await asyncio.to_thread(
            child.run_limited,
            parsing.parse,
            data,
            document.content_type,
            seconds=settings.PARSE_TIMEOUT,
            memory_mb=settings.PARSE_MEMORY_MB,
            what="Reading this file",
        )
        if parsed.scanned:
            parsed = await _read_scans(document, data, parsed, report)
        watch.moved("splitting it into passages")
        # CPU work runs off the event loop, which keeps the heartbeat and
        # progress going (a 5 MiB text takes seconds to split and link).
        pieces = await asyncio.to_thread(chunking.split, parsed, document.content_type)
        if len(pieces) > settings.MAX_CHUNKS_PER_DOCUMENT:
            raise IngestionError(
                f"This document makes {len(pieces):,} passages, more than the "
                f"{settings.MAX_CHUNKS_PER_DOCUMENT:,} one document may have. Split it into "
                "smaller files.",
                code="too_many_chunks",
            )
        watch.moved("finding names in it")
        found = await _extract_entities(parsed)
        await _set(document.pk, pages=parsed.pages)

        total = len(pieces)
        await report(Status.EMBEDDING, 0, total)
        vectors: list[list[float]] = []
        for start in range(0, total, EMBED_BATCH):
            batch = [
                embedded_text(document, piece) for piece in pieces[start : start + EMBED_BATCH]
            ]
            vectors.extend(await with_retries(lambda b=batch: _embed(b)))
            await report(Status.EMBEDDING, len(vectors), total)

        watch.moved("summarising it")
        summary = await summaries.asummarise([p.text for p in pieces], vectors, _embed)
        owner = document.owner_id
        watch.moved("linking its passages to names")
        nodes = await asyncio.to_thread(_nodes, owner, pieces, vectors, found)

        async def write() -> None:
            await report(Status.INDEXING, 0, total)
            store = await aget_store()
            await store.write_document(
                DocumentNode(
                    id=str(document.pk),
                    owner_id=owner,
                    title=document.title,
                    filename=document.filename,
                    attached_to=str(document.attached_to_id) if document.attached_to_id else None,
                ),
                nodes,
                on_progress=lambda written: report(Status.INDEXING, written, total),
            )

        # All or nothing each time: a failed try leaves only staged chunks,
        # which the next try (or the next ingestion) clears before writing.
        await with_retries(write)
        store = await aget_store()
        updated = await _set(
            document.pk,
            status=Status.READY,
            chunks_done=total,
            chunks_total=total,
            chunk_count=total,
            ingested=timezone.now(),
            error="",
            summary=summary,
        )
        if not updated:  # deleted while we worked: take its chunks back out
            await store.delete_document(str(document.pk), owner)
            return "missing"
        if document.content_type in parsing.EMAILS | {parsing.PDF}:
            await asyncio.to_thread(attachments.file_attachments, document, data)
        return Status.READY
    except RagError as error:
        logger.info("document %s failed: %s", document.pk, error.message)
        await _set(document.pk, status=Status.FAILED, error=error.message)
        return Status.FAILED
    except Exception:
        logger.exception("document %s failed unexpectedly", document.pk)
        await _set(document.pk, status=Status.FAILED, error=UNEXPECTED_FAILURE)
        return Status.FAILED


async def _read_scans(
    document: Document,
    data: bytes,
    parsed: parsing.ParsedDocument,
    report: Callable[[str, int, int], Awaitable[None]],
) -> parsing.ParsedDocument:
    """The document with its scanned pages read by OCR, one child process a page.

    A page at a time keeps each under its own time limit and lets progress
    show (a 40-page scan takes minutes); every page moves the stall watch on.
    """
    tesseract = ocr.command()
    if tesseract is None:
        raise IngestionError(ocr.NOT_INSTALLED, code="ocr_unavailable")
    seconds = settings.OCR_PAGE_TIMEOUT
    total = len(parsed.scanned)
    read: dict[int, str] = {}
    for done, number in enumerate(parsed.scanned):
        await report(Status.PARSING, done, total)
        page = functools.partial(
            ocr.read_page, tesseract=tesseract, languages=settings.OCR_LANGUAGES, seconds=seconds
        )
        read[number] = await asyncio.to_thread(
            child.run_limited,
            page,
            data,
            document.content_type,
            number,
            seconds=seconds,
            memory_mb=settings.PARSE_MEMORY_MB,
            what=f"Reading page {number} by OCR",
        )
    await report(Status.PARSING, total, total)
    merged = ocr.merge(parsed, read)
    if not merged.segments:
        what = "picture" if document.content_type in parsing.IMAGES else "PDF"
        raise IngestionError(
            f"No text was found in this {what}, even by text recognition (OCR). If it "
            "does hold text, try a sharper scan or photo.",
            code="no_text",
        )
    return merged


def embedded_text(document: Document, piece: chunking.TextChunk) -> str:
    """What a passage's vector is made from: its document's title, then its text
    without an email's recipients and addresses.

    A passage rarely names the file it is in, but people do ("what does the
    checklist say", "the whiteboard photo"); with the title in its vector such
    a question finds the passage. The stored text stays the passage's own.
    """
    text = _ADDRESSES.sub("", _RECIPIENTS.sub("", piece.text))
    return f"{document.title}\n\n{text}" if document.title else text


# An email's recipients and addresses say little of what it is about, and in its
# passages' vectors they crowd out its words: the first passage of a reply to
# three people was 0.23 like "What did Faye offer to get the price to 21,000?",
# which it answers, 0.43 without them. The text, and its fulltext words, keep them.
_RECIPIENTS = re.compile(r"^(?:To|Cc|Bcc): .*(?:\n|$)", re.M)
_ADDRESSES = re.compile(r" ?<[^<>\s@]+@[^<>\s]+>")


async def with_retries[T](step: Callable[[], Awaitable[T]]) -> T:
    """Run `step`; when it fails in a way that may pass (a store or model outage),
    wait and run it again, INGEST_RETRIES times, doubling the pause from
    INGEST_RETRY_SECONDS. The last failure says what was tried."""
    started = time.monotonic()
    pause = float(settings.INGEST_RETRY_SECONDS)
    for attempt in range(1, settings.INGEST_RETRIES + 2):
        try:
            return await step()
        except RagError as error:
            if not error.retry:
                raise
            if attempt > settings.INGEST_RETRIES:
                waited = time.monotonic() - started
                raise type(error)(
                    f"{error.message} (Tried {attempt} times over {waited:.0f} s.)",
                    code=error.code,
                ) from error
            logger.warning("%s Trying again in %.0f s.", error.message, pause)
            await asyncio.sleep(pause)
            pause *= 2
    raise AssertionError("unreachable")


def ingest_document(document_id: object, *, on_progress: ProgressHook | None = None) -> str:
    return run_sync(aingest_document, document_id, on_progress=on_progress)


def _nodes(
    owner: int,
    pieces: list[chunking.TextChunk],
    vectors: list[list[float]],
    found: list[entities.Entity],
) -> list[ChunkNode]:
    """The chunks as the store takes them, each linked to the entities it names."""
    return [
        ChunkNode(
            index=piece.index,
            text=piece.text,
            page=piece.page,
            page_label=piece.page_label,
            ocr=piece.ocr,
            embedding=vector,
            entities=[
                EntityNode(key=f"{owner}:{entity.key}", name=entity.name, type=entity.type)
                for entity in entities.link(piece.text, found)
            ],
        )
        for piece, vector in zip(pieces, vectors, strict=True)
    ]


async def _embed(texts: list[str]) -> list[list[float]]:
    return await asyncio.to_thread(embeddings.embed_texts, texts)


def _read(document: Document) -> bytes:
    try:
        with document.file.open("rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise RagError(
            "The uploaded file is missing from storage. Upload it again.", code="file_missing"
        ) from None


async def _extract_entities(parsed: parsing.ParsedDocument) -> list[entities.Entity]:
    text = "\n\n".join(segment.text for segment in parsed.segments)
    if entities_llm.enabled():
        try:
            return await entities_llm.aextract(text)
        except Exception:
            logger.warning("LLM entity extraction failed; using the local extractor", exc_info=True)
    return await asyncio.to_thread(entities.extract, text)
