"""The configured OpenAI-compatible chat model, shared by answers and entity extraction.

A key, a base URL or both configure it: a local server (llama.cpp, Ollama,
vLLM) often needs no key, and the client library insists on one, so a
placeholder stands in.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import TYPE_CHECKING, Any

from django.conf import settings

from retrieval import loops

if TYPE_CHECKING:
    import ssl

    from langchain_openai import ChatOpenAI

# One async HTTP client (the SDK's), one aiohttp session (streamed answers) and
# one model per kind per event loop: the web server's single loop reuses its
# connections (and skips building a ChatOpenAI, ~1 ms) from question to
# question; each worker task (a loop of its own) gets fresh ones, closed when the
# task ends (retrieval.loops).
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
_models: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, Any]] = (
    weakref.WeakKeyDictionary()
)


def configured() -> bool:
    return bool(settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL)


def api_key() -> str:
    return settings.OPENAI_API_KEY or "not-needed"


def chat_openai(*, streaming: bool = False, timeout: float | None = None) -> ChatOpenAI:
    """The configured model, on this event loop's HTTP client.

    langchain-openai otherwise shares one cached client per process, whose pooled
    connections belong to the loop that opened them: the worker runs each task on
    a new loop, and a connection from a closed loop fails the next task's call.
    """
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    timeout = timeout or settings.OPENAI_STREAM_TIMEOUT
    cache = _models.setdefault(loop, {}) if loop is not None else {}
    key = (
        streaming,
        timeout,
        settings.OPENAI_MODEL,
        settings.OPENAI_BASE_URL,
        api_key(),
        settings.OPENAI_STREAM_TIMEOUT,
        settings.OPENAI_MAX_TOKENS,
    )
    model = cache.get(key)
    if model is None:
        model = cache[key] = _build(streaming, timeout)
    return model


def _build(streaming: bool, timeout: float) -> ChatOpenAI:
    from retrieval.openai_stream import LeanChatOpenAI  # lazily: keeps start-up light

    return LeanChatOpenAI(
        model=settings.OPENAI_MODEL,
        api_key=api_key(),
        base_url=settings.OPENAI_BASE_URL,
        temperature=0,
        max_tokens=settings.OPENAI_MAX_TOKENS,
        streaming=streaming,
        stream_usage=streaming,
        timeout=timeout,
        max_retries=1,
        http_async_client=_loop_client(),
        stream_session=_loop_session(),
        stream_chunk_timeout=settings.OPENAI_STREAM_TIMEOUT,
    )


def warm_up() -> None:
    """Build the chat model once, off the event loop (at start-up): the first build
    imports and caches what every later one reuses (the TLS context, the SDK's own
    client), 100 ms that the first question's event loop spent otherwise, with every
    stream on it waiting."""
    chat_openai(streaming=True)


def _loop_client() -> Any:
    from openai import DefaultAsyncHttpxClient

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # built outside a loop: it cannot share one
        return DefaultAsyncHttpxClient(verify=_tls())
    loops.note_use()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = DefaultAsyncHttpxClient(verify=_tls())
    return client


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client, made as httpx makes it (certifi's roots, or
    SSL_CERT_FILE / SSL_CERT_DIR): httpx otherwise loads the certificates again for
    each client, 24 ms each time (each worker task makes a client of its own)."""
    import httpx

    return httpx.create_ssl_context()


def _loop_session() -> Any:
    """This loop's aiohttp session, or None outside a loop (the SDK then streams)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    session = _sessions.get(loop)
    if session is None:
        from retrieval.openai_stream import stream_session

        session = _sessions[loop] = stream_session()
    return session


def forget_clients() -> None:
    """Drop every loop's clients (tests: a test's loop ends without a scope).

    aiohttp calls an unclosed session a leak, so a session whose loop can still
    run is closed on it.
    """
    _models.clear()
    _clients.clear()
    for loop, session in list(_sessions.items()):
        if not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(session.close())
    _sessions.clear()


@loops.on_loop_end
async def _close_client(loop: asyncio.AbstractEventLoop) -> None:
    _models.pop(loop, None)
    client = _clients.pop(loop, None)
    if client is not None:
        await client.aclose()
    session = _sessions.pop(loop, None)
    if session is not None:
        await session.close()
