"""The retrieval service: find the caller's passages that answer a question.

Hybrid search inside the graph store: vector similarity and fulltext (BM25-like)
ranks fused by reciprocal rank fusion, then graph expansion from the best hits
(reading-order neighbours and chunks sharing entities), then the relevance
floor and the cut to max_results. The owner filter is inside every statement
the store runs, so no other user's chunk ever reaches this module.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings

from retrieval import query_vectors
from retrieval.errors import StoreError
from retrieval.graphstores import GraphStore, Hit, aget_store
from retrieval.loops import run_sync
from retrieval.query_vectors import aembed_query
from retrieval.questions import (
    REASON_WORDS,
    asks_across_files,
    asks_to_sum_up_each_file,
    asks_why,
    key_terms,
    question_parts,
)
from retrieval.trace import Trace

# Reciprocal rank fusion constant (Cormack et al.); 60 is the usual choice.
RRF_K = 60
# How much each ranking counts in the fusion.
VECTOR_WEIGHT = 1.0
FULLTEXT_WEIGHT = 1.0
# Passages whose cosine similarity to the question (MiniLM) is below this are
# not evidence and are never cited. Calibrated on two kinds of documents: on
# HaluEval's short Wikipedia passages (bench/quality.py) 0.30 and 0.15 give the
# same recall@5 (0.988/0.987) and refusals, and 0.15 costs 0.8 points of answer
# match; on a project's working files (bench/dossier.py), whose passages are
# long and mixed (notes, a quote, an email) and score 0.15-0.25 against a short
# question that they answer, 0.30 cut most of them: search recall 0.38 at 0.30,
# 0.57 at 0.15, cited-document recall 0.31 -> 0.44. Whether the passages
# actually answer is left to the model (the local one weighs similarity and
# shared names).
RELEVANCE_FLOOR = 0.15
# How much the ranking for one part of a question that asks several things
# counts in the fusion, beside the whole question's two rankings.
PART_WEIGHT = 0.25
# A sentence that gives a reason, in the words REASON_WORDS searches with.
_GIVES_A_REASON = re.compile(r"\b(?:because|reason|due to|caused)\b", re.I)
# Expansion hits rank below the hits they were reached from.
EXPANSION_WEIGHT = 0.5
# A passage that is mostly an email's quoted earlier messages ("> Thanks for the
# quote") ranks below the messages themselves: a reply quotes its whole thread, so
# without this every later reply competes with the message that first said it.
QUOTED_WEIGHT = 0.5
# How long a question may queue for its turn to search before it is told the
# store is busy (a burst far beyond what the process can serve).
SEARCH_QUEUE_SECONDS = 60

# Which of the given documents still exist. A document deleted inside a transaction
# (the admin's delete, a cascade) keeps its chunks in the store until the worker
# clears them; the answer path passes a check against the database.
Existing = Callable[[set[str]], Awaitable[set[str]]]

_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


class Mode(StrEnum):
    VECTOR = "vector"
    FULLTEXT = "fulltext"
    HYBRID = "hybrid"
    GRAPH = "graph"  # hybrid + graph expansion (the default)


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    document_id: str
    title: str
    filename: str
    page: int | None
    text: str
    score: float  # cosine similarity to the question
    index: int = 0
    ocr: bool = False  # its text was read from a picture by OCR
    page_label: str | None = None  # the page's printed label ("iii"), when not its number


def fuse(rankings: Sequence[tuple[float, Sequence[Hit]]]) -> dict[str, float]:
    """Reciprocal rank fusion: each ranking adds weight / (RRF_K + rank) to its chunks."""
    fused: dict[str, float] = {}
    for weight, ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            fused[hit.chunk_id] = fused.get(hit.chunk_id, 0.0) + weight / (RRF_K + rank)
    return fused


async def aretrieve(
    owner_id: int,
    query: str,
    *,
    max_results: int = 5,
    document_ids: Sequence[str] | None = None,
    mode: Mode = Mode.GRAPH,
    floor: float = RELEVANCE_FLOOR,
    trace: Trace | None = None,
    existing: Existing | None = None,
) -> list[Passage]:
    """The owner's passages for `query`, best first; empty when nothing clears the floor.

    `trace`, when given, records what each step found and how long it took;
    `existing`, when given, leaves out the passages of documents it does not return."""
    trace = trace if trace is not None else Trace()
    trace.question = query
    if document_ids is not None and not document_ids:
        return []
    if asks_to_sum_up_each_file(query):
        floor = -1.0  # each file's passages answer, however little like the question
    store = await aget_store()
    parts = question_parts(query)
    asks = _asks(query, parts)
    # The words are searched while the vectors are made: the fulltext search needs
    # the question's vector only to read its hits' similarity, at its end.
    vectors = asyncio.ensure_future(_vectors(asks, trace))
    searched = Searched(
        query,
        vectors,
        len(asks) - 1,
        [f"{part} {REASON_WORDS}" for part in parts if len(parts) > 1 and asks_why(part)],
    )
    try:
        async with _turn(trace):
            found = await _search(
                store, owner_id, searched, max_results, document_ids, mode, floor, trace, existing
            )
        await vectors  # a failure to make them fails the search, whichever searches ran
        return found
    finally:
        _drop(vectors)  # when the search ended first (it failed, or its caller left)


async def _vectors(asks: list[str], trace: Trace) -> list[list[float]]:
    """The question's vector, then each part's search vector."""
    with trace.step("query embedding"):
        vector, *part_vectors = await asyncio.gather(*(aembed_query(text) for text in asks))
    return [vector, *(_towards(vector, part) for part in part_vectors)]


def embed_ahead(query: str) -> None:
    """Start embedding what `aretrieve(..., query)` will search for, so that a
    question's vectors are made while it waits to be prepared (queries/admission.py)."""
    query_vectors.embed_ahead(_asks(query, question_parts(query)))


def _asks(query: str, parts: list[str]) -> list[str]:
    """The texts embedded for a question: itself, and each part when it asks several things."""
    return [query, *parts] if len(parts) > 1 else [query]


@dataclass(frozen=True)
class Searched:
    """What is searched for: the question's words, and its vectors as they are made
    (the question's, then one per part when it asks several things)."""

    text: str
    vectors: asyncio.Future[list[list[float]]]
    parts: int  # how many part vectors follow the question's
    # A "why" ask's words with the words a reason is given with: the sentence that
    # gives it ("Reason: the sign-on bug ...") rarely shares the ask's meaning.
    reason_queries: list[str] = field(default_factory=list)

    async def vector(self, n: int = 0) -> list[float]:
        """The question's vector (0), or part n's."""
        return (await self.vectors)[n]


def _towards(question: Sequence[float], part: Sequence[float]) -> list[float]:
    """A part's search vector: the part, kept in the question's context (a part read
    alone, "who owns them", says little), as the normalised sum of both vectors."""
    summed = [q + p for q, p in zip(question, part, strict=True)]
    norm = sum(x * x for x in summed) ** 0.5 or 1.0
    return [x / norm for x in summed]


def _gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(max(1, settings.GRAPH_STORE_CONNECTIONS // 2))
    return gate


@asynccontextmanager
async def _turn(trace: Trace) -> AsyncIterator[None]:
    """Searches take turns, as many at a time per process as the store's pool can
    serve (each runs up to two queries at once): under a burst, questions queue
    here in order instead of timing out on the pool while the process catches up."""
    gate = _gate()
    try:
        with trace.step("waiting for a turn to search"):
            async with asyncio.timeout(SEARCH_QUEUE_SECONDS):
                await gate.acquire()
    except TimeoutError:
        raise StoreError(StoreError.BUSY) from None
    try:
        yield
    finally:
        gate.release()


async def _search(
    store: GraphStore,
    owner_id: int,
    searched: Searched,
    max_results: int,
    document_ids: Sequence[str] | None,
    mode: Mode,
    floor: float,
    trace: Trace,
    existing: Existing | None = None,
) -> list[Passage]:
    candidates = max(max_results * 4, 20)

    # Both rankings at once: the store answers them side by side.
    searches: list[tuple[float, Awaitable[list[Hit]]]] = []

    def add(name: str, weight: float, search: Awaitable[list[Hit]]) -> None:
        searches.append((weight, trace.search(name, weight, search)))

    async def by_vector(n: int) -> list[Hit]:
        return await store.vector_search(
            owner_id, await searched.vector(n), candidates, document_ids
        )

    if mode != Mode.FULLTEXT:
        add("vector", VECTOR_WEIGHT, by_vector(0))
    if mode != Mode.VECTOR:
        add(
            "fulltext",
            FULLTEXT_WEIGHT,
            store.fulltext_search(
                owner_id, searched.text, candidates, document_ids, searched.vector
            ),
        )
    if mode != Mode.FULLTEXT:
        for n in range(1, searched.parts + 1):
            add("vector, one part of the question", PART_WEIGHT, by_vector(n))
    reason_searches = searched.reason_queries if mode != Mode.VECTOR else []
    for words in reason_searches:
        add(
            "fulltext, with the words a reason is given in",
            PART_WEIGHT,
            store.fulltext_search(owner_id, words, candidates, document_ids, searched.vector),
        )
    with trace.step("searches"):
        found = await asyncio.gather(*(search for _, search in searches))
    rankings = [(weight, hits) for (weight, _), hits in zip(searches, found, strict=True)]
    # The first passage each reason search (the last searches) found that gives a reason.
    reasons = {
        next((hit.chunk_id for hit in ranking if _GIVES_A_REASON.search(hit.text)), "")
        for ranking in found[len(found) - len(reason_searches) :]
    } - {""}

    fused = fuse(rankings)
    hits: dict[str, Hit] = {}
    for _, ranking in rankings:
        for hit in ranking:
            hits.setdefault(hit.chunk_id, hit)
    for cid, hit in hits.items():
        if mostly_quoted(hit.text):
            fused[cid] *= QUOTED_WEIGHT
    similarity = {cid: hit.similarity or 0.0 for cid, hit in hits.items()}

    def order(cid: str) -> tuple[float, float]:
        return (-fused[cid], -similarity[cid])

    relevant = sorted((cid for cid in hits if similarity[cid] >= floor), key=order)
    # The documents are checked while the graph is expanded.
    check = _DocumentCheck.begin(existing, {hits[cid].document_id for cid in relevant})
    try:
        if mode == Mode.GRAPH and relevant:
            seeds = relevant[:max_results]
            with trace.step("graph expansion"):
                expanded = await store.expand(
                    owner_id, seeds, document_ids=document_ids, embedding=await searched.vector()
                )
            trace.expanded(expanded)
            for hit in expanded:
                if hit.chunk_id not in hits:
                    hits[hit.chunk_id] = hit
                    similarity[hit.chunk_id] = hit.similarity or 0.0
                    if similarity[hit.chunk_id] >= floor:
                        relevant.append(hit.chunk_id)
                if similarity[hit.chunk_id] >= floor:
                    # A neighbour of a top hit ranks at least half as high as it, even
                    # when the searches found it on their own further down.
                    lifted = EXPANSION_WEIGHT * fused.get(hit.seed or "", 0.0)
                    fused[hit.chunk_id] = max(fused.get(hit.chunk_id, 0.0), lifted)
            relevant.sort(key=order)
        if check is not None:
            with trace.step("documents checked"):
                live = await check.live({hits[cid].document_id for cid in relevant})
            relevant = [cid for cid in relevant if hits[cid].document_id in live]
    finally:
        if check is not None:
            check.drop()

    if asks_across_files(searched.text):
        relevant = _each_file_first(relevant, hits)
    if mode == Mode.VECTOR:  # by meaning alone, as the mode says
        chosen = relevant[:max_results]
    else:
        chosen = _with_what_is_asked(searched.text, relevant, hits, max_results, reasons)
    trace.choose(chosen, fused, similarity)
    return [_passage(hits[cid], similarity[cid]) for cid in chosen]


@dataclass
class _DocumentCheck:
    """`existing` asked about the documents the searches found, while the graph is
    expanded; asked again only about documents the expansion reached."""

    existing: Existing
    asked: set[str]
    task: asyncio.Future[set[str]]

    @classmethod
    def begin(cls, existing: Existing | None, documents: set[str]) -> _DocumentCheck | None:
        if existing is None:
            return None
        if not documents:
            nothing = asyncio.get_running_loop().create_future()
            nothing.set_result(set())
            return cls(existing, documents, nothing)
        return cls(existing, documents, asyncio.ensure_future(existing(documents)))

    async def live(self, documents: set[str]) -> set[str]:
        found = await self.task
        unseen = documents - self.asked
        return found | (await self.existing(unseen)) if unseen else found

    def drop(self) -> None:
        _drop(self.task)


def _drop(task: asyncio.Future) -> None:
    """Stopped when nobody will read it; a failure nobody read marked seen (the
    search's own error, raised first, is the one that counts)."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()


def mostly_quoted(text: str) -> bool:
    """Whether most lines of `text` are an email's quoted earlier messages."""
    if ">" not in text:  # most passages: no line to count
        return False
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) > 0 and sum(line.lstrip().startswith(">") for line in lines) * 2 >= len(lines)


def _each_file_first(ranked: list[str], hits: dict[str, Hit]) -> list[str]:
    """The best passage of each file, in rank order, then the others: a timeline or
    a summary of every document needs many files more than a second passage of one."""
    seen: set[str] = set()
    firsts = [
        c for c in ranked if not (hits[c].document_id in seen or seen.add(hits[c].document_id))
    ]
    return firsts + [c for c in ranked if c not in set(firsts)]


def _with_what_is_asked(
    query: str, ranked: list[str], hits: dict[str, Hit], k: int, reasons: set[str]
) -> list[str]:
    """The first k of `ranked`, and for each thing the question asks for that none
    of them holds, the best-ranked passage further down that does, in place of the
    last passage nothing else asked for needs. What is asked for: each name or
    number the question gives ("v1", "Q-2025-118"), and for a "why" ask, the
    passage its reason search found first (`reasons`).

    A question comparing "v1 and v2" has its vector drawn to whichever version
    is described in more words; the fulltext search finds the other, but one
    ranking alone rarely carries a passage into the fused top k. A reason
    ("Reason: the sign-on bug ...") seldom shares the question's meaning at all.
    """
    chosen = ranked[:k]
    if len(ranked) <= k:
        return chosen

    def holds(term: str) -> Callable[[str], bool]:
        pattern = re.compile(r"(?<![^\W_])" + re.escape(term))

        def test(cid: str) -> bool:
            hit = hits[cid]
            return pattern.search(f"{hit.filename} {hit.title} {hit.text}".lower()) is not None

        return test

    needs = [holds(term) for term in dict.fromkeys(key_terms(query))]
    needs += [reasons.__contains__] if reasons else []
    for need in needs:
        if any(need(cid) for cid in chosen):
            continue
        found = next((cid for cid in ranked[k:] if cid not in chosen and need(cid)), None)
        if found is None:
            continue
        spare = [cid for cid in chosen if not any(other(cid) for other in needs)]
        if not spare:
            break
        chosen[chosen.index(spare[-1])] = found
    return chosen


def retrieve(owner_id: int, query: str, **options: object) -> list[Passage]:
    """Sync twin of aretrieve, for the shell and sync code."""
    return run_sync(aretrieve, owner_id, query, **options)  # type: ignore[arg-type]


def _passage(hit: Hit, similarity: float) -> Passage:
    return Passage(
        chunk_id=hit.chunk_id,
        document_id=hit.document_id,
        title=hit.title,
        filename=hit.filename,
        page=hit.page,
        text=hit.text,
        score=round(similarity, 4),
        index=hit.index,
        ocr=hit.ocr,
        page_label=hit.page_label,
    )
