"""How many questions an account may ask: per period on both endpoints, and at once.

The answers in progress are real streams from the ASGI application, held open
by a slow model server, so "at once" means what a reader sees.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.db.models.signals import post_save
from rest_framework.test import APIClient

from queries.models import Message
from queries.tests.conftest import bearer, post_stream, read_events
from tests.asgi import leaving_client, post_scope
from tests.openai_server import Reply

pytestmark = pytest.mark.django_db(transaction=True)  # the stream stores turns on a thread


def ask(headers: dict[str, str], endpoint: str = "/api/query/"):
    return APIClient().post(
        endpoint, {"query": "How fast do falcons dive?"}, format="json", **_meta(headers)
    )


def _meta(headers: dict[str, str]) -> dict[str, str]:
    return {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}


def stored_questions(user) -> int:
    return Message.objects.filter(conversation__owner=user, role="user").count()


async def test_questions_per_period_are_counted_across_both_endpoints(
    async_client, alice, bob, settings
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "query": (2, 60)}
    alice_auth, bob_auth = await sync_to_async(bearer)(alice), await sync_to_async(bearer)(bob)
    question = {"query": "How fast do falcons dive?"}

    first = await async_client.post("/api/query/", question, "application/json", headers=alice_auth)
    second = await post_stream(async_client, question, alice_auth)
    events, _ = await read_events(second)  # the answer runs to its end
    refused_json = await async_client.post(
        "/api/query/", question, "application/json", headers=alice_auth
    )
    refused_stream = await post_stream(async_client, question, alice_auth)

    assert (first.status_code, second.status_code, events[-1].event) == (200, 200, "done")
    for refused in (refused_json, refused_stream):
        assert refused.status_code == 429
        assert refused["Content-Type"].startswith("application/json")  # before any stream
        body = refused.json()
        assert body["code"] == "throttled"
        assert body["detail"].startswith("You have asked 2 questions in a minute")
        assert 1 <= int(refused["Retry-After"]) <= 60
    assert await sync_to_async(stored_questions)(alice) == 2  # a refused question stores nothing
    other = await async_client.post("/api/query/", question, "application/json", headers=bob_auth)
    assert other.status_code == 200  # per account


async def test_answers_in_progress_at_once_are_limited_and_a_place_frees_when_one_ends(
    alice, alice_falcons, openai_configured, settings
):
    from ragsite.asgi import application

    settings.MAX_STREAMS_PER_USER = 2
    for _ in range(3):
        openai_configured.replies.append(Reply([f"w{i} " for i in range(200)], delay=0.05))
    headers = await sync_to_async(bearer)(alice)
    body = json.dumps({"query": "How fast does a peregrine falcon dive?"}).encode()

    async def stream(left: asyncio.Event, answering: asyncio.Event, seen: list[dict]):
        async def send(message):
            seen.append(message)
            if b"event: token" in message.get("body", b""):
                answering.set()

        await application(post_scope(headers), leaving_client(body, left), send)

    readers = []
    for _ in range(2):
        left, answering, seen = asyncio.Event(), asyncio.Event(), []
        task = asyncio.create_task(stream(left, answering, seen))
        await asyncio.wait_for(answering.wait(), 20)
        readers.append((left, task))

    third_left, third_answering, third = asyncio.Event(), asyncio.Event(), []
    await asyncio.wait_for(stream(third_left, third_answering, third), 20)
    start, *parts = third
    refusal = json.loads(b"".join(p.get("body", b"") for p in parts))
    assert start["status"] == 429
    assert dict(start["headers"])[b"Retry-After"] == b"5"
    assert refusal["code"] == "throttled"
    assert refusal["detail"].startswith("You have 2 answers in progress")

    left, task = readers.pop()
    left.set()  # one reader leaves: its answer ends, interrupted
    await asyncio.wait_for(task, 20)
    fourth_left, fourth_answering, fourth = asyncio.Event(), asyncio.Event(), []
    fourth_task = asyncio.create_task(stream(fourth_left, fourth_answering, fourth))
    await asyncio.wait_for(fourth_answering.wait(), 20)
    assert fourth[0]["status"] == 200

    for left, task in [*readers, (fourth_left, fourth_task)]:
        left.set()
        await asyncio.wait_for(task, 20)
    assert await Message.objects.filter(answering_until__isnull=False).acount() == 0


async def test_a_reader_who_leaves_while_the_question_is_stored_frees_the_place(alice, settings):
    """The turn is stored, the stream never runs: the place is still given back."""
    from ragsite.asgi import application

    settings.MAX_STREAMS_PER_USER = 1
    loop = asyncio.get_running_loop()
    left = asyncio.Event()

    def leave(sender, created: bool, instance: Message, **kwargs) -> None:
        if created and instance.role == "assistant":  # its row is written: the reader goes
            loop.call_soon_threadsafe(left.set)

    headers = await sync_to_async(bearer)(alice)
    body = json.dumps({"query": "Anything?"}).encode()

    async def send(message):
        pass

    post_save.connect(leave, sender=Message, weak=False)
    try:
        await asyncio.wait_for(
            application(post_scope(headers), leaving_client(body, left), send), 20
        )
    finally:
        post_save.disconnect(leave, sender=Message)
    for _ in range(20):  # the place is given back on a thread of its own, a moment later
        await asyncio.sleep(0.25)
        if not await Message.objects.filter(answering_until__isnull=False).aexists():
            break

    replies = [m async for m in Message.objects.filter(role="assistant")]
    assert [(m.status, m.answering_until) for m in replies] == [("interrupted", None)]
    after = await sync_to_async(APIClient().post)(
        "/api/query/", {"query": "Anything?"}, format="json", **_meta(headers)
    )
    assert after.status_code == 200


def test_an_answer_left_running_by_a_killed_process_stops_counting_when_it_lapses(alice, settings):
    from django.utils import timezone

    settings.MAX_STREAMS_PER_USER = 1
    headers = bearer(alice)
    assert ask(headers).status_code == 200
    # What a process killed mid-answer leaves: a reply still marked as running.
    reply = Message.objects.get(role="assistant")
    Message.objects.filter(pk=reply.pk).update(
        answering_until=timezone.now() + timezone.timedelta(minutes=5)
    )
    assert ask(headers).status_code == 429

    Message.objects.filter(pk=reply.pk).update(answering_until=timezone.now())

    assert ask(headers).status_code == 200
