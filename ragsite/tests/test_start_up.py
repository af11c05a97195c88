"""The web process at start: models loaded in the background, then what start-up made is
frozen out of the garbage collector's full collections (their pauses delayed tokens)."""

from __future__ import annotations

import gc
import threading

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _after_warm_up(settings, freeze: bool) -> int:
    from ragsite import asgi  # starts its warm-up thread, as a server's start does

    for thread in threading.enumerate():
        if thread.name == "embeddings-warm-up":
            thread.join(120)
    settings.FREEZE_START_UP_OBJECTS = freeze
    try:
        asgi._warm_up()
        return gc.get_freeze_count()
    finally:
        gc.unfreeze()  # the rest of the test run collects as before


def test_start_up_objects_are_frozen_once_the_models_are_loaded(settings):
    assert _after_warm_up(settings, freeze=True) > 50_000  # Django, the models, their libraries


def test_a_process_that_is_not_a_server_keeps_collecting_everything(settings):
    assert _after_warm_up(settings, freeze=False) == 0
