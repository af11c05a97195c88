"""One JSON error shape for the whole API: {"detail": sentence, "code": short_code}.

Field errors from validation stay beside it under their field names, as DRF
gives them. Unexpected exceptions are logged with their traceback and answered
with a sentence that reveals nothing of the server.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from retrieval.errors import DuplicateDocument, RagError

logger = logging.getLogger(__name__)

SERVER_ERROR = "Something went wrong on our side. Please try again later."
TOO_BIG = "The request body is too large."
NOT_JSON = "The request body is not valid JSON."
BAD_TOKEN = "The token is invalid or has expired: log in again to get a new one."
CSRF_FAILED = "CSRF check failed: reload the page and try again."


def rag_error_body(error: RagError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": error.message, "code": error.code}
    if isinstance(error, DuplicateDocument):
        body["document_id"] = error.existing_id
    return body


def rag_error_headers(error: RagError) -> dict[str, str]:
    retry_after = getattr(error, "retry_after", None)
    return {"Retry-After": str(retry_after)} if retry_after else {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RagError):
        if exc.status >= 500:
            logger.error("API error: %s", exc.message, exc_info=exc)
        return Response(rag_error_body(exc), status=exc.status, headers=rag_error_headers(exc))
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": TOO_BIG, "code": "request_too_large"}, status=413)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response({"detail": SERVER_ERROR, "code": "server_error"}, status=500)
    data = response.data
    if isinstance(exc, exceptions.ValidationError) and isinstance(data, dict):
        response.data = invalid_fields(data)
    elif isinstance(data, dict) and "detail" in data:
        detail = data["detail"]
        code = str(data.get("code") or getattr(detail, "code", None) or _code(exc))
        detail, code = plain_words(exc, str(detail), code)
        response.data = {**data, "detail": detail, "code": code}
    else:
        response.data = {"detail": str(data), "code": _code(exc)}
    return response


def invalid_fields(errors: dict[str, Any]) -> dict[str, Any]:
    """The 400 body for field errors: a sentence naming the fields, then each field's errors."""
    return {
        "detail": f"Some fields are not valid: {', '.join(errors)}.",
        "code": "invalid",
        **errors,
    }


def plain_words(exc: Exception, detail: str, code: str) -> tuple[str, str]:
    """Library messages a person would not understand, said plainly."""
    if isinstance(exc, exceptions.ParseError):
        return NOT_JSON, code
    if isinstance(exc, exceptions.Throttled):
        return f"Too many requests. Try again in {wait_words(math.ceil(exc.wait or 1))}.", code
    if code == "token_not_valid":
        return BAD_TOKEN, code
    if isinstance(exc, exceptions.PermissionDenied) and detail.startswith("CSRF Failed"):
        return CSRF_FAILED, "csrf_failed"
    return detail, code


def wait_words(seconds: int) -> str:
    """'37 seconds', '1 second' or, from two minutes on, '15 minutes'."""
    if seconds >= 120:
        minutes = math.ceil(seconds / 60)
        return f"{minutes} minutes"
    return f"{seconds} second{'s' * (seconds != 1)}"


def _code(exc: Exception) -> str:
    return getattr(exc, "default_code", "error")


def json_error(detail: str, code: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code, **extra}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None):
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            return json_error(TOO_BIG, "request_too_large", 413)
        return json_error("The request could not be understood.", "bad_request", 400)
    from django.views.defaults import bad_request as page

    return page(request, exception)


def not_found(request: HttpRequest, exception: Exception | None = None):
    if request.path.startswith("/api/"):
        return json_error("Not found.", "not_found", 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error(request: HttpRequest):
    if request.path.startswith("/api/"):
        return json_error(SERVER_ERROR, "server_error", 500)
    from django.views.defaults import server_error as page

    return page(request)
