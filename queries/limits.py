"""How many questions one account may ask: per period, and answers in progress at once.

Both are read from the account's own messages inside the transaction that
stores a new question, so every web process sees the same counts and a
question past a limit stores nothing. Each read is an index range of at most
the limit's size (messages carry their owner), so its cost does not grow with
the account's history. An answer in progress carries `answering_until`
(cleared when it ends); a process killed mid-answer leaves the mark to lapse on
its own after ANSWER_TIMEOUT and a minute.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from queries.models import Message
from ragsite.api_errors import wait_words
from retrieval.errors import Throttled

# How long to wait when every answer allowed at once is taken.
BUSY_RETRY_SECONDS = 5


def answering_until() -> datetime:
    """When an answer that starts now may at the latest still be running."""
    return timezone.now() + timedelta(seconds=settings.ANSWER_TIMEOUT + 60)


def check(owner_id: int) -> None:
    """Throttled (429, Retry-After) when `owner_id` may not ask another question now."""
    now = timezone.now()
    at_once = settings.MAX_STREAMS_PER_USER
    if at_once:
        running = Message.objects.filter(owner_id=owner_id, answering_until__gt=now)
        if running.order_by()[at_once - 1 : at_once].exists():  # the at_once-th is running
            raise Throttled(
                f"You have {at_once} answers in progress, the most at once. "
                "Wait for one to finish, then ask again.",
                retry_after=BUSY_RETRY_SECONDS,
            )
    rate = settings.RATE_LIMITS.get("query")
    if rate is not None:
        most, seconds = rate
        asked = Message.objects.filter(
            owner_id=owner_id, role=Message.Role.USER, created__gte=now - timedelta(seconds=seconds)
        )
        # The most-th latest question in the window, if there is one: the limit is
        # reached, and a place frees when that question leaves the window.
        oldest = asked.order_by("-created").values_list("created", flat=True)[most - 1 : most]
        if oldest:
            wait = math.ceil((oldest[0] + timedelta(seconds=seconds) - now).total_seconds())
            raise Throttled(
                f"You have asked {most} questions in {_period(seconds)}, the most allowed. "
                f"Try again in {wait_words(wait)}.",
                retry_after=wait,
            )


def _period(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"a {unit}" if count == 1 else f"{count} {unit}s"
    return f"{seconds} seconds"
