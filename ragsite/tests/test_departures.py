"""A request's reader leaving closes what was registered, once, and only that."""

from __future__ import annotations

import asyncio
import logging

from ragsite.departures import Departure


def test_leaving_closes_what_is_open_and_what_opens_after_at_once():
    departure, closed = Departure(), []
    departure.on_leave(lambda: closed.append("first"))
    undo = departure.on_leave(lambda: closed.append("finished before"))
    undo()  # its stream ended normally: nothing to close
    departure.left()
    departure.left()  # a second disconnect message closes nothing twice
    departure.on_leave(lambda: closed.append("opened after"))
    assert departure.gone
    assert closed == ["first", "opened after"]


def test_one_closer_failing_does_not_keep_the_others_open(caplog):
    departure, closed = Departure(), []

    def broken() -> None:
        raise OSError("already closed")

    departure.on_leave(broken)
    departure.on_leave(lambda: closed.append("second"))
    with caplog.at_level(logging.ERROR):
        departure.left()
    assert closed == ["second"]
    assert "could not close" in caplog.text


def test_the_servers_disconnect_message_is_the_departure_and_is_passed_on():
    departure, closed = Departure(), []
    departure.on_leave(lambda: closed.append("model"))
    messages = iter([{"type": "http.request", "body": b""}, {"type": "http.disconnect"}])

    async def receive() -> dict:
        return next(messages)

    watched = departure.watching(receive)
    first = asyncio.run(watched())
    assert (first["type"], departure.gone, closed) == ("http.request", False, [])
    second = asyncio.run(watched())
    assert (second["type"], departure.gone, closed) == ("http.disconnect", True, ["model"])
