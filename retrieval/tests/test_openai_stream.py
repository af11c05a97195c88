"""LeanChatOpenAI against a local OpenAI-protocol server: both of its ways to send a request."""

from __future__ import annotations

import openai
import pytest
from langchain_core.messages import HumanMessage

from retrieval.openai_stream import LeanChatOpenAI
from tests.openai_server import Reply

pytestmark = pytest.mark.slow


def model(server, **options) -> LeanChatOpenAI:
    from openai import DefaultAsyncHttpxClient

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


# Extra headers send the request through the SDK; without them it goes out directly.
WAYS = [
    pytest.param({}, id="direct"),
    pytest.param({"default_headers": {"X-Team": "qa"}}, id="sdk"),
]


@pytest.mark.parametrize("options", WAYS)
async def test_it_streams_the_tokens_the_finish_reason_and_the_usage(openai_server, options):
    openai_server.replies.append(Reply(["Falcons ", "dive ", "fast."]))

    chunks = [c async for c in model(openai_server, **options).astream([HumanMessage("Hi")])]

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


@pytest.mark.parametrize("options", WAYS)
async def test_a_refused_request_raises_the_sdk_error_for_its_status(openai_server, options):
    openai_server.replies.append(Reply([], status=401))

    with pytest.raises(openai.AuthenticationError):
        async for _ in model(openai_server, **options).astream([HumanMessage("Hi")]):
            pass


async def test_a_server_that_is_not_there_is_a_connection_error():
    from openai import DefaultAsyncHttpxClient

    gone = LeanChatOpenAI(
        model="m",
        api_key="k",
        base_url="http://127.0.0.1:9/v1",
        max_retries=0,
        http_async_client=DefaultAsyncHttpxClient(),
    )

    with pytest.raises(openai.APIConnectionError):
        async for _ in gone.astream([HumanMessage("Hi")]):
            pass
