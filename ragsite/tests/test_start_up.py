"""The web process at start: models loaded in the background, then what start-up made is
frozen out of the garbage collector's full collections and the collector runs less
often (its passes over live answers delayed tokens); tasks start eagerly."""

from __future__ import annotations

import gc
import threading

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _after_warm_up(settings, server: bool) -> tuple[int, tuple[int, ...]]:
    from ragsite import asgi  # starts its warm-up thread, as a server's start does

    for thread in threading.enumerate():
        if thread.name == "embeddings-warm-up":
            thread.join(120)
    settings.SERVER_COLLECTOR = server
    thresholds = gc.get_threshold()
    try:
        asgi._warm_up()
        return gc.get_freeze_count(), gc.get_threshold()
    finally:
        gc.unfreeze()  # the rest of the test run collects as before
        gc.set_threshold(*thresholds)


def test_a_server_freezes_what_start_up_made_and_collects_less_often(settings):
    from ragsite import asgi

    frozen, thresholds = _after_warm_up(settings, server=True)
    assert frozen > 50_000  # Django, the models, their libraries
    assert thresholds == asgi.COLLECTOR_THRESHOLDS
    assert thresholds[0] > 700  # Python's default


def test_a_process_that_is_not_a_server_keeps_collecting_everything(settings):
    from ragsite import asgi

    frozen, thresholds = _after_warm_up(settings, server=False)
    assert frozen == 0
    assert thresholds != asgi.COLLECTOR_THRESHOLDS


async def test_a_server_that_loads_the_application_on_its_loop_gets_eager_tasks():
    import asyncio

    from ragsite import eager_tasks

    loop = asyncio.get_running_loop()
    factory = loop.get_task_factory()
    ran: list[str] = []

    async def first_steps() -> None:
        ran.append("started")
        await asyncio.sleep(0)

    try:
        eager_tasks.install_on_running_loop()
        task = asyncio.ensure_future(first_steps())
        assert ran == ["started"]  # before a turn of the loop
        await task
    finally:
        loop.set_task_factory(factory)
