"""The ASGI handler: each request's sync work on a thread of its own, threads kept for the next."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_started
from django.db import close_old_connections, reset_queries

from ragsite.asgi_handler import ReusedThreadsASGIHandler, start_requests_on_the_loop

pytestmark = pytest.mark.django_db(transaction=True)


async def _get(handler: ReusedThreadsASGIHandler, path: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    talk = ApplicationCommunicator(handler, scope)
    await talk.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await talk.receive_output(10)
    while (await talk.receive_output(10)).get("more_body"):
        pass
    await talk.wait(10)
    return start["status"]


@pytest.fixture
def threads_seen():
    seen: list[threading.Thread] = []
    gate: list[threading.Barrier] = []

    def note(**kwargs):  # a sync receiver: Django runs it on the request's thread
        seen.append(threading.current_thread())
        if gate:
            gate[0].wait()

    request_started.connect(note, dispatch_uid="test-threads-seen")
    yield seen, gate
    request_started.disconnect(dispatch_uid="test-threads-seen")


async def test_requests_at_once_each_run_their_sync_work_on_a_thread_of_their_own(threads_seen):
    seen, gate = threads_seen
    handler = ReusedThreadsASGIHandler()
    # Each request's receiver waits for the other three: on one shared thread they never meet.
    gate.append(threading.Barrier(4, timeout=10))

    statuses = await asyncio.gather(*(_get(handler, "/no-such-page/") for _ in range(4)))

    assert statuses == [404] * 4
    assert len({id(thread) for thread in seen}) == 4


async def test_requests_one_after_another_reuse_a_thread_instead_of_starting_one(threads_seen):
    seen, _ = threads_seen
    handler = ReusedThreadsASGIHandler()

    for _ in range(10):
        assert await _get(handler, "/no-such-page/") == 404

    assert len(seen) == 10
    assert len({id(thread) for thread in seen}) == 1


@pytest.fixture
def djangos_start_receivers():
    """Django's receivers of request_started connected, as django.db connects them, before
    and after (a test that imported ragsite.asgi has left them out of this process)."""
    for receiver in (close_old_connections, reset_queries):
        request_started.connect(receiver)
    yield
    for receiver in (close_old_connections, reset_queries):
        request_started.connect(receiver)


def test_the_web_process_starts_a_request_without_a_trip_to_its_thread(
    djangos_start_receivers, settings
):
    settings.DEBUG = False
    assert request_started.has_listeners()  # Django's own, both sync

    assert start_requests_on_the_loop()

    assert not request_started.has_listeners()


@pytest.mark.parametrize("where", ["debug", "connections kept between requests"])
def test_djangos_work_at_a_request_start_stays_where_it_has_some(
    djangos_start_receivers, settings, where
):
    settings.DEBUG = where == "debug"
    if where == "connections kept between requests":
        settings.DATABASES = {
            name: {**database, "CONN_MAX_AGE": 60} for name, database in settings.DATABASES.items()
        }

    assert not start_requests_on_the_loop()

    assert request_started.has_listeners()
