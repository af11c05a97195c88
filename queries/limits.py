"""How many questions one account may ask: per period, and answers in progress at once.

Both are counted from the account's own messages inside the transaction that
stores a new question, so every web process sees the same counts and a
question past a limit stores nothing. An answer in progress carries
`answering_until` (cleared when it ends); a process killed mid-answer leaves
the mark to lapse on its own after ANSWER_TIMEOUT and a minute.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
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
    rate, at_once = settings.RATE_LIMITS.get("query"), settings.MAX_STREAMS_PER_USER
    if rate is None and not at_once:
        return
    now = timezone.now()
    mine = Message.objects.filter(conversation__owner_id=owner_id)
    counts: dict = {}
    window = Q()
    if rate is not None:
        window = Q(role=Message.Role.USER, created__gte=now - timedelta(seconds=rate[1]))
        counts["asked"] = Count("pk", filter=window)
        counts["first"] = Min("created", filter=window)
    answering = Q(answering_until__gt=now)
    if at_once:
        counts["answering"] = Count("pk", filter=answering)
    found = mine.filter(window | answering if rate is not None else answering).aggregate(**counts)
    if at_once and found["answering"] >= at_once:
        raise Throttled(
            f"You have {found['answering']} answers in progress, the most at once. "
            "Wait for one to finish, then ask again.",
            retry_after=BUSY_RETRY_SECONDS,
        )
    if rate is not None and found["asked"] >= rate[0]:
        wait = math.ceil((found["first"] + timedelta(seconds=rate[1]) - now).total_seconds())
        raise Throttled(
            f"You have asked {found['asked']} questions in {_period(rate[1])}, the most "
            f"allowed. Try again in {wait_words(wait)}.",
            retry_after=wait,
        )


def _period(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"a {unit}" if count == 1 else f"{count} {unit}s"
    return f"{seconds} seconds"
