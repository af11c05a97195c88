"""Helpers for the API's async views, which DRF cannot serve (it has no async views).

`async_api_view` gives such a view what DRF gives the others: the JSON 405 for a
wrong method, authentication by JWT bearer token or by the session with its
CSRF token, and every refusal as the API's JSON error. A view then only
declares its methods and does its work:

    @async_api_view("POST")
    async def query_stream(request, user): ...

A bearer token's signature and expiry are checked on the event loop; its user's
row (active, password unchanged, no logout since) needs the database. A view
that has database work of its own to do can take that check along with it, one
trip to the database instead of two: with `check_user_later=True` it gets a
`Caller` whose `check` it must run (in a database thread) before anything it
does shows the user's data or changes it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authentication import CSRFCheck
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings

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


class Caller:
    """Who asks, for a view that checks the user's row itself (`check_user_later`):
    the user's id, and the check of the row, run once. `check` is sync (it reads
    the database) and raises AuthenticationFailed, which the view lets through:
    the decorator answers it with the same 401 as an upfront check."""

    def __init__(self, pk: Any, check: Callable[[], object] | None = None) -> None:
        self.pk = pk
        self._check = check

    @property
    def checked(self) -> bool:
        return self._check is None

    def check(self) -> None:
        if self._check is not None:
            self._check()
            self._check = None


def async_api_view(*methods: str, check_user_later: bool = False) -> Callable[[View], View]:
    """Method check, authentication and JSON refusals; the view gets the user after
    the request (a `Caller` with `check_user_later`)."""

    def decorate(view: View) -> View:
        @csrf_exempt  # the session path checks CSRF itself; bearer tokens need none
        @allow(*methods)
        @functools.wraps(view)
        async def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user: Any = None
            try:
                if check_user_later:
                    user = await caller(request)
                else:
                    user = await authenticate(request)
                response = await view(request, user, *args, **kwargs)
            except Refusal as refusal:
                response = refusal.response
            except AuthenticationFailed as error:  # a Caller's check, run by the view
                return _refused_token(error).response
            except RagError as error:
                response = json_error(**rag_error_body(error), status=error.status)
                for header, value in rag_error_headers(error).items():
                    response[header] = value
            if isinstance(user, Caller) and not user.checked and response.status_code >= 400:
                # Refused before the user's row was read: a token that no longer
                # counts hears that first, as from any other view.
                try:
                    await db.in_thread(user.check)()
                except AuthenticationFailed as error:
                    return _refused_token(error).response
            return response

        return wrapped

    return decorate


async def authenticate(request: HttpRequest) -> AbstractBaseUser:
    """The user of a bearer token, or of the session when its CSRF token is right."""
    if request.headers.get("Authorization"):
        return await _token_user(_bearer_token(request))
    return await _session_user(request)


async def caller(request: HttpRequest) -> Caller:
    """As `authenticate`, but a bearer token's user row is left to check (`Caller.check`)."""
    if request.headers.get("Authorization"):
        token = _bearer_token(request)
        key = get_user_model()._meta.pk
        if key.name != jwt_settings.USER_ID_FIELD:  # the claim is not the key: ask now
            return Caller(pk=(await _token_user(token)).pk)
        try:
            pk = key.to_python(token[jwt_settings.USER_ID_CLAIM])  # the claim is a string
        except ValidationError:
            raise _refused_token(InvalidToken("The token names no user.")) from None
        return Caller(pk, functools.partial(RevocableJWTAuthentication().get_user, token))
    return Caller(pk=(await _session_user(request)).pk)


def _bearer_token(request: HttpRequest) -> Any:
    """The request's bearer token, its signature, expiry and claims checked (no database)."""
    jwt = RevocableJWTAuthentication()
    try:
        raw = jwt.get_raw_token(jwt.get_header(request))
        if raw is None:
            raise _unauthorized(
                "Use an Authorization: Bearer <access token> header.", "not_authenticated"
            )
        token = jwt.get_validated_token(raw)
        if jwt_settings.USER_ID_CLAIM not in token:
            raise InvalidToken("Token contained no recognizable user identification")
        return token
    except AuthenticationFailed as error:
        raise _refused_token(error) from None


async def _token_user(token: Any) -> AbstractBaseUser:
    try:
        return await db.in_thread(RevocableJWTAuthentication().get_user)(token)
    except AuthenticationFailed as error:
        raise _refused_token(error) from None


def _refused_token(error: AuthenticationFailed) -> Refusal:
    detail = error.detail
    message = detail.get("detail", detail) if isinstance(detail, dict) else detail
    code = (
        detail.get("code", "authentication_failed")
        if isinstance(detail, dict)
        else getattr(detail, "code", "authentication_failed")
    )
    return _unauthorized(*plain_words(error, str(message), str(code)))


async def _session_user(request: HttpRequest) -> AbstractBaseUser:
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
