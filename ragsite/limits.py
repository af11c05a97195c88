"""Limits against floods: rate limits, the sign-in lockout, and how a refusal reads.

Every count lives where all web processes see it: DRF's throttles keep theirs
in the database cache (CACHES), django-axes its failed sign-ins in the
database, and the question limits count the user's own messages
(queries/limits.py). Each refusal is a 429 with Retry-After; the API's carries
its JSON error body, a page says the same in words.

The client is the connection's address: daphne puts the client's there when
it runs behind a proxy with --proxy-headers, and a client cannot choose it by
sending an X-Forwarded-For header of its own.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.throttling import SimpleRateThrottle

from ragsite.api_errors import json_error, wait_words

LOCKED_OUT = (
    "Too many failed sign-ins for this username from your address. "
    "Try again in {wait}, or ask an administrator to unlock it."
)


def client_address(request: Any) -> str | None:
    """The connection's address; None for a request made in-process (a test client's login)."""
    return request.META.get("REMOTE_ADDR") or None


class Limited(SimpleRateThrottle):
    """A DRF throttle whose rate is settings.RATE_LIMITS[scope], read when it is used."""

    scope: str

    def get_rate(self) -> Any:
        return settings.RATE_LIMITS.get(self.scope)

    def parse_rate(self, rate: Any) -> tuple[int | None, int | None]:
        return rate if rate else (None, None)

    def get_ident(self, request: Any) -> str:
        return client_address(request) or "unknown"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.who(request)}

    def who(self, request: Any) -> str:
        return self.get_ident(request)


class PerUser(Limited):
    def who(self, request: Any) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user-{user.pk}"
        return self.get_ident(request)


class LoginThrottle(Limited):
    scope = "login"


class RefreshThrottle(Limited):
    scope = "refresh"


class RegisterThrottle(Limited):
    scope = "register"


class UploadThrottle(PerUser):
    scope = "upload"


def wait_for(throttle: type[Limited], request: HttpRequest) -> int | None:
    """For a view outside DRF: None when `request` may go on, else the seconds to wait."""
    limiter = throttle()
    if limiter.allow_request(request, None):
        return None
    return math.ceil(limiter.wait() or 1)


def too_many_page(request: HttpRequest, seconds: int, what: str) -> HttpResponse:
    """The page a person sees instead of a 429's JSON."""
    response = render(
        request,
        "limited.html",
        {"what": what, "wait": wait_words(seconds)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


def locked_out(request: HttpRequest, *args: Any) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in that axes refused, as JSON or as a page."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    if request.path.startswith("/api/"):
        response = json_error(LOCKED_OUT.format(wait=wait_words(seconds)), "locked_out", 429)
        response["Retry-After"] = str(seconds)
        return response
    return too_many_page(request, seconds, "failed sign-ins for this username")
