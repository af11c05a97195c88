"""Django's own middleware, with hooks that do no I/O run on the event loop.

Under ASGI, Django runs every hook of a classic middleware (`process_request`,
`process_view`, `process_response`) through `sync_to_async`: a trip to a
thread and back for each, about twenty per request with the usual stack,
which under load cost more than the rest of the request before its first
event. These subclasses run the same hooks in the loop when they only read
the request and set headers, and keep the thread for the two that can touch
the database or a large body:

- the session's `process_response` when the session has to be saved;
- CSRF's `process_view` for an unsafe request to a protected view, which may
  parse a multipart upload to find the token.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponseBase
from django.middleware import clickjacking, common, csp, csrf, security

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class InLoop:
    """A MiddlewareMixin whose hooks are quick and I/O-free: call them directly."""

    get_response: Any
    async_mode: bool

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self._acall(request)
        return super().__call__(request)  # type: ignore[misc]

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class SecurityMiddleware(InLoop, security.SecurityMiddleware):
    pass


class CommonMiddleware(InLoop, common.CommonMiddleware):
    pass


class AuthenticationMiddleware(InLoop, auth.AuthenticationMiddleware):
    pass  # request.user stays lazy: it is loaded where a view asks for it


class MessageMiddleware(InLoop, messages.MessageMiddleware):
    pass


class XFrameOptionsMiddleware(InLoop, clickjacking.XFrameOptionsMiddleware):
    pass


class ContentSecurityPolicyMiddleware(InLoop, csp.ContentSecurityPolicyMiddleware):
    pass


class SessionMiddleware(InLoop, sessions.SessionMiddleware):
    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        self.process_request(request)  # a lazy session store: nothing is read yet
        response = await self.get_response(request)
        session = request.session
        if session.modified or settings.SESSION_SAVE_EVERY_REQUEST:
            return await sync_to_async(self.process_response)(request, response)
        return self.process_response(request, response)  # headers only


class CsrfViewMiddleware(InLoop, csrf.CsrfViewMiddleware):
    async def process_view(  # type: ignore[override]
        self, request: HttpRequest, callback: Any, args: Any, kwargs: Any
    ) -> HttpResponseBase | None:
        if request.method in SAFE_METHODS or getattr(callback, "csrf_exempt", False):
            return super().process_view(request, callback, args, kwargs)
        return await sync_to_async(super().process_view)(request, callback, args, kwargs)
