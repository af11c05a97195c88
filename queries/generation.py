"""The generation service: stream an answer to a question from retrieved passages.

`stream_answer` is an async generator of text over a LangChain chat model's own
`astream`. Closing it (the client went away) closes the model's stream at once,
so no further tokens are requested from the model server.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from django.conf import settings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from queries.deadline import Deadline
from queries.prompts import ANSWER, I_DONT_KNOW, REWRITE, format_passages
from retrieval import llm
from retrieval.errors import RagError
from retrieval.search import Passage


class GenerationError(RagError, code="generation_failed", status=502):
    pass


class GenerationTimeout(GenerationError, code="generation_timeout", status=504):
    pass


MODEL_FAILED = "The language model did not answer. Please try again in a moment."
MODEL_SLOW = "The language model took too long to answer. Please try again in a moment."


# Words that make a question lean on an earlier turn.
# Words that point back to what the conversation was about ("its limits").
_POINTS_BACK = re.compile(
    r"\b(it|its|it's|they|them|their|this|that|these|those|he|him|his|she|her|there|"
    r"the same)\b",
    re.IGNORECASE,
)
# An opening that carries on from the last question ("And ...", "What about ...").
_CARRIES_ON = re.compile(r"^\W*(and|also|then|what about|how about)\b", re.IGNORECASE)
# A subject of its own: a name or a figure past the question's first word.
_OWN_SUBJECT = re.compile(r"(?<=\s)(?!I\b)[A-Z][\w'’-]*|\d")
# A question complete on its own: a question word or a verb first, four words or more
# ("Which line is furthest below plan?"), not a scrap ("and in cities?", "Why?").
_COMPLETE = re.compile(
    r"^\W*(?:who|whom|whose|what|which|when|where|why|how|is|are|was|were|do|does|did|"
    r"can|could|should|will|would|has|have|had)\b(?:\W+\w+){3,}",
    re.IGNORECASE,
)


@dataclass
class Turn:
    """One earlier message of the conversation, as the model sees it."""

    role: str  # "user" or "assistant"
    text: str


@dataclass
class StreamInfo:
    """Filled in while streaming: why the model stopped."""

    finish_reason: str = ""


def chat_model(*, streaming: bool = True) -> BaseChatModel:
    """ChatOpenAI when one is configured, the local extractive model otherwise."""
    if llm.configured():
        return llm.chat_openai(streaming=streaming)
    from queries.local_model import ExtractiveChatModel

    return ExtractiveChatModel()


def history_messages(history: Sequence[Turn]) -> list[BaseMessage]:
    return [
        HumanMessage(turn.text) if turn.role == "user" else AIMessage(turn.text) for turn in history
    ]


def warm_up() -> None:
    """Answer one made-up question with the local model, so that the first person's
    does not wait for its first use (0.6 s, beside the 0.5 s of importing it)."""
    from retrieval.loops import run_sync
    from retrieval.search import Passage

    passage = Passage(
        chunk_id="warm-up:0",
        document_id="warm-up",
        title="warm-up",
        filename="warm-up.txt",
        page=None,
        text="The peregrine falcon is the fastest bird. It dives at over 300 km/h.",
        score=0.8,
    )

    async def answer() -> None:
        async for _ in stream_answer("How fast is the falcon?", [passage]):
            pass

    run_sync(answer)


async def stream_answer(
    query: str,
    passages: Sequence[Passage],
    history: Sequence[Turn] = (),
    *,
    info: StreamInfo | None = None,
    model: BaseChatModel | None = None,
    compared: bool = False,
) -> AsyncIterator[str]:
    """Text of the answer as the model produces it; the fixed sentence when nothing fits.
    `compared`: the passages come from documents searched one by one to be compared."""
    info = info if info is not None else StreamInfo()
    if not passages:
        info.finish_reason = "no_passages"
        yield I_DONT_KNOW
        return
    messages = ANSWER.format_messages(
        i_dont_know=I_DONT_KNOW,
        passages=format_passages(list(passages), compared=compared),
        history=history_messages(history),
        question=query,
    )
    stream = (model or chat_model()).astream(messages)
    # The whole answer has ANSWER_TIMEOUT; each wait for the model's next piece
    # is bounded by what is left of it.
    deadline = Deadline(settings.ANSWER_TIMEOUT)
    try:
        while True:
            try:
                chunk = await deadline.wait(anext(stream))
            except StopAsyncIteration:
                break
            reason = chunk.response_metadata.get("finish_reason")
            if reason:
                info.finish_reason = str(reason)
            text = chunk.content if isinstance(chunk.content, str) else ""
            if text:
                yield text
    except RagError:
        raise
    except Exception as error:  # the model's server failed, went silent or went away
        if _timed_out(error):
            raise GenerationTimeout(MODEL_SLOW) from error
        raise GenerationError(MODEL_FAILED) from error
    finally:
        deadline.close()
        await stream.aclose()  # type: ignore[attr-defined]
    if not info.finish_reason:
        # OpenAI-compatible servers end every answer with a finish reason; a
        # stream that stops without one was cut off.
        raise GenerationError("The model stopped before finishing its answer.")


def _timed_out(error: Exception) -> bool:
    """The answer's deadline passed, or the model went silent (the client's own timeout)."""
    openai = sys.modules.get("openai")  # loaded only when an OpenAI model is configured
    return isinstance(error, TimeoutError) or (
        openai is not None and isinstance(error, openai.APITimeoutError)
    )


async def standalone_question(query: str, history: Sequence[Turn]) -> str:
    """A follow-up rewritten so that retrieval understands it without the conversation."""
    earlier = [turn.text for turn in history if turn.role == "user"]
    if not earlier:
        return query
    if llm.configured():
        try:
            reply = await chat_model(streaming=False).ainvoke(
                REWRITE.format_messages(history=history_messages(history), question=query)
            )
        except Exception as error:
            raise GenerationError(MODEL_FAILED) from error
        rewritten = str(reply.content).strip()
        return rewritten if re.search(r"\w{2}", rewritten) else query
    # Local rule: a scrap of a question ("and in cities?"), one that points back
    # ("its limits"), or one that carries on ("and what about ...") without naming a
    # subject of its own borrows the words of the previous question.
    carries_on = _CARRIES_ON.search(query) and not _OWN_SUBJECT.search(query)
    scrap = len(query.split()) <= 6 and not _COMPLETE.search(query)
    if scrap or _POINTS_BACK.search(query) or carries_on:
        return f"{earlier[-1]} {query}"
    return query
