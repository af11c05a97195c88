"""One question-and-answer turn: conversation, retrieval, generation, persistence.

Both query endpoints (JSON and SSE) go through here, so they answer the same way.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from queries import comparison, generation, limits
from queries.citations import MarkerFilter
from queries.generation import StreamInfo, Turn
from queries.models import Conversation, Message
from queries.snippets import snippet
from queries.sse import LineEndings
from ragsite import db
from retrieval.errors import RagError
from retrieval.models import Document
from retrieval.questions import asks_to_compare
from retrieval.search import Passage, aretrieve, embed_ahead
from retrieval.trace import Trace

HISTORY_TURNS = 6


class NotFound(RagError, code="not_found", status=404):
    pass


@dataclass
class Question:
    owner_id: int
    query: str
    max_results: int = 5
    conversation_id: uuid.UUID | None = None
    document_ids: list[uuid.UUID] | None = None
    compare: bool = False  # search each of document_ids on its own
    received: float = field(default_factory=time.perf_counter)  # for the answer's timings
    # The asker's user row still to check (ragsite.async_api.Caller), with the turn's.
    check_user: Callable[[], None] | None = None


@dataclass
class TurnState:
    """What a turn has produced so far (so an interrupted one can still be saved)."""

    conversation: Conversation
    history: list[Turn]
    reply: Message  # the answer's row, stored as interrupted until the turn ends
    standalone: str = ""
    passages: list[Passage] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)  # of the passages
    answer: str = ""
    info: StreamInfo = field(default_factory=StreamInfo)
    # A new conversation's search, begun while the turn's rows were written.
    search: asyncio.Future[list[Passage]] | None = None
    trace: Trace = field(default_factory=Trace)


def citation(number: int, passage: Passage, question: str = "") -> dict[str, Any]:
    """A passage as its answer cites it, with the stretch of it that bears on `question`."""
    return {
        "n": number,
        "document_id": passage.document_id,
        "filename": passage.filename,
        "chunk_id": passage.chunk_id,
        "page": passage.page,
        "page_label": passage.page_label,
        "chunk_text": snippet(passage.text, question),
        "relevance_score": passage.score,
        "ocr": passage.ocr,
    }


def citations(passages: Sequence[Passage], question: str = "") -> list[dict[str, Any]]:
    return [citation(n, p, question) for n, p in enumerate(passages, start=1)]


def embed_ahead_of(question: Question) -> None:
    """Start what the question's search needs first (its vectors), when it is known
    that the question is searched as asked: a new conversation's (a follow-up is
    rewritten first)."""
    if question.conversation_id is None:
        embed_ahead(question.query)


async def astart(question: Question) -> TurnState:
    """Find or start the conversation; store the question and its answer, interrupted so far.

    Only quick database work: the stream runs this before its first byte, so
    that an unknown conversation is still a plain 404. The three rows are one
    transaction in a thread of its own, which finishes even when the client
    leaves meanwhile: a turn is stored whole or not at all, and whatever ends it
    (the answer's end, a failure, a client gone, a killed process) finds an
    answer row to leave as it is or to complete.

    A new conversation's question is searched as asked, so its search runs while
    the rows are written (`aretrieve_for` takes it up); a question refused by a
    limit drops it.
    """
    trace = Trace(started=question.received)
    search = None
    if question.conversation_id is None:
        search = asyncio.ensure_future(_passages(question, question.query, trace))
        search.add_done_callback(_consumed)
    try:
        with trace.step("turn stored"):
            state = await db.in_thread(_start)(question)
    except BaseException:
        if search is not None:
            search.cancel()
        raise
    state.search = search
    state.trace = trace
    return state


def _consumed(search: asyncio.Future[list[Passage]]) -> None:
    """A search nobody takes up (its reader left first) fails quietly: the reader of
    a search taken up meets its error there."""
    if not search.cancelled():
        search.exception()


def _start(question: Question) -> TurnState:
    with transaction.atomic():
        if question.check_user is not None:
            question.check_user()  # a token that no longer counts stores nothing
        limits.check(question.owner_id)  # a question past a limit stores nothing
        if question.conversation_id is not None:
            conversation = Conversation.objects.filter(
                pk=question.conversation_id, owner_id=question.owner_id
            ).first()
            if conversation is None:
                raise NotFound("That conversation does not exist.")
            earlier = conversation.messages.exclude(text="").order_by("-created")[:HISTORY_TURNS]
            history = [Turn(role=m.role, text=m.text) for m in earlier][::-1]
        else:
            conversation = Conversation.objects.create(
                owner_id=question.owner_id, title=" ".join(question.query.split())[:200]
            )
            history = []
        Message.objects.create(
            conversation=conversation,
            owner_id=question.owner_id,
            role=Message.Role.USER,
            text=question.query,
        )
        reply = Message.objects.create(
            conversation=conversation,
            owner_id=question.owner_id,
            role=Message.Role.ASSISTANT,
            status=Message.Status.INTERRUPTED,
            finish_reason="interrupted",
            answering_until=limits.answering_until(),
        )
    return TurnState(conversation=conversation, history=history, reply=reply)


async def aretrieve_for(question: Question, state: TurnState) -> list[Passage]:
    """Rewrite a follow-up into a standalone question (maybe an LLM call), then search."""
    trace = state.trace
    if state.history:
        with trace.step("question rewritten"):
            state.standalone = await generation.standalone_question(question.query, state.history)
    else:
        state.standalone = question.query
    begun, state.search = state.search, None
    if begun is not None and state.standalone == question.query:
        state.passages = await begun
    else:
        if begun is not None:
            begun.cancel()
            trace.clear_searches()
        state.passages = await _passages(question, state.standalone, trace)
    trace.mark("passages found")
    state.citations = citations(state.passages, state.standalone)
    return state.passages


async def _passages(question: Question, query: str, trace: Trace) -> list[Passage]:
    chosen = [str(d) for d in question.document_ids] if question.document_ids is not None else None

    async def existing(documents: set[str]) -> set[str]:
        return await db.in_thread(_existing)(question.owner_id, documents)

    async def search(document_ids: list[str] | None, max_results: int) -> list[Passage]:
        return await aretrieve(
            question.owner_id,
            query,
            max_results=max_results,
            document_ids=document_ids,
            trace=trace,
            existing=existing,  # a document deleted a moment ago may still have chunks
        )

    compared = None
    if question.compare or asks_to_compare(query):
        compared = await db.in_thread(comparison.documents_to_compare)(
            question.owner_id, query, chosen, question.compare
        )
    with trace.step("retrieval"):
        if compared:
            trace.compared = compared
            passages = await comparison.each_document(compared, question.max_results, search)
        else:
            passages = await search(chosen, question.max_results)
    trace.keep([p.chunk_id for p in passages])
    return passages


def _existing(owner_id: int, document_ids: set[str]) -> set[str]:
    found = Document.objects.filter(owner_id=owner_id, pk__in=document_ids)
    return {str(pk) for pk in found.values_list("pk", flat=True)}


async def astream_tokens(question: Question, state: TurnState):
    """Answer text as it is generated, with invented [n] markers removed."""
    markers = MarkerFilter(len(state.passages))
    lines = LineEndings()  # so the saved answer is the text clients receive
    state.trace.mark("model asked")
    async for text in generation.stream_answer(
        question.query,
        state.passages,
        state.history,
        info=state.info,
        compared=bool(state.trace.compared),
    ):
        safe = markers.feed(lines.feed(text))
        if safe:
            state.trace.mark("first token")
            state.answer += safe
            yield safe
    rest = markers.flush()
    if rest:
        state.answer += rest
        yield rest


async def afinish(state: TurnState, status: str) -> Message:
    """Store how the answer ended: its text so far, its status and its sources."""
    reply = state.reply
    reply.text = state.answer
    reply.status = status
    reply.citations = state.citations
    reply.finish_reason = state.info.finish_reason or (
        "interrupted" if status == Message.Status.INTERRUPTED else ""
    )
    reply.answering_until = None
    state.trace.mark("answer ended")
    reply.trace = state.trace.as_dict()
    await db.in_thread(_finish)(reply, state.conversation.pk)
    return reply


def release(state: TurnState) -> None:
    """For a response's close (sync): a turn whose stream never ran stops counting as
    an answer in progress. Its row stays as stored: interrupted, without text."""
    if state.reply.answering_until is not None:
        state.reply.answering_until = None
        Message.objects.filter(pk=state.reply.pk).update(answering_until=None)


def _finish(reply: Message, conversation_id: uuid.UUID) -> None:
    with transaction.atomic():
        reply.save(
            update_fields=[
                "text",
                "status",
                "citations",
                "finish_reason",
                "answering_until",
                "trace",
            ]
        )
        Conversation.objects.filter(pk=conversation_id).update(updated=timezone.now())


async def aanswer(question: Question) -> dict[str, Any]:
    """The whole answer at once (the JSON endpoint)."""
    state = await astart(question)
    try:
        await aretrieve_for(question, state)
        async for _ in astream_tokens(question, state):
            pass
    except Exception:
        await afinish(state, Message.Status.FAILED)
        raise
    message = await afinish(state, Message.Status.COMPLETE)
    return {
        "answer": state.answer,
        "citations": state.citations,
        "conversation_id": str(state.conversation.pk),
        "message_id": str(message.pk),
    }
