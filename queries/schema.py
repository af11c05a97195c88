"""OpenAPI additions drf-spectacular cannot derive: the SSE endpoint is a plain async view."""

from __future__ import annotations

import copy
from typing import Any

STREAM_DESCRIPTION = """Ask a question; the answer arrives as Server-Sent Events, in this order:

* `status` `{"stage": "retrieving"}` at once
* `citations` a JSON list of `{n, document_id, filename, chunk_id, page, chunk_text,
  relevance_score, ocr}` (only when passages were found; `ocr` is true for a passage
  read from a scan or photo by text recognition)
* `status` `{"stage": "generating"}`
* `token` the text of each token (several `data:` lines when it holds line breaks)
* `done` `{"conversation_id", "message_id", "finish_reason"}`, or
  `error` `{"message", "code"}` when the answer fails after the stream started

A `: keep-alive` comment is sent after 15 s of silence. Problems found before the stream
starts are answered with a JSON error and a 4xx status."""


def add_stream_operation(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    paths = result.get("paths", {})
    base = paths.get("/api/query/", {}).get("post")
    if base is None:
        return result
    operation = copy.deepcopy(base)
    operation["operationId"] = "query_stream_create"
    operation["summary"] = "Ask a question and stream the answer (SSE)"
    operation["description"] = STREAM_DESCRIPTION
    operation["responses"] = {
        "200": {
            "description": "The answer as an event stream",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **{code: response for code, response in base.get("responses", {}).items() if code != "200"},
    }
    paths["/api/query/stream/"] = {"post": operation}
    return result
