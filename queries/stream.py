"""POST /api/query/stream/: the answer as Server-Sent Events.

An async view (`ragsite.async_api` authenticates it as DRF would) that validates
with the same serializer as the JSON twin and answers every problem found
before the stream starts with a JSON 4xx. After the first byte, problems end
the stream with an `error` event.

Everything after the first event (rewriting a follow-up, retrieval, the
model's stream) runs in a task that feeds a queue; the response waits on the
queue, and a timer puts a keep-alive comment on it after a silence, so silence
never cancels the work (one timer per stream: a timeout around each wait cost
a tenth of the event loop under 300 streams). When the client goes away the
model's stream is closed as the server reports it (ragsite.departures); Django
cancels the response iterator, and the `finally` below cancels the task and
saves the partial answer as interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from queries import admission, answering, resume
from queries.api import QuerySerializer
from queries.models import Message
from queries.sse import KEEP_ALIVE, EventStreamResponse
from ragsite import db, departures
from ragsite.api_errors import invalid_fields
from ragsite.async_api import Caller, async_api_view, json_object
from retrieval.errors import RagError

logger = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 15.0
STREAM_FAILED = "The answer could not be completed. Please try again."
_DONE = object()
_KEEP_ALIVE = object()


class _Silence:
    """Puts _KEEP_ALIVE on an empty queue once nothing has come for `seconds`."""

    def __init__(self, queue: asyncio.Queue[Any], seconds: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue = queue
        self.seconds = seconds
        self.last = self.loop.time()
        self.timer = self.loop.call_at(self.last + seconds, self._check)

    def heard(self) -> None:
        self.last = self.loop.time()

    def _check(self) -> None:
        now = self.loop.time()
        if now - self.last >= self.seconds * 0.999 and self.queue.empty():
            self.queue.put_nowait(_KEEP_ALIVE)
            self.last = now
        self.timer = self.loop.call_at(max(self.last + self.seconds, now + 0.001), self._check)

    def stop(self) -> None:
        self.timer.cancel()


@async_api_view("POST", check_user_later=True)
async def query_stream(request: HttpRequest, user: Caller) -> HttpResponse:
    """The user's row is checked with the turn's rows, while the question's search
    runs (`answering.astart`): one trip to the database before the stream, not two."""
    received = time.perf_counter()
    payload = json_object(request)
    serializer = QuerySerializer(data=payload, context={"owner_id": user.pk})
    if payload.get("document_ids") is not None:  # only a document list reads the database
        valid = await db.in_thread(_checked_and_valid)(user, serializer)
    else:
        valid = serializer.is_valid()
    if not valid:
        return JsonResponse(invalid_fields(dict(serializer.errors)), status=400)
    question = serializer.question()
    question.received = received
    question.check_user = user.check
    slot = admission.admit()  # a full process says so before the stream starts
    answering.embed_ahead_of(question)  # its vectors are made while it waits for its place
    try:
        preparing = await admission.prepare()  # a process slow to prepare, too
    except BaseException:
        slot.release()
        raise
    try:
        state = await _start(question)  # an unknown conversation is still a JSON 404
    except BaseException:
        preparing.release()
        slot.release()
        raise

    def closed() -> None:
        preparing.release()
        slot.release()
        answering.release(state)

    # The places are freed when Django closes the response (in a thread): after the
    # answer ends, after its reader left, or without streaming at all (the
    # reader left first). The place among those being prepared is freed sooner,
    # once the passages are found.
    response = EventStreamResponse(answer_events(question, state, preparing), on_close=closed)
    response["X-Conversation-Id"] = str(state.conversation.pk)
    response["X-Message-Id"] = str(state.reply.pk)  # to resume it after a lost connection
    return response


def _checked_and_valid(user: Caller, serializer: QuerySerializer) -> bool:
    user.check()  # first: the documents named are the user's to ask about
    return serializer.is_valid()


@async_api_view("GET")
async def resume_stream(request: HttpRequest, user: Any, message_id: Any) -> HttpResponse:
    """GET /api/query/stream/<message id>/: the events of one of the caller's answers
    after the Last-Event-ID given, then the rest as it comes (queries/resume.py)."""
    reply = await db.in_thread(
        Message.objects.filter(pk=message_id, owner_id=user.pk, role=Message.Role.ASSISTANT).first
    )()
    if reply is None:
        raise answering.NotFound("That answer does not exist.")
    last = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    progress = resume.Progress.after(last)
    if progress.ended:  # nothing left: 204 tells an EventSource not to come back
        return HttpResponse(status=204)
    return EventStreamResponse(resume.resumed(reply, progress))


_letting_go: set[asyncio.Future[Any]] = set()


async def _start(question: answering.Question) -> answering.TurnState:
    """`answering.astart`, finished even if the reader leaves meanwhile; its turn then
    stays stored (interrupted) and stops counting as an answer in progress."""
    start = asyncio.ensure_future(answering.astart(question))
    try:
        return await asyncio.shield(start)
    except asyncio.CancelledError:
        start.add_done_callback(_let_go)
        raise


def _let_go(start: asyncio.Future[answering.TurnState]) -> None:
    if start.cancelled() or start.exception() is not None:
        return
    release = asyncio.ensure_future(db.after_request(answering.release)(start.result()))
    _letting_go.add(release)  # held until done: the loop keeps only weak references
    release.add_done_callback(_released)


def _released(release: asyncio.Future[None]) -> None:
    _letting_go.discard(release)
    if not release.cancelled() and release.exception() is not None:
        # The mark lapses on its own (queries/limits.py); nothing else is lost.
        logger.warning("could not free the place of a reader who left: %s", release.exception())


async def answer_events(
    question: answering.Question,
    state: answering.TurnState,
    preparing: admission.Slot,
) -> AsyncIterator[str]:
    status = Message.Status.INTERRUPTED
    departure = departures.current()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    producer: asyncio.Task[None] | None = None
    silence = _Silence(queue, KEEP_ALIVE_SECONDS)
    live = resume.begin(str(state.reply.pk))
    try:
        yield live.frame("status", {"stage": "retrieving"})
        producer = asyncio.create_task(_produce(question, state, queue, preparing))
        finished = False
        while not finished:
            item = await queue.get()
            silence.heard()
            if item is _KEEP_ALIVE:
                yield KEEP_ALIVE  # slow, not gone: keep waiting
                continue
            # Whatever else is waiting goes out in the same write: a fast model
            # then costs one send per batch instead of one per token.
            written = []
            while True:
                if item is _DONE:
                    finished = True
                    break
                if isinstance(item, BaseException):
                    if written:
                        yield "".join(written)
                    raise item
                if item is not _KEEP_ALIVE:
                    written.append(live.frame(*item))
                if queue.empty():
                    break
                item = queue.get_nowait()
            if written:
                yield "".join(written)
        status = Message.Status.COMPLETE
        message = await answering.afinish(state, status)
        yield live.frame(
            "done",
            {
                "conversation_id": str(state.conversation.pk),
                "message_id": str(message.pk),
                "finish_reason": state.info.finish_reason or "stop",
            },
        )
    except Exception as error:
        if departure is not None and departure.gone:
            return  # the model's stream was closed because its reader left: interrupted
        status = Message.Status.FAILED
        logger.exception("answer stream failed")
        safe = error.message if isinstance(error, RagError) else STREAM_FAILED
        code = error.code if isinstance(error, RagError) else "stream_failed"
        await _save(state, status)
        yield live.frame("error", {"message": safe, "code": code})
    finally:
        silence.stop()
        if producer is not None and not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await producer
        preparing.release()
        if status == Message.Status.INTERRUPTED:
            await asyncio.shield(_save(state, status))
        resume.end(str(state.reply.pk), live)


async def _produce(
    question: answering.Question,
    state: answering.TurnState,
    queue: asyncio.Queue[Any],
    preparing: admission.Slot,
) -> None:
    """Every step after the first event, as (event, data) pairs on the queue.

    Running retrieval here too (not only the model) lets the response send
    keep-alives while a follow-up is rewritten or a cold process loads its model.
    """
    try:
        try:
            passages = await answering.aretrieve_for(question, state)
        finally:
            preparing.release()  # what is left is the model's stream
        if passages:
            await queue.put(("citations", state.citations))
        await queue.put(("status", {"stage": "generating"}))
        async for text in answering.astream_tokens(question, state):
            await queue.put(("token", text))
        await queue.put(_DONE)
    except asyncio.CancelledError:
        # Cancelled by the response (nobody reads any more) or by something
        # else: either way the response must not wait for an item forever.
        queue.put_nowait(RuntimeError("the answer task was cancelled"))
        raise
    except Exception as error:
        await queue.put(error)


async def _save(state: answering.TurnState, status: str) -> None:
    try:
        await answering.afinish(state, status)
    except Exception:
        logger.exception("could not save the %s answer", status)
