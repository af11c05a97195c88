"""ChatOpenAI with a lean streaming path for plain text answers.

Relaying a streamed answer is the web process's main per-token work. Through
the SDK, every chunk became a pydantic object before LangChain turned it into a
dict again, and every read went through httpx, httpcore, h11 and anyio: about
60 µs of the event loop per token when each token arrives on its own.
`LeanChatOpenAI` keeps every part of ChatOpenAI (request payload, message
conversion, usage, callbacks, `invoke`, tools, structured output) and changes
only how a plain streamed chat completion travels: with a plain key and an
aiohttp session (retrieval.llm gives it one per event loop), the request goes
out on that session, retried as the SDK retries, and the server's `data:` lines
(parsed by aiohttp's C parser, about 20 µs per token) are decoded straight into
the dicts that LangChain's converter takes. Otherwise (an organization, extra
headers, a proxy argument, a key function) the SDK sends the request and the
same decoding reads its raw response. Anything that is not a plain chat
completion (a response format, the Responses API, raw headers) goes through
ChatOpenAI unchanged.

Errors keep the SDK's types: an HTTP error status raises the matching
`openai.APIStatusError` subclass, a connection that drops mid-answer
`openai.APIConnectionError`, and a stream without content for
`stream_chunk_timeout` seconds `openai.APITimeoutError`.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx2
import openai
from aiohttp.helpers import get_env_proxy_for_url
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI
from pydantic import Field, SecretStr
from yarl import URL

from ragsite import departures

# Statuses worth another try, and the waits between tries, as the SDK has them.
RETRYABLE = {408, 409, 429, 500, 502, 503, 504}
RETRY_DELAY = 0.5
STATUS_ERRORS: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}
# The longest `data:` line read: a server may send a whole answer as one chunk.
MAX_LINE = 16 * 1024 * 1024
# As many connections as the SDK's own client allows; beyond them a request waits.
CONNECTIONS = 1000


def stream_session() -> aiohttp.ClientSession:
    """A session for streamed answers; call it on the event loop that will use it.

    Its timeouts come with each request, and so does its proxy (`proxy_for`):
    aiohttp's own reading of the environment (`trust_env`) looked up the proxy
    and a ~/.netrc file in a thread for every request, two trips off the event
    loop before each answer could start.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONNECTIONS),
        timeout=aiohttp.ClientTimeout(total=None),
    )


@functools.cache
def proxy_for(url: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
    """The proxy the environment names for `url` (HTTPS_PROXY, HTTP_PROXY, NO_PROXY),
    read once per process; (None, None) for none."""
    try:
        proxy, auth = get_env_proxy_for_url(URL(url))
    except LookupError:
        return None, None
    return str(proxy), auth


class LeanChatOpenAI(ChatOpenAI):
    stream_session: Any = Field(default=None, exclude=True)
    """An aiohttp session on the caller's event loop (`stream_session()`): plain
    streamed answers travel on it. Without one, the SDK carries them."""

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        *,
        stream_usage: bool | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        kwargs["stream"] = True
        if self._should_stream_usage(stream_usage, **kwargs):
            kwargs["stream_options"] = {"include_usage": True}
        payload = self._get_request_payload(messages, stop=stop, **kwargs)
        if not self._plain(payload):
            async for chunk in super()._astream(
                messages, stop, run_manager, stream_usage=stream_usage, **kwargs
            ):
                yield chunk
            return
        chunk_class: type = AIMessageChunk
        async for data in self._chunks(payload):
            generation = self._convert_chunk_to_generation_chunk(data, chunk_class, None)
            if generation is None:
                continue
            chunk_class = generation.message.__class__
            if run_manager:
                await run_manager.on_llm_new_token(generation.text, chunk=generation)
            yield generation

    def _plain(self, payload: dict[str, Any]) -> bool:
        return (
            "messages" in payload
            and "response_format" not in payload
            and not self.include_response_headers
            and not self._uses_gateway
            and not self.default_query
        )

    async def _chunks(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The decoded `data:` payloads of one streamed chat completion."""
        key = self.openai_api_key
        if self.stream_session is None or not isinstance(key, SecretStr) or self._extras():
            chunks = self._sdk_chunks(payload)
        else:
            chunks = self._direct_chunks(payload, key.get_secret_value())
        async for chunk in chunks:
            yield chunk

    def _extras(self) -> bool:
        """Whether the SDK's request building matters (organization, headers, proxy)."""
        return bool(self.openai_organization or self.default_headers or self.openai_proxy)

    async def _sdk_chunks(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        create = self.root_async_client.chat.completions.with_streaming_response.create
        async with create(**payload) as response:
            async for chunk in self._decoded(response.iter_bytes(), response.http_request):
                yield chunk

    async def _direct_chunks(
        self, payload: dict[str, Any], key: str
    ) -> AsyncIterator[dict[str, Any]]:
        """The same request on an aiohttp session, without the SDK's request
        pipeline (a third of a question's CPU in the web process): a bearer key and
        JSON are all a chat completion needs."""
        base = (self.openai_api_base or "https://api.openai.com/v1").rstrip("/")
        url = f"{base}/chat/completions"
        request = httpx2.Request("POST", url)  # what the SDK's errors name
        response = await self._send(url, payload, key, request)
        # A reader who leaves hangs up on the model in the turn the server says so.
        stop_watching = departures.on_leave(response.close)
        try:
            async for chunk in self._decoded(response.content.iter_any(), request):
                yield chunk
        except BaseException:  # broken, or the reader left: hang up at once
            response.close()
            raise
        finally:
            stop_watching()
        response.release()  # a finished connection goes back to the pool

    async def _send(
        self, url: str, payload: dict[str, Any], key: str, request: httpx2.Request
    ) -> aiohttp.ClientResponse:
        """The streamed response once its status is good, retried as the SDK would."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Authorization": f"Bearer {key}",
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
        }
        seconds = self.request_timeout if isinstance(self.request_timeout, float | int) else None
        # The answer's silences are `stream_chunk_timeout`'s: a read timeout too
        # would re-arm a timer for every token. Until the headers, `seconds` holds.
        reads = None if self.stream_chunk_timeout else seconds
        timeout = aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=reads)
        attempts = (self.max_retries or 0) + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                async with asyncio.timeout(seconds):
                    proxy, proxy_auth = proxy_for(url)
                    response = await self.stream_session.post(
                        url,
                        data=body,
                        headers=headers,
                        timeout=timeout,
                        proxy=proxy,
                        proxy_auth=proxy_auth,
                    )
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                # refused, reset, timed out: nothing was streamed
                if last and isinstance(error, TimeoutError):
                    raise openai.APITimeoutError(request) from error
                if last:
                    raise openai.APIConnectionError(request=request) from error
                await asyncio.sleep(RETRY_DELAY * 2**attempt)
                continue
            if response.status < 400:
                return response
            try:
                async with asyncio.timeout(seconds):
                    content = await response.read()
            except (aiohttp.ClientError, OSError, TimeoutError):
                content = b""
            finally:
                response.release()
            if last or response.status not in RETRYABLE:
                raise _status_error(
                    httpx2.Response(
                        response.status,
                        headers=list(response.headers.items()),
                        content=content,
                        request=request,
                    )
                )
            await asyncio.sleep(RETRY_DELAY * 2**attempt)
        raise AssertionError("unreachable")

    async def _decoded(
        self, body: AsyncIterator[bytes], request: httpx2.Request
    ) -> AsyncIterator[dict[str, Any]]:
        silence = self.stream_chunk_timeout or None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(silence) as deadline:
                async for lines in _line_batches(body):
                    for line in lines:
                        if not line.startswith(b"data:"):
                            continue  # comments and keep-alives do not count as progress
                        data = line[5:].strip()
                        if data == b"[DONE]":
                            return
                        chunk = json.loads(data)
                        if "error" in chunk:
                            raise _stream_error(chunk, request)
                        if silence:
                            deadline.reschedule(loop.time() + silence)
                        yield chunk
        except TimeoutError as error:
            raise openai.APITimeoutError(request) from error
        except (openai.APIError, json.JSONDecodeError):
            raise
        except Exception as error:  # the transport's own, e.g. the server hung up
            raise openai.APIConnectionError(request=request) from error


async def _line_batches(body: AsyncIterator[bytes]) -> AsyncIterator[list[bytes]]:
    """The whole lines of each piece read: a slow stream's piece holds one event, a
    fast one's many, and reading them a batch at a time costs one wake-up, not one
    per line."""
    pending = b""
    async for piece in body:
        *lines, pending = (pending + piece).split(b"\n")
        if len(pending) > MAX_LINE:
            raise ValueError("The model's stream sent a line longer than 16 MiB.")
        if lines:
            yield lines
    if pending:
        yield [pending]


def _status_error(response: Any) -> openai.APIStatusError:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    kind = STATUS_ERRORS.get(response.status_code)
    if kind is None:
        kind = openai.InternalServerError if response.status_code >= 500 else openai.APIStatusError
    return kind(
        message or f"The model server answered HTTP {response.status_code}.",
        response=response,
        body=body,
    )


def _stream_error(chunk: dict[str, Any], request: Any) -> openai.APIError:
    error = chunk["error"]
    message = error.get("message") if isinstance(error, dict) else str(error)
    return openai.APIError(
        str(message or "The model server reported an error."), request, body=chunk
    )
