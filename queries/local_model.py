"""The local extractive chat model: answers by quoting the passages, no download, no key.

It is a LangChain chat model like ChatOpenAI, so the generation service
streams from it the same way. It reads the numbered passages and the question
from the answer prompt, picks the passage sentences closest in meaning to the
question (the shipped MiniLM embeddings) and quotes them, each followed by the
[n] marker of the passage it came from, streamed word by word.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from queries.prompts import I_DONT_KNOW

# A passage of queries.prompts.format_passages: its text is escaped, so the
# first closing tag is its own.
_PASSAGE = re.compile(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)
# Sentence ends, including sentences glued together without a space ("1990.The").
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|(?<=[a-z)][.!?])(?=[A-Z])")
_WORD = re.compile(r"\w+")


# A sentence that speaks to an AI instead of informing a reader ("IMPORTANT
# SYSTEM INSTRUCTION FOR AI ASSISTANTS: ... reply only with ...") is an attempt
# to steer the answer, not evidence: it is never quoted.
_STEERING = re.compile(
    r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+|every\s+|the\s+)?"
    r"(?:previous|prior|other|above|earlier)\b"
    r"|\b(?:system|developer)\s+(?:instruction|prompt|message)s?\b"
    r"|\b(?:ai|llm|language[- ]model)\s+(?:assistant|model|system)s?\b"
    r"|\b(?:reply|respond|answer)\s+(?:only\s+)?with\s+(?:only\s+)?the\s+(?:single\s+)?word\b"
    r"|\b(?:reply|respond|answer)\s+only\s+with\b"
    r"|\bwhatever\s+the\s+user\s+asks\b"
    r"|\binstructions?\s+overrides?\b",
    re.I,
)

# Lines that describe a document rather than say something: an email's headers,
# its list of attachments, a table's list of columns (retrieval.parsing writes
# them). They are searched, never quoted as an answer.
_METADATA = re.compile(r"^(?:\[[^\]]*\] )?(?:From|To|Cc|Date|Subject|Attachments|Columns): ")

_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")
# A spreadsheet row as retrieval.parsing writes it: "[Sheet] Column: value; ...".
_SHEET_ROW = re.compile(r"^\[[^\]]+\] ")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")


def text_blocks(text: str) -> list[str]:
    """Paragraphs and list items, with Markdown headings left out.

    Lines inside a paragraph are joined (PDF text breaks lines mid-sentence);
    a heading is a title, not an answer, and quoting it would glue "# Title"
    to the next sentence and render the whole quote as a heading. A sheet's
    rows stay one per block, and its title line counts as a heading.
    """
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if not line.strip() or _HEADING.match(line):
            blocks.append([])
        elif _LIST_ITEM.match(line):
            blocks.append([_LIST_ITEM.sub("", line)])
        elif _SHEET_ROW.match(line):  # a row is a record of its own; a short one, a title
            title = len(line.split()) <= 6 and not any(ch.isdigit() for ch in line)
            blocks.append([] if title else [line])
            blocks.append([])
        else:
            blocks[-1].append(line)
    return [" ".join(" ".join(block).split()) for block in blocks if block]


# Reference marks a document carries ("fastest bird.[3]", "[citation needed]"):
# quoted as they are they would read as our own [n] markers for other passages.
_SOURCE_REFERENCE = re.compile(r"\s*\[(?:\d+(?:\s*[,–-]\s*\d+)*|citation needed)\]", re.I)


def split_sentences(text: str) -> list[str]:
    text = _SOURCE_REFERENCE.sub("", text)
    parts = [part for block in text_blocks(text) for part in _SENTENCE_END.split(block)]
    return [part.strip() for part in parts if len(part.strip()) > 1]


_NAME_STOPWORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "and",
        "or",
        "is",
        "was",
        "were",
        "which",
        "who",
        "what",
        "when",
        "where",
        "how",
        "did",
        "does",
        "do",
        "by",
        "with",
        "from",
        "as",
        "that",
        "this",
        "it",
        "its",
        "be",
        "been",
        "are",
        "whose",
        "whom",
        "than",
    ]
)


def key_terms(question: str) -> list[str]:
    """Names and numbers of a question: the words a passage must share to answer it."""
    words = re.findall(r"[\w'’-]+", question)
    return [
        word.lower().strip("'’")
        for position, word in enumerate(words)
        if (word[:1].isupper() and position > 0 and word.lower() not in _NAME_STOPWORDS)
        or any(ch.isdigit() for ch in word)
    ]


def coverage(terms: list[str], text: str) -> float:
    """Share of the terms that occur in the text (as word starts)."""
    if not terms:
        return 1.0
    lowered = text.lower()
    return sum(bool(re.search(r"\b" + re.escape(t), lowered)) for t in terms) / len(terms)


def read_prompt(messages: list[BaseMessage]) -> tuple[str, list[tuple[int, str]]]:
    """The question (the last user message) and the numbered passages (from the
    <passages> block of the user message before it)."""
    said = [str(m.content) for m in messages if isinstance(m, HumanMessage)]
    question = said[-1] if said else ""
    block = next((text for text in reversed(said[:-1]) if text.startswith("<passages>")), "")
    passages = [(int(n), html.unescape(text).strip()) for n, text in _PASSAGE.findall(block)]
    return question, passages


class ExtractiveChatModel(BaseChatModel):
    """Quotes the passage sentences that best answer the question."""

    max_sentences: int = 3
    min_similarity: float = 0.2
    # Whether the passages answer the question at all, judged per passage as
    # 2 x (cosine similarity to the question) + (share of the question's names
    # and numbers the passage contains). Fitted on the HaluEval dev set
    # (bench/quality.py) by logistic regression on those two features (which
    # gave the 2:1 weights); refusing below 1.2 refuses about 82% of unanswerable
    # questions and 5% of answerable ones. Either feature alone does worse: at
    # 5% wrong refusals, similarity alone refuses about 70%, names alone about 65%.
    min_evidence: float = 1.2
    word_delay: float = 0.0  # seconds between streamed words; 0 streams as fast as possible

    @property
    def _llm_type(self) -> str:
        return "local-extractive"

    def answer(self, messages: list[BaseMessage]) -> str:
        from retrieval import embeddings

        question, passages = read_prompt(messages)
        candidates = [
            (number, sentence)
            for number, text in passages
            for sentence in split_sentences(text)
            if not _STEERING.search(sentence) and not _METADATA.match(sentence)
        ]
        if not question or not candidates:
            return I_DONT_KNOW
        terms = key_terms(question)
        vectors = embeddings.embed_texts(
            [question] + [text for _, text in passages] + [s for _, s in candidates]
        )
        asked, whole, rest = (
            vectors[0],
            vectors[1 : len(passages) + 1],
            vectors[len(passages) + 1 :],
        )
        evidence = max(
            2 * sum(a * b for a, b in zip(asked, vector, strict=True)) + coverage(terms, text)
            for vector, (_, text) in zip(whole, passages, strict=True)
        )
        if evidence < self.min_evidence:
            return I_DONT_KNOW
        question_words = {w.lower() for w in _WORD.findall(question)}

        def score(index: int) -> float:
            semantic = sum(a * b for a, b in zip(asked, rest[index], strict=True))
            words = {w.lower() for w in _WORD.findall(candidates[index][1])}
            overlap = len(words & question_words) / (len(question_words) or 1)
            names = coverage(terms, candidates[index][1]) if terms else 0.0
            return semantic + 0.2 * overlap + 0.2 * names

        ranked = sorted(range(len(candidates)), key=score, reverse=True)
        chosen = [i for i in ranked[: self.max_sentences] if score(i) >= self.min_similarity]
        if not chosen:
            return I_DONT_KNOW
        return " ".join(f"{candidates[i][1]} [{candidates[i][0]}]" for i in chosen)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessage(content=self.answer(messages))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for word in re.findall(r"\S+\s*", self.answer(messages)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        text = await asyncio.to_thread(self.answer, messages)
        words = re.findall(r"\S+\s*", text)
        for number, word in enumerate(words):
            last = number == len(words) - 1
            chunk = ChatGenerationChunk(
                message=AIMessageChunk(
                    content=word,
                    response_metadata={"finish_reason": "stop"} if last else {},
                )
            )
            if run_manager:
                await run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk
            await asyncio.sleep(self.word_delay)
