"""A real HTTP server speaking the OpenAI API, for tests (no key, no network).

It serves /v1/embeddings (deterministic bag-of-words vectors) and
/v1/chat/completions, plain or streamed as server-sent events with chunks, a
usage chunk and [DONE]. Tests script the replies and read what was asked.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted chat reply: tokens streamed one by one (or joined when not streaming)."""

    tokens: list[str]
    delay: float = 0.0
    fail_after: int | None = None  # send an error event after this many tokens
    cut_after: int | None = None  # drop the connection after this many tokens
    stall_after: int | None = None  # go silent (connection open) after this many tokens
    status: int = 200  # answer with this HTTP error status instead


class _Server(ThreadingHTTPServer):
    # The standard library's listen backlog (5) drops connections opened in a burst.
    request_queue_size = 1024


@dataclass
class OpenAIServer:
    dimensions: int = 1536
    replies: deque[Reply] = field(default_factory=deque)  # streamed answers
    completions: deque[Reply] = field(default_factory=deque)  # plain (non-streamed) calls
    requests: list[dict[str, Any]] = field(default_factory=list)
    tokens_sent: int = 0
    # When no scripted reply is left: the reply made from the request body, if set.
    respond: Callable[[dict[str, Any]], Reply] | None = None
    # The same for plain (non-streamed) calls; without it they get "[]".
    respond_plain: Callable[[dict[str, Any]], Reply] | None = None

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(
                    {
                        "path": self.path,
                        "body": body,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                    }
                )
                if self.path.endswith("/embeddings"):
                    self._json(server.embeddings(body))
                elif self.path.endswith("/chat/completions") and body.get("stream"):
                    self._stream(server.next_reply(body), body)
                elif self.path.endswith("/chat/completions"):
                    reply = server.next_plain_reply(body)
                    time.sleep(reply.delay)
                    if reply.status != 200:
                        self._json(_error(reply.status), reply.status)
                    else:
                        self._json(server.completion("".join(reply.tokens), body))
                else:
                    self.send_error(404)

            def _json(self, payload: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
                if reply.status != 200:
                    self._json(_error(reply.status), reply.status)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                model = body.get("model", "test-model")
                try:
                    for number, token in enumerate(reply.tokens):
                        if reply.fail_after is not None and number >= reply.fail_after:
                            error = {
                                "message": "The server had an error while processing your request.",
                                "type": "server_error",
                            }
                            self._event({"error": error})
                            return
                        if reply.cut_after is not None and number >= reply.cut_after:
                            self.wfile.flush()
                            self.connection.shutdown(2)
                            return
                        if reply.stall_after is not None and number >= reply.stall_after:
                            time.sleep(60)  # longer than any client should wait
                            return
                        if reply.delay:
                            time.sleep(reply.delay)
                        self._event(_chunk(model, {"content": token}, None))
                        server.tokens_sent += 1
                    self._event(_chunk(model, {}, "stop"))
                    usage = _chunk(model, {}, None)
                    usage["choices"] = []
                    usage["usage"] = {
                        "prompt_tokens": 10,
                        "completion_tokens": len(reply.tokens),
                        "total_tokens": 10 + len(reply.tokens),
                    }
                    self._event(usage)
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

        self._http = _Server(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def reset(self) -> OpenAIServer:
        """Nothing scripted and nothing recorded: a test's fresh start on a shared server."""
        self.replies.clear()
        self.completions.clear()
        self.requests.clear()
        self.tokens_sent = 0
        self.respond = self.respond_plain = None
        return self

    def next_plain_reply(self, body: dict[str, Any]) -> Reply:
        if self.completions:
            return self.completions.popleft()
        return self.respond_plain(body) if self.respond_plain is not None else Reply(["[]"])

    def next_reply(self, body: dict[str, Any]) -> Reply:
        if self.replies:
            return self.replies.popleft()
        return self.respond(body) if self.respond is not None else Reply([])

    @property
    def base_url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def settled_tokens(self, *, quiet: float = 1.5, limit: float = 15.0) -> int:
        """tokens_sent once it has stopped changing for `quiet` seconds."""
        value, since, started = self.tokens_sent, time.monotonic(), time.monotonic()
        while time.monotonic() - started < limit:
            time.sleep(0.1)
            if self.tokens_sent != value:
                value, since = self.tokens_sent, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
        return value

    def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": self.vector(str(text))}
            for i, text in enumerate(inputs)
        ]
        return {
            "object": "list",
            "data": data,
            "model": body.get("model"),
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }

    def vector(self, text: str) -> list[float]:
        """Hashed bag of words: texts sharing words get similar vectors."""
        vector = [0.0] * self.dimensions
        for word in re.findall(r"\w+", text.lower()):
            slot = int(hashlib.sha1(word.encode()).hexdigest(), 16) % self.dimensions
            vector[slot] += 1.0
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return [x / norm for x in vector]

    def completion(self, content: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "test-model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _error(status: int) -> dict[str, Any]:
    return {
        "error": {
            "message": f"Scripted failure with HTTP status {status}.",
            "type": "invalid_request_error" if status < 500 else "server_error",
            "code": None,
        }
    }
