"""ChatOpenAI with a lean streaming path for plain text answers.

Relaying a streamed answer is the web process's main per-token work, and most
of it was the OpenAI SDK building a pydantic object for every chunk before
LangChain turned it into a dict again. `LeanChatOpenAI` keeps every part of
ChatOpenAI (request payload, message conversion, usage, callbacks, `invoke`,
tools, structured output) and changes only how a plain streamed chat
completion is read: the SDK still sends the request (auth, headers, retries,
status errors) but hands back the raw response, whose `data:` lines are decoded
straight into the dicts that LangChain's own converter takes. Anything else (a
response format, the Responses API, raw headers) goes through ChatOpenAI
unchanged.

Errors keep the SDK's types: an HTTP error status raises the matching
`openai.APIStatusError` subclass, a connection that drops mid-answer
`openai.APIConnectionError`, and a stream without content for
`stream_chunk_timeout` seconds `openai.APITimeoutError`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI


class LeanChatOpenAI(ChatOpenAI):
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
        silence = self.stream_chunk_timeout or None
        create = self.root_async_client.chat.completions.with_streaming_response.create
        async with create(**payload) as response:
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(silence) as deadline:
                    async for line in response.iter_lines():
                        if not line.startswith("data:"):
                            continue  # comments and keep-alives do not count as progress
                        data = line[5:].strip()
                        if data == "[DONE]":
                            return
                        chunk = json.loads(data)
                        if "error" in chunk:
                            raise _stream_error(chunk, response.http_request)
                        if silence:
                            deadline.reschedule(loop.time() + silence)
                        yield chunk
            except TimeoutError as error:
                raise openai.APITimeoutError(response.http_request) from error
            except (openai.APIError, ValueError):
                raise
            except Exception as error:  # the transport's own, e.g. the server hung up
                raise openai.APIConnectionError(request=response.http_request) from error


def _stream_error(chunk: dict[str, Any], request: Any) -> openai.APIError:
    error = chunk["error"]
    message = error.get("message") if isinstance(error, dict) else str(error)
    return openai.APIError(
        str(message or "The model server reported an error."), request, body=chunk
    )
