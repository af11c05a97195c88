"""How many answers one web process streams at once.

Past the limit a question is turned away before its stream starts, with a 503
and Retry-After, so that a reader gets a clear answer to retry rather than a
stream that stalls or fails halfway because the process is overloaded. The
count lives in the process (one event loop): more processes behind one
address each take their own share.
"""

from __future__ import annotations

import threading

from django.conf import settings

from ragsite.async_api import Refusal

FULL = "The server is answering as many questions as it can right now. Please try again shortly."
RETRY_AFTER_SECONDS = 2

_open = 0
_lock = threading.Lock()  # a response's close() may release from a worker thread


class Slot:
    """One answer in progress; `release` may be called any number of times."""

    def __init__(self) -> None:
        self._held = True

    def release(self) -> None:
        global _open
        with _lock:
            if self._held:
                self._held = False
                _open -= 1


def admit() -> Slot:
    """A slot for one more answer, or a Refusal (503, Retry-After) when all are taken."""
    global _open
    with _lock:
        if _open < settings.MAX_STREAMS:
            _open += 1
            return Slot()
    refusal = Refusal(FULL, "too_busy", 503)
    refusal.response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    raise refusal
