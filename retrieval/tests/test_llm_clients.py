"""The chat model's HTTP clients: one per event loop, all on one TLS context."""

from __future__ import annotations

import ssl

from retrieval import llm
from retrieval.loops import run_sync


def tls_context_of_a_new_loops_model() -> ssl.SSLContext:
    async def build() -> ssl.SSLContext:
        model = llm.chat_openai(streaming=True)
        return model.http_async_client._transport._pool._ssl_context

    return run_sync(build)  # a loop of its own, as each worker task has


def test_each_loops_client_reuses_the_one_tls_context(settings):
    """httpx loads the certificates again for every client it is not given a context
    for: 24 ms on the event loop of a web process's first question, and in each
    worker task (each has a loop, so a client, of its own)."""
    settings.OPENAI_BASE_URL = "https://models.invalid/v1"  # built, never called
    try:
        first = tls_context_of_a_new_loops_model()
        second = tls_context_of_a_new_loops_model()
    finally:
        llm.forget_clients()
    assert isinstance(first, ssl.SSLContext)
    assert second is first
    assert first.verify_mode == ssl.CERT_REQUIRED  # still checked as httpx checks
