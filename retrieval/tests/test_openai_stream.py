"""LeanChatOpenAI against a local OpenAI-protocol server: both of its ways to send a request."""

from __future__ import annotations

import openai
import pytest
from langchain_core.messages import HumanMessage

from retrieval.openai_stream import LeanChatOpenAI, proxy_for, stream_session
from tests.openai_server import Reply

pytestmark = pytest.mark.slow

# Without a session, or with extra headers, the SDK sends the request; with a
# session and a plain key it goes out on the session.
WAYS = ["direct", "sdk"]


@pytest.fixture
async def session():
    opened = stream_session()
    yield opened
    await opened.close()


def model(server, way: str, session, **options) -> LeanChatOpenAI:
    from openai import DefaultAsyncHttpxClient

    if way == "direct":
        options["stream_session"] = session
    else:
        options["default_headers"] = {"X-Team": "qa"}
    return LeanChatOpenAI(
        model="test-model",
        api_key="test-key",
        base_url=server.base_url,
        streaming=True,
        stream_usage=True,
        max_retries=1,
        http_async_client=DefaultAsyncHttpxClient(),
        **options,
    )


async def streamed(chat: LeanChatOpenAI) -> list[str]:
    return [c.content async for c in chat.astream([HumanMessage("Hi")]) if c.content]


@pytest.mark.parametrize("way", WAYS)
async def test_it_streams_the_tokens_the_finish_reason_and_the_usage(openai_server, way, session):
    openai_server.replies.append(Reply(["Falcons ", "dive ", "fast."]))

    chat = model(openai_server, way, session)
    chunks = [c async for c in chat.astream([HumanMessage("Hi")])]

    assert "".join(c.content for c in chunks) == "Falcons dive fast."
    assert [
        c.response_metadata.get("finish_reason")
        for c in chunks
        if c.response_metadata.get("finish_reason")
    ] == ["stop"]
    assert sum((c.usage_metadata or {}).get("output_tokens", 0) for c in chunks) == 3
    request = openai_server.requests[-1]
    assert request["body"]["stream"] is True and request["body"]["model"] == "test-model"
    assert request["body"]["messages"] == [{"role": "user", "content": "Hi"}]
    assert request["headers"]["authorization"] == "Bearer test-key"
    # The SDK names itself in its headers; the session's request carries none of them.
    sdk_headers = [h for h in request["headers"] if h.startswith("x-stainless")]
    assert bool(sdk_headers) == (way == "sdk")


@pytest.mark.parametrize("way", WAYS)
async def test_a_refused_request_raises_the_sdk_error_for_its_status(openai_server, way, session):
    openai_server.replies.append(Reply([], status=401))

    with pytest.raises(openai.AuthenticationError) as raised:
        await streamed(model(openai_server, way, session))

    assert raised.value.status_code == 401
    assert "Scripted failure with HTTP status 401" in raised.value.message
    assert len(openai_server.requests) == 1  # a refused key is not worth another try


@pytest.mark.parametrize("way", WAYS)
async def test_a_busy_server_is_asked_again_and_its_answer_streams(openai_server, way, session):
    openai_server.replies.extend([Reply([], status=503), Reply(["Second ", "time."])])

    assert await streamed(model(openai_server, way, session)) == ["Second ", "time."]
    assert len(openai_server.requests) == 2


@pytest.mark.parametrize("way", WAYS)
async def test_an_error_event_mid_answer_raises_after_the_tokens_before_it(
    openai_server, way, session
):
    openai_server.replies.append(Reply(["Falcons ", "dive ", "fast."], fail_after=2))
    seen: list[str] = []

    with pytest.raises(openai.APIError, match="had an error"):
        async for chunk in model(openai_server, way, session).astream([HumanMessage("Hi")]):
            seen.append(chunk.content)

    assert seen == ["Falcons ", "dive "]


@pytest.mark.parametrize("way", WAYS)
async def test_a_connection_dropped_mid_answer_ends_without_a_finish_reason(
    openai_server, way, session
):
    # The body ends when the connection does, so only the missing finish reason
    # tells a cut from an end; queries.generation turns it into an error.
    openai_server.replies.append(Reply(["Falcons ", "dive ", "fast."], cut_after=1))

    chunks = [c async for c in model(openai_server, way, session).astream([HumanMessage("Hi")])]

    assert [c.content for c in chunks if c.content] == ["Falcons "]
    assert not [c for c in chunks if c.response_metadata.get("finish_reason")]


@pytest.mark.parametrize("way", WAYS)
async def test_a_silent_server_is_a_timeout_after_the_chunk_deadline(openai_server, way, session):
    openai_server.replies.append(Reply(["Falcons ", "dive ", "fast."], stall_after=1))
    chat = model(openai_server, way, session, stream_chunk_timeout=0.5)
    seen: list[str] = []

    with pytest.raises(openai.APITimeoutError):
        async for chunk in chat.astream([HumanMessage("Hi")]):
            seen.append(chunk.content)

    assert seen == ["Falcons "]


async def test_a_server_that_is_not_there_is_a_connection_error(session):
    gone = LeanChatOpenAI(
        model="m",
        api_key="k",
        base_url="http://127.0.0.1:9/v1",
        max_retries=0,
        stream_session=session,
    )

    with pytest.raises(openai.APIConnectionError):
        async for _ in gone.astream([HumanMessage("Hi")]):
            pass


async def test_a_server_that_accepts_and_never_answers_times_out(session):
    import socket
    import time

    silent = socket.create_server(("127.0.0.1", 0))  # the kernel accepts; nobody answers
    port = silent.getsockname()[1]
    chat = LeanChatOpenAI(
        model="m",
        api_key="k",
        base_url=f"http://127.0.0.1:{port}/v1",
        max_retries=0,
        timeout=0.5,
        stream_chunk_timeout=30,
        stream_session=session,
    )
    started = time.monotonic()
    try:
        with pytest.raises(openai.APITimeoutError):
            async for _ in chat.astream([HumanMessage("Hi")]):
                pass
    finally:
        silent.close()
    assert time.monotonic() - started < 5


@pytest.fixture
def proxied(monkeypatch):
    """The environment's proxy settings, read afresh."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy_for.cache_clear()
    yield monkeypatch
    proxy_for.cache_clear()


async def test_the_environments_proxy_carries_the_request(openai_server, session, proxied):
    # The local server stands in for the proxy: it answers the request sent through it.
    proxied.setenv("HTTP_PROXY", openai_server.base_url.rsplit("/v1", 1)[0])
    openai_server.replies.append(Reply(["Falcons ", "dive."]))
    chat = LeanChatOpenAI(
        model="m",
        api_key="k",
        base_url="http://model.invalid/v1",  # reached only through the proxy
        max_retries=0,
        stream_session=session,
    )

    assert await streamed(chat) == ["Falcons ", "dive."]
    assert openai_server.requests[-1]["path"] == "http://model.invalid/v1/chat/completions"


async def test_a_host_the_environment_exempts_is_reached_directly(openai_server, session, proxied):
    proxied.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    proxied.setenv("NO_PROXY", "127.0.0.1")
    openai_server.replies.append(Reply(["Falcons."]))
    chat = model(openai_server, "direct", session)

    assert await streamed(chat) == ["Falcons."]
