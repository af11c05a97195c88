"""The configured OpenAI-compatible chat model, shared by answers and entity extraction.

A key, a base URL or both configure it: a local server (llama.cpp, Ollama,
vLLM) often needs no key, and the client library insists on one, so a
placeholder stands in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI


def configured() -> bool:
    return bool(settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL)


def api_key() -> str:
    return settings.OPENAI_API_KEY or "not-needed"


def chat_openai(*, streaming: bool = False, timeout: float = 120) -> ChatOpenAI:
    from langchain_openai import ChatOpenAI  # lazily: keeps start-up light

    return ChatOpenAI(
        model=settings.OPENAI_MODEL,
        api_key=api_key(),
        base_url=settings.OPENAI_BASE_URL,
        temperature=0,
        streaming=streaming,
        stream_usage=streaming,
        timeout=timeout,
        max_retries=1,
    )
