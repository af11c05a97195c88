"""Helpers for the API's async views, which DRF cannot serve (it has no async views).

`async_api_view` gives such a view what DRF gives the others: the JSON 405 for a
wrong method, authentication by JWT bearer token or by the session with its
CSRF token, and every refusal as the API's JSON error. A view then only
declares its methods and does its work:

    @async_api_view("POST")
    async def query_stream(request, user): ...
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authentication import CSRFCheck
from rest_framework.exceptions import AuthenticationFailed

from ragsite import db
from ragsite.api_errors import (
    CSRF_FAILED,
    NOT_JSON,
    json_error,
    plain_words,
    rag_error_body,
    rag_error_headers,
)
from ragsite.tokens import RevocableJWTAuthentication
from retrieval.errors import RagError

View = Callable[..., Awaitable[HttpResponse]]


class Refusal(Exception):
    """Raised inside an async API view: answer with this JSON error instead."""

    def __init__(self, detail: str, code: str, status: int, **extra: Any) -> None:
        super().__init__(detail)
        self.response = json_error(detail, code, status, **extra)


def allow(*methods: str) -> Callable[[View], View]:
    """Like Django's require_http_methods, but a wrong method gets the API's JSON 405."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = json_error(
                    f'Method "{request.method}" not allowed.', "method_not_allowed", 405
                )
                response["Allow"] = ", ".join(methods)
                return response
            return await view(request, *args, **kwargs)

        return wrapped

    return decorate


def async_api_view(*methods: str) -> Callable[[View], View]:
    """Method check, authentication and JSON refusals; the view gets the user after the request."""

    def decorate(view: View) -> View:
        @csrf_exempt  # the session path checks CSRF itself; bearer tokens need none
        @allow(*methods)
        @functools.wraps(view)
        async def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                user = await authenticate(request)
                return await view(request, user, *args, **kwargs)
            except Refusal as refusal:
                return refusal.response
            except RagError as error:
                response = json_error(**rag_error_body(error), status=error.status)
                for header, value in rag_error_headers(error).items():
                    response[header] = value
                return response

        return wrapped

    return decorate


async def authenticate(request: HttpRequest) -> AbstractBaseUser:
    """The user of a bearer token, or of the session when its CSRF token is right."""
    if request.headers.get("Authorization"):
        try:
            found = await db.in_thread(RevocableJWTAuthentication().authenticate)(request)
        except AuthenticationFailed as error:
            detail = error.detail
            message = detail.get("detail", detail) if isinstance(detail, dict) else detail
            code = (
                detail.get("code", "authentication_failed")
                if isinstance(detail, dict)
                else getattr(detail, "code", "authentication_failed")
            )
            raise _unauthorized(*plain_words(error, str(message), str(code))) from None
        if found is None:
            raise _unauthorized(
                "Use an Authorization: Bearer <access token> header.", "not_authenticated"
            )
        return found[0]
    user = await request.auser()
    if not user.is_authenticated:
        raise _unauthorized("Authentication credentials were not provided.", "not_authenticated")
    check = CSRFCheck(lambda req: HttpResponse())
    check.process_request(request)
    if check.process_view(request, None, (), {}) is not None:
        raise Refusal(CSRF_FAILED, "csrf_failed", 403)
    return user  # type: ignore[return-value]


def _unauthorized(detail: str, code: str) -> Refusal:
    refusal = Refusal(detail, code, 401)
    refusal.response["WWW-Authenticate"] = 'Bearer realm="api"'
    return refusal


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON body, which must be an object; a Refusal otherwise."""
    if request.content_type != "application/json":
        raise Refusal(
            "Send the request body as JSON with Content-Type: application/json.",
            "unsupported_media_type",
            415,
        )
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Refusal(NOT_JSON, "parse_error", 400) from None
    if not isinstance(payload, dict):
        raise Refusal("The request body must be a JSON object.", "parse_error", 400)
    return payload
