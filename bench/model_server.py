"""A local server that speaks the OpenAI chat-completions protocol, for benchmarks.

Streams `--tokens` tokens ("t0 ", "t1 ", ...) at `--rate` tokens per second (0: as
fast as it can write) to every streamed request, answers plain requests with
"[]", and keeps a log of what happened and when (time.monotonic(), which every
process on the machine shares): when each request arrived, when each token was
written, and when the connection closed. The benchmark reads that log to take
the model's own delays out of the figures and to see how fast a client that
went away made the app hang up.

Written on asyncio streams alone so that a thousand connections cost little
and its own overhead stays out of the app's figures.

    python bench/model_server.py --port 9100 --tokens 40 --rate 20 --log events.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from pathlib import Path

CHUNK = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": "bench"}


def chunk(delta: dict, finish: str | None = None) -> bytes:
    body = {**CHUNK, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def asked(body: dict) -> int | None:
    """The number a benchmark's question carries ("... (17)"), to match each request to
    the client that asked it; None when the question has none."""
    messages = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    content = messages[-1].get("content") if messages else None
    found = re.findall(r"\? \((\d+)\)", content) if isinstance(content, str) else []
    return int(found[-1]) if found else None


class ModelServer:
    def __init__(self, tokens: int, rate: float, log: Path | None) -> None:
        self.tokens = tokens
        self.rate = rate
        self.log = log.open("a") if log else None
        self.count = 0

    def note(self, request: int, what: str, **extra: object) -> None:
        if self.log is not None:
            self.log.write(json.dumps({"r": request, "e": what, "t": time.monotonic(), **extra}))
            self.log.write("\n")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.count += 1
        number = self.count
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = json.loads(await reader.readexactly(length)) if length else {}
            self.note(number, "request", stream=bool(body.get("stream")), q=asked(body))
            if body.get("stream"):
                await self.stream(number, reader, writer)
            else:
                await self.plain(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.note(number, "closed")
            writer.close()

    async def plain(self, writer: asyncio.StreamWriter) -> None:
        body = json.dumps(
            {
                **CHUNK,
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "[]"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        ).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    async def stream(
        self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        )
        gone = asyncio.ensure_future(reader.read(1))  # b"" when the client hangs up
        gap = 1 / self.rate if self.rate else 0.0
        started = time.monotonic()
        try:
            for index in range(self.tokens):
                if gap:
                    delay = started + index * gap - time.monotonic()
                    if delay > 0:
                        await asyncio.wait([gone], timeout=delay)
                if gone.done():
                    self.note(number, "hung up", after=index)
                    return
                writer.write(chunk({"content": f"t{index} "}))
                await writer.drain()
                self.note(number, "token", i=index)
            writer.write(chunk({}, "stop") + b"data: [DONE]\n\n")
            await writer.drain()
            await asyncio.wait([gone], timeout=5)
        finally:
            gone.cancel()


async def serve(port: int, tokens: int, rate: float, log: Path | None) -> None:
    server = ModelServer(tokens, rate, log)
    listening = await asyncio.start_server(server.handle, "127.0.0.1", port, backlog=4096)
    print(
        f"model server on 127.0.0.1:{port}: {tokens} tokens at {rate or 'full'} tokens/s",
        flush=True,
    )
    async with listening:
        await listening.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--tokens", type=int, default=40)
    parser.add_argument("--rate", type=float, default=20.0, help="tokens per second; 0: no wait")
    parser.add_argument("--log", type=Path)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.tokens, args.rate, args.log))


if __name__ == "__main__":
    main()
