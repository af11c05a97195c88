"""Risky work in a child process: stopped when it hangs or eats memory, its own errors kept."""

from __future__ import annotations

import time

import pytest

from retrieval.child import run_limited
from retrieval.errors import IngestionError
from retrieval.parsing import MARKDOWN, parse


def hang(seconds: float) -> None:
    time.sleep(seconds)


def hog(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def test_a_parse_runs_in_the_child_and_gives_the_same_result():
    text = b"# Falcons\n\nPeregrine falcons nest on cliffs."

    parsed = run_limited(parse, text, MARKDOWN, seconds=60, memory_mb=1024, what="Reading")

    assert parsed == parse(text, MARKDOWN)


def test_work_that_hangs_is_stopped_at_its_time_limit():
    started = time.monotonic()
    with pytest.raises(IngestionError) as stopped:
        run_limited(hang, 60, seconds=1, memory_mb=1024, what="Reading this file")

    assert stopped.value.code == "too_slow"
    assert stopped.value.message.startswith("Reading this file took longer than 1 seconds")
    assert time.monotonic() - started < 10


def test_work_past_its_memory_limit_is_stopped_with_that_reason():
    assert run_limited(hog, 50, seconds=60, memory_mb=512, what="Reading") == 50 * 1024 * 1024

    with pytest.raises(IngestionError) as stopped:
        run_limited(hog, 2048, seconds=60, memory_mb=512, what="Reading this file")

    assert stopped.value.code == "too_large"
    assert "more than 512 MB of memory" in stopped.value.message


def test_the_parsers_own_refusal_reaches_the_caller_in_its_words():
    with pytest.raises(IngestionError) as refused:
        run_limited(
            parse,
            b"%PDF-1.7 not really",
            "application/pdf",
            seconds=60,
            memory_mb=1024,
            what="Reading",
        )

    assert refused.value.code != "too_slow" and "Traceback" not in refused.value.message


def crash() -> None:
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)  # as the kernel does to a process out of memory


def test_work_whose_process_dies_is_reported_and_not_waited_for():
    started = time.monotonic()
    with pytest.raises(IngestionError) as stopped:
        run_limited(crash, seconds=60, memory_mb=512, what="Reading this file")

    assert stopped.value.message.startswith("Reading this file stopped unexpectedly")
    assert time.monotonic() - started < 10
