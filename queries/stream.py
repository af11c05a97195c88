"""POST /api/query/stream/: the answer as Server-Sent Events.

A plain async Django view (DRF has no async views): it authenticates like the
API does (JWT bearer token, or the session with its CSRF token), validates
with the same serializer as the JSON twin, and answers every problem found
before the stream starts with a JSON 4xx. After the first byte, problems end
the stream with an `error` event.

Everything after the first event (rewriting a follow-up, retrieval, the
model's stream) runs in a task that feeds a queue; the response waits on the
queue with a timeout only to send keep-alive comments, so silence never
cancels the work. When the client goes away Django cancels the response
iterator; the `finally` below cancels the task, which closes the model's
stream, and saves the partial answer as interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authentication import CSRFCheck
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from queries import answering
from queries.api import QuerySerializer
from queries.models import Message
from queries.sse import KEEP_ALIVE, event
from ragsite.api_errors import (
    CSRF_FAILED,
    NOT_JSON,
    allow,
    invalid_fields,
    json_error,
    plain_words,
    rag_error_body,
)
from retrieval.errors import RagError

logger = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 15.0
STREAM_FAILED = "The answer could not be completed. Please try again."
_DONE = object()


async def authenticate(request: HttpRequest) -> tuple[Any, HttpResponse | None]:
    """The user, or a JSON error response saying why there is none."""
    if request.headers.get("Authorization"):
        try:
            found = await sync_to_async(JWTAuthentication().authenticate)(request)
        except AuthenticationFailed as error:
            detail = error.detail
            message = detail.get("detail", detail) if isinstance(detail, dict) else detail
            code = (
                detail.get("code", "authentication_failed")
                if isinstance(detail, dict)
                else getattr(detail, "code", "authentication_failed")
            )
            return None, _unauthorized(*plain_words(error, str(message), str(code)))
        if found is None:
            return None, _unauthorized(
                "Use an Authorization: Bearer <access token> header.", "not_authenticated"
            )
        return found[0], None
    user = await request.auser()
    if not user.is_authenticated:
        return None, _unauthorized(
            "Authentication credentials were not provided.", "not_authenticated"
        )
    check = CSRFCheck(lambda req: HttpResponse())
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason is not None:
        return None, json_error(CSRF_FAILED, "csrf_failed", 403)
    return user, None


def _unauthorized(detail: str, code: str) -> HttpResponse:
    response = json_error(detail, code, 401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


class EventStreamResponse(StreamingHttpResponse):
    """A streaming response that closes its event generator itself.

    Django closes only its own wrappers when the client goes away; the events
    generator inside would wait for the garbage collector, and with it the
    model's stream and the save of the partial answer. Daphne happens to cancel
    at a point where that does not matter; servers that block in send() do not.
    """

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async with contextlib.aclosing(self._iterator) as parts:
            async for part in parts:
                yield self.make_bytes(part)


@csrf_exempt
@allow("POST")
async def query_stream(request: HttpRequest) -> HttpResponse:
    user, refusal = await authenticate(request)
    if refusal is not None:
        return refusal
    if request.content_type != "application/json":
        return json_error(
            "Send the question as JSON with Content-Type: application/json.",
            "unsupported_media_type",
            415,
        )
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return json_error(NOT_JSON, "parse_error", 400)
    if not isinstance(payload, dict):
        return json_error("The request body must be a JSON object.", "parse_error", 400)
    serializer = QuerySerializer(data=payload, context={"owner_id": user.pk})
    if not await sync_to_async(serializer.is_valid)():
        return JsonResponse(invalid_fields(dict(serializer.errors)), status=400)
    question = serializer.question()
    try:
        state = await answering.astart(question)
    except RagError as error:
        return json_error(**rag_error_body(error), status=error.status)

    response = EventStreamResponse(
        answer_events(question, state), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    response["X-Conversation-Id"] = str(state.conversation.pk)
    return response


async def answer_events(
    question: answering.Question, state: answering.TurnState
) -> AsyncIterator[str]:
    status = Message.Status.INTERRUPTED
    queue: asyncio.Queue[Any] = asyncio.Queue()
    producer: asyncio.Task[None] | None = None
    try:
        yield event("status", {"stage": "retrieving"})
        producer = asyncio.create_task(_produce(question, state, queue))
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
            except TimeoutError:
                yield KEEP_ALIVE  # slow, not gone: keep waiting
                continue
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            yield event(*item)
        status = Message.Status.COMPLETE
        message = await answering.afinish(state, status)
        yield event(
            "done",
            {
                "conversation_id": str(state.conversation.pk),
                "message_id": str(message.pk),
                "finish_reason": state.info.finish_reason or "stop",
            },
        )
    except Exception as error:
        status = Message.Status.FAILED
        logger.exception("answer stream failed")
        safe = error.message if isinstance(error, RagError) else STREAM_FAILED
        code = error.code if isinstance(error, RagError) else "stream_failed"
        await _save(state, status)
        yield event("error", {"message": safe, "code": code})
    finally:
        if producer is not None and not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await producer
        if status == Message.Status.INTERRUPTED:
            await asyncio.shield(_save(state, status))


async def _produce(
    question: answering.Question, state: answering.TurnState, queue: asyncio.Queue[Any]
) -> None:
    """Every step after the first event, as (event, data) pairs on the queue.

    Running retrieval here too (not only the model) lets the response send
    keep-alives while a follow-up is rewritten or a cold process loads its model.
    """
    try:
        passages = await answering.aretrieve_for(question, state)
        if passages:
            await queue.put(("citations", answering.citations(passages)))
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
