"""OpenAPI additions drf-spectacular cannot derive: the SSE endpoint is a plain async view."""

from __future__ import annotations

import copy
from typing import Any

STREAM_DESCRIPTION = """Ask a question; the answer arrives as Server-Sent Events, in this order:

* `status` `{"stage": "retrieving"}` at once
* `citations` a JSON list of `{n, document_id, filename, chunk_id, page, page_label,
  chunk_text, relevance_score, ocr}` (only when passages were found; `page_label` is the
  page's printed label, such as "iii" or "A-1", when the PDF gives one that is not its
  number, else null; `chunk_text` is at most 200 characters of the passage, the stretch
  that holds the most of the question's words, with "..." where it is cut; `ocr` is true
  for a passage read from a scan or photo by text recognition)
* `status` `{"stage": "generating"}`
* `token` the text of each token (several `data:` lines when it holds line breaks)
* `done` `{"conversation_id", "message_id", "finish_reason"}`, or
  `error` `{"message", "code"}` when the answer fails after the stream started

A `: keep-alive` comment is sent after 15 s of silence. Problems found before the stream
starts are answered with a JSON error and a 4xx status.

Every event has an `id` (`s1`, `c`, `s2`, `t<characters of the answer so far>`, `d`, `e`)
and the response an `X-Message-Id` header: after a lost connection,
`GET /api/query/stream/{message_id}/` with `Last-Event-ID` sends the events that came
after that one, then the rest as it is written (204 when nothing is left)."""


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
    paths["/api/query/stream/{message_id}/"] = {"get": _resume_operation(operation)}
    return result


def _resume_operation(stream: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": "query_stream_resume",
        "summary": "Resume an answer's event stream after a lost connection",
        "description": "The events of one of your answers after the one whose id is given "
        "in `Last-Event-ID` (all of them without it), then the rest as it is written.",
        "tags": stream.get("tags", []),
        "security": stream.get("security", []),
        "parameters": [
            {
                "name": "message_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "format": "uuid"},
            },
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": stream["responses"]["200"],
            "204": {"description": "Nothing is left to send"},
            "404": {"description": "No such answer of yours"},
        },
    }
