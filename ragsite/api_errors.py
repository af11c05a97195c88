"""One JSON error shape for the whole API: {"detail": sentence, "code": short_code}.

Field errors from validation stay beside it under their field names, as DRF
gives them. Unexpected exceptions are logged with their traceback and answered
with a sentence that reveals nothing of the server.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from retrieval.errors import DuplicateDocument, RagError

logger = logging.getLogger(__name__)

SERVER_ERROR = "Something went wrong on our side. Please try again later."


def rag_error_body(error: RagError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": error.message, "code": error.code}
    if isinstance(error, DuplicateDocument):
        body["document_id"] = error.existing_id
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RagError):
        if exc.status >= 500:
            logger.error("API error: %s", exc.message, exc_info=exc)
        return Response(rag_error_body(exc), status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response({"detail": SERVER_ERROR, "code": "server_error"}, status=500)
    data = response.data
    if isinstance(exc, exceptions.ValidationError) and isinstance(data, dict):
        fields = ", ".join(data)
        response.data = {
            "detail": f"Some fields are not valid: {fields}.",
            "code": "invalid",
            **data,
        }
    elif isinstance(data, dict) and "detail" in data:
        detail = data["detail"]
        code = data.get("code") or getattr(detail, "code", None) or _code(exc)
        response.data = {**data, "detail": str(detail), "code": str(code)}
    else:
        response.data = {"detail": str(data), "code": _code(exc)}
    return response


def _code(exc: Exception) -> str:
    return getattr(exc, "default_code", "error")


def json_error(detail: str, code: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code, **extra}, status=status)


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
