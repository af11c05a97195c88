"""The graph-store contract and the logic both backends share.

A backend supplies a way to run one Cypher statement, a transaction scope and
the few statements where FalkorDB and Neo4j disagree (index DDL, vector and
fulltext procedures, vector literals, score meaning). Everything else, the
write protocol included, is written once here against `retrieval.graphstores.cypher`.

Writing a document is staged so that no reader ever sees half of it, on
either backend: chunks are first created under a fresh `run` id with no
HAS_CHUNK edge (every read reaches chunks through their Document, so staged
chunks are invisible), then one statement swaps the old chunks for the new.
On Neo4j the whole write is also one transaction; on FalkorDB, where each
statement is atomic on its own, a failure deletes the staged run.
"""

from __future__ import annotations

import abc
import asyncio
import itertools
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar, Protocol, Self

from retrieval.graphstores import cypher
from retrieval.words import bm25, document_words, query_words, stem, terms

logger = logging.getLogger(__name__)

WRITE_BATCH = 100
MAX_QUERY_WORDS = 12  # words of a question looked up in the fulltext index
FULLTEXT_POOL = 200  # candidates rescored by BM25
ENTITY_FANOUT = 100  # entities mentioned by more chunks are not followed by expansion
OWNERS_KEPT = 32  # owners whose word counts a store keeps (at most ~20 MB in all)
WORDS_KEPT_PER_OWNER = 5_000
# Owners whose whole vocabulary a store keeps (0: none), each of at most so many
# words (~5 MB at the most, ~1 MB for 10,000 chunks of Wikipedia passages); an
# owner with more distinct words has them looked up word by word.
VOCABULARIES_KEPT = 4
VOCABULARY_WORDS_MAX = 50_000


@dataclass
class _KnownWords:
    """Word counts of one owner's chunks, true while the owner's documents are at `version`."""

    version: tuple[int, ...]
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Vocabulary:
    """Every word of one owner's chunks (stemmed) with its count, true at `version`."""

    version: tuple[int, ...]
    counts: dict[str, int]

    def count(self, words: Sequence[str]) -> dict[str, int]:
        return {word: self.counts.get(stem(word), 0) for word in words}


def owner_key(owner_id: int) -> str:
    """The token that scopes a fulltext query to one owner's chunks, inside the index."""
    return f"owner{int(owner_id)}"


@dataclass(frozen=True)
class DocumentNode:
    id: str
    owner_id: int
    title: str
    filename: str
    attached_to: str | None = None  # the email a file came attached to


@dataclass(frozen=True)
class EntityNode:
    key: str
    name: str
    type: str


@dataclass(frozen=True)
class ChunkNode:
    index: int
    text: str
    page: int | None
    embedding: Sequence[float]
    entities: Sequence[EntityNode] = field(default_factory=tuple)
    ocr: bool = False  # its text was read from a picture by OCR
    page_label: str | None = None  # the page's printed label ("iii"), when not its number


@dataclass(frozen=True)
class Hit:
    """A chunk returned by a search, with the document it belongs to."""

    chunk_id: str
    document_id: str
    title: str
    filename: str
    index: int
    page: int | None
    text: str
    score: float
    similarity: float | None = None  # cosine similarity to the question, when one was given
    seed: str | None = None  # for expansion hits: the hit it was reached from
    ocr: bool = False
    page_label: str | None = None  # absent on chunks written before labels were kept


class Runner(Protocol):
    async def run(
        self, query: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...


ProgressCallback = Callable[[int], Awaitable[None]]


class GraphStore(abc.ABC):
    """What the rest of the product may ask of a graph store.

    A new backend is one subclass, named in settings.GRAPH_STORE_BACKEND.
    """

    name: ClassVar[str]  # a short name for messages and logs
    identity: str  # the database this store talks to: indexes are set up once per identity

    # --- what each backend implements ---------------------------------------
    @classmethod
    @abc.abstractmethod
    def from_settings(cls, **overrides: Any) -> Self:
        """A new, unconnected store configured from settings; `overrides` win."""

    @classmethod
    def configuration_errors(cls) -> list[str]:
        """What is missing from settings for this backend (reported by a system check)."""
        return []

    @classmethod
    def stop_server(cls) -> bool:
        """Stop a server this backend started itself, if any; True when one was stopped."""
        return False

    @abc.abstractmethod
    async def run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one statement outside any explicit transaction; rows as dicts."""

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Runner]:
        """A scope whose statements commit together where the backend allows it."""

    @abc.abstractmethod
    def vector_expr(self, expression: str) -> str:
        """Cypher turning a list of floats into the type the vector index reads."""

    def vector_param(self, embedding: Sequence[float] | None) -> Any:
        """An embedding as a query parameter (the driver's own encoding by default)."""
        return [float(x) for x in embedding] if embedding is not None else None

    @abc.abstractmethod
    async def _create_indexes(self, dimension: int) -> None:
        """Create the vector, fulltext and lookup indexes if missing."""

    @abc.abstractmethod
    async def vector_index_dimension(self) -> int | None:
        """Dimension of the existing chunk vector index, None if there is none."""

    @abc.abstractmethod
    def similarity_expr(self, stored: str, given: str) -> str:
        """Cypher for the cosine similarity (-1..1) of a stored embedding and a list of floats."""

    @abc.abstractmethod
    def _vector_call(self) -> str:
        """Cypher yielding `node, score` (cosine similarity) for the `$candidates` chunks
        nearest to `$embedding`, of any owner."""

    # Whether _fulltext_call stops at `$candidates` matches (else it yields all).
    fulltext_call_is_limited = True
    # Whether the fulltext index holds chunks' terms (else their text): a chunk
    # without terms is then found once the worker has given it its terms.
    fulltext_indexes_terms = False

    @abc.abstractmethod
    def _fulltext_call(self, query: str = "$query") -> str:
        """Cypher yielding `node, score` (higher is better) for the fulltext query that
        the Cypher expression `query` holds, at most `$candidates` when limited."""

    @abc.abstractmethod
    def fulltext_query(self, text: str, owner_id: int) -> str | None:
        """The user's words as a safe query in the backend's fulltext syntax, matching
        only chunks whose owner_key field is the owner's (see `owner_key`)."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    # --- shared behaviour ---------------------------------------------------
    def mentions_expr(self, entity: str) -> str:
        """Cypher for how many chunks mention an entity (openCypher; a backend may count faster)."""
        return f"size([({entity})<-[:MENTIONS]-(m) | m])"

    def _similarity(self, embedding: Sequence[float] | None) -> str:
        return self.similarity_expr("node.embedding", "$embedding") if embedding else "null"

    async def ping(self) -> None:
        await self.run("RETURN 1 AS ok")

    async def setup(self, dimension: int) -> None:
        """Create indexes; refuse an embedding model whose vectors do not fit the index."""
        from retrieval.errors import ConfigurationError

        existing = await self.vector_index_dimension()
        if existing is not None and existing != dimension:
            raise ConfigurationError(
                f"The graph store's vector index holds {existing}-dimension embeddings, but the "
                f"configured embedding model makes {dimension}-dimension ones. Use the model the "
                f"documents were ingested with, or re-ingest them into an empty graph store.",
                code="embedding_dimension_mismatch",
            )
        await self._create_indexes(dimension)
        await self.run(cypher.SET_CHUNK_COUNTS)

    async def store_missing_terms(self, batch: int = 1_000) -> int:
        """Give chunks written before their terms were stored their terms; how many.

        Until then each search that finds one counts its words from its text,
        slower. The worker runs this beside its tasks (about 1.4 s per 1,000
        chunks): each batch is written as it is made, so a stop loses nothing."""
        stored = 0
        while rows := await self.run(cypher.CHUNKS_WITHOUT_TERMS, {"limit": batch}):
            made = [{"id": row["id"], "terms": terms(row["text"])} for row in rows]
            await self.run(cypher.SET_TERMS, {"rows": made})
            stored += len(made)
        return stored

    async def count_missing_words(self, batch: int = 10) -> int:
        """Keep the word counts of documents written before they were kept (or whose
        counting was cut short); how many were counted. Until then the owner's
        searches count words in the fulltext index, slower. The worker runs this
        beside its tasks; a document rewritten meanwhile is counted by its write."""
        counted = 0
        seen: set[str] = set()
        while rows := await self.run(cypher.UNCOUNTED_DOCUMENTS, {"limit": batch}):
            if all(row["id"] in seen for row in rows):
                break  # left uncounted (its stamp moved): whatever wrote it counts it
            for row in rows:
                seen.add(row["id"])
                chunks = [*row["terms"], *(terms(text) for text in row["texts"])]
                await self.run(
                    cypher.COUNT_DOCUMENT_WORDS,
                    {"id": row["id"], "written": row["written"]}
                    | _word_changes(row["owner_id"], document_words(chunks)),
                )
                counted += 1
        return counted

    async def write_document(
        self,
        document: DocumentNode,
        chunks: Sequence[ChunkNode],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """Replace the document's chunks with these, all at once or not at all."""
        run_id = uuid.uuid4().hex
        stamp = _write_stamp()
        words = [terms(chunk.text) for chunk in chunks]
        try:
            async with self.transaction() as tx:
                replaced = await tx.run(
                    cypher.ENTITY_KEYS_OF_DOCUMENT,
                    {"document_id": document.id, "owner_id": document.owner_id},
                )
                await tx.run(cypher.DISCARD_STALE_RUNS, {"document_id": document.id})
                written = 0
                for start in range(0, len(chunks), WRITE_BATCH):
                    batch = chunks[start : start + WRITE_BATCH]
                    await tx.run(
                        cypher.STAGE_CHUNKS.replace("<vector>", self.vector_expr("row.embedding")),
                        {
                            "run": run_id,
                            "document_id": document.id,
                            "owner_id": document.owner_id,
                            "owner_key": owner_key(document.owner_id),
                            "rows": [
                                self._chunk_row(run_id, chunk, words[chunk_at])
                                for chunk_at, chunk in enumerate(batch, start)
                            ],
                        },
                    )
                    written += len(batch)
                    if on_progress:
                        await on_progress(written)
                pairs = [
                    [f"{run_id}:{a.index}", f"{run_id}:{b.index}"]
                    for a, b in itertools.pairwise(chunks)
                ]
                for start in range(0, len(pairs), WRITE_BATCH * 5):
                    await tx.run(
                        cypher.LINK_NEXT, {"pairs": pairs[start : start + WRITE_BATCH * 5]}
                    )
                await tx.run(
                    cypher.COMMIT_RUN,
                    {
                        "run": run_id,
                        "id": document.id,
                        "owner_id": document.owner_id,
                        "title": document.title,
                        "filename": document.filename,
                        "chunk_count": len(chunks),
                        "written": stamp,
                    },
                )
                if document.attached_to:
                    await tx.run(
                        cypher.LINK_ATTACHMENT,
                        {
                            "id": document.id,
                            "email": document.attached_to,
                            "owner_id": document.owner_id,
                        },
                    )
                await tx.run(
                    cypher.DELETE_ORPHAN_ENTITIES, {"keys": [row["key"] for row in replaced]}
                )
                await tx.run(
                    cypher.COUNT_DOCUMENT_WORDS,
                    {"id": document.id, "written": stamp}
                    | _word_changes(document.owner_id, document_words(words)),
                )
        except BaseException:
            await self._discard_run(run_id)
            raise

    def _chunk_row(self, run_id: str, chunk: ChunkNode, words: str) -> dict[str, Any]:
        return {
            "id": f"{run_id}:{chunk.index}",
            "index": chunk.index,
            "text": chunk.text,
            "terms": words,
            "page": chunk.page,
            "page_label": chunk.page_label,
            "ocr": chunk.ocr,
            "embedding": self.vector_param(chunk.embedding),
            "entities": [{"key": e.key, "name": e.name, "type": e.type} for e in chunk.entities],
        }

    async def _discard_run(self, run_id: str) -> None:
        try:
            staged = await self.run(cypher.ENTITY_KEYS_OF_RUN, {"run": run_id})
            await self.run(cypher.DISCARD_RUN, {"run": run_id})
            await self.run(cypher.DELETE_ORPHAN_ENTITIES, {"keys": [row["key"] for row in staged]})
        except Exception:  # the original error matters more; stale runs are swept later
            logger.exception("could not discard staged chunks of run %s", run_id)

    async def delete_document(self, document_id: str, owner_id: int) -> None:
        """Remove the document, its chunks and entities no remaining chunk mentions."""
        params = {"document_id": document_id, "owner_id": owner_id}
        async with self.transaction() as tx:
            mentioned = await tx.run(cypher.ENTITY_KEYS_OF_DOCUMENT, params)
            await tx.run(cypher.DELETE_DOCUMENT_CHUNKS, params)
            await tx.run(cypher.DELETE_DOCUMENT_NODE, params | _word_changes(owner_id, {}))
            await tx.run(cypher.DELETE_ORPHAN_ENTITIES, {"keys": [row["key"] for row in mentioned]})

    async def passage(self, owner_id: int, document_id: str, chunk_id: str) -> Hit | None:
        """One of the owner's chunks in full (None when it is not theirs or is gone)."""
        rows = await self.run(
            cypher.PASSAGE,
            {"owner_id": owner_id, "document_id": document_id, "chunk_id": chunk_id},
        )
        return _hit(rows[0]) if rows else None

    async def document_entities(
        self, owner_id: int, document_id: str, limit: int = 300
    ) -> list[dict[str, Any]]:
        """The entities the document mentions most, each with how often it and the
        owner's other documents (by id) mention it: one row per entity and other document."""
        return await self.run(
            cypher.DOCUMENT_ENTITIES,
            {"owner_id": owner_id, "document_id": document_id, "limit": limit},
        )

    async def entity_passages(self, owner_id: int, key: str, limit: int = 50) -> list[Hit]:
        """The owner's passages that mention the entity."""
        rows = await self.run(
            cypher.ENTITY_PASSAGES, {"owner_id": owner_id, "key": key, "limit": limit}
        )
        return [_hit(row) for row in rows]

    async def vector_search(
        self,
        owner_id: int,
        embedding: Sequence[float],
        k: int,
        document_ids: Sequence[str] | None = None,
    ) -> list[Hit]:
        """The owner's k chunks nearest to the embedding, scored by cosine similarity."""
        params = {
            "owner_id": owner_id,
            "k": k,
            "candidates": max(k * 10, 100),
            "embedding": self.vector_param(embedding),
            "document_ids": _id_list(document_ids),
        }
        rows = await self._owner_search(
            self._vector_call(),
            params,
            k,
            similarity="score",
            available=lambda: self._chunk_total(owner_id, document_ids),
        )
        return [_hit(row) for row in rows]

    async def fulltext_search(
        self,
        owner_id: int,
        text: str,
        k: int,
        document_ids: Sequence[str] | None = None,
        embedding: Sequence[float] | Callable[[], Awaitable[Sequence[float]]] | None = None,
    ) -> list[Hit]:
        """The owner's k chunks that best match the words of `text`, scored by BM25,
        with their similarity to `embedding` (or to what it gives, asked only when
        there are hits to read: the caller's vector may still be being made).

        The engines score differently (FalkorDB's TF-IDF normalises by the number of
        query terms, Lucene uses BM25), so candidates come from the index and are
        scored here the same way for both: words that match nothing are dropped,
        very common words only widen the candidate set, and BM25 ranks what matched.
        Word counts come from the owner's chunks only, so other users' documents
        never change which words are searched or how hits rank.
        """
        words = query_words(text)[:MAX_QUERY_WORDS]
        vocabulary = self._vocabularies.get(owner_id)
        if vocabulary is not None:
            # Counted here while the store says whether the vocabulary is still
            # the owner's: the lookup is off the way to the hits.
            current = asyncio.ensure_future(self._owner_version(owner_id))
            try:
                hits = await self._ranked(
                    owner_id,
                    words,
                    vocabulary.count(words),
                    vocabulary.version[1],
                    k,
                    document_ids,
                    embedding,
                )
                if await current == vocabulary.version:
                    self._vocabularies.move_to_end(owner_id)
                    return hits
            finally:
                _drop(current)
            if self._vocabularies.get(owner_id) is vocabulary:
                del self._vocabularies[owner_id]
        last = self._known_words.get(owner_id)  # the owner's version at its last search
        counts, version = await self._word_counts(owner_id, words)
        self._learn_vocabulary_soon(owner_id, version, last.version if last else None)
        return await self._ranked(owner_id, words, counts, version[1], k, document_ids, embedding)

    async def _ranked(
        self,
        owner_id: int,
        words: list[str],
        counts: dict[str, int],
        total: int,
        k: int,
        document_ids: Sequence[str] | None,
        embedding: Sequence[float] | Callable[[], Awaitable[Sequence[float]]] | None,
    ) -> list[Hit]:
        """fulltext_search's hits, given the owner's count of each word and chunk total."""
        useful = sorted((w for w in words if counts.get(w)), key=lambda w: counts[w])
        if not useful:
            return []
        total = max(total, 1)
        selective = [w for w in useful if counts[w] <= max(50, total // 20)] or useful[:3]
        params = {
            "owner_id": owner_id,
            "k": FULLTEXT_POOL,
            "query": self.fulltext_query(" ".join(selective), owner_id),
            "candidates": FULLTEXT_POOL * 4,
            "document_ids": _id_list(document_ids),
        }
        # The OR query matches at least as many of the owner's chunks as its most
        # common word does: widening until that many are found always ends early.
        most = max(counts[w] for w in selective)
        want = min(FULLTEXT_POOL, most) if self.fulltext_call_is_limited else 0
        found = await self._owner_search(
            self._fulltext_call(), params, want, tail=cypher.FULLTEXT_CANDIDATES
        )
        # A chunk written before its terms were stored is counted from its text.
        texts = [row["terms"] if row["terms"] is not None else terms(row["text"]) for row in found]
        scores = bm25(texts, {w: counts[w] for w in useful}, total)
        best = {
            found[i]["chunk_id"]: score
            for score, i in sorted(zip(scores, range(len(found)), strict=True), reverse=True)[:k]
            if score > 0
        }
        if not best:
            return []
        if callable(embedding):
            embedding = await embedding()
        rows = await self.run(
            cypher.CHUNKS_BY_ID.replace("<similarity>", self._similarity(embedding)),
            {"owner_id": owner_id, "ids": list(best), "embedding": self.vector_param(embedding)},
        )
        place = {chunk_id: n for n, chunk_id in enumerate(best)}
        hits = [replace(_hit(row), score=best[row["chunk_id"]]) for row in rows]
        return sorted(hits, key=lambda hit: place[hit.chunk_id])

    async def _owner_search(
        self,
        call: str,
        params: dict[str, Any],
        want: int,
        *,
        similarity: str = "null",
        available: Callable[[], Awaitable[int]] | None = None,
        tail: str = cypher.SEARCH_TAIL,
    ) -> list[dict]:
        """`tail` (SEARCH_TAIL) over an index call, asking the index for more until `want` rows.

        The indexes hold every owner's chunks and give their top `candidates`
        before the owner filter, so other users' (or the owner's other
        documents') chunks could crowd out all of the owner's: widen the net
        (8x each time) until enough are found or it covers every chunk.
        `available` counts the chunks that could match at most; it is asked
        only when the first try comes back short, which is rare.
        """
        query = tail.replace("<call>", call).replace("<similarity>", similarity)
        rows = await self.run(query, params)
        if len(rows) < want and available is not None:
            want = min(want, await available())
        everything: int | None = None
        while len(rows) < want:
            if everything is None:
                everything = await self._all_chunks()
            if params["candidates"] >= everything:
                break
            params = {**params, "candidates": min(params["candidates"] * 8, everything)}
            rows = await self.run(query, params)
        return rows

    async def _word_counts(
        self, owner_id: int, words: Sequence[str]
    ) -> tuple[dict[str, int], tuple[int, ...]]:
        """Per word, how many of the owner's chunks hold it; and the owner's version
        (documents, chunks, writes).

        The store keeps each owner's counts as documents are written (one Term
        node per word: a lookup, where counting a common word's matches in the
        fulltext index took 7 ms at 50,000 chunks). Counts read are also kept here
        and trusted for as long as the owner's documents are as they were (the
        version read every time, from their few Document nodes, in the statement
        that reads the words not known yet: another process's writes show at once).
        """
        known = self._known_words.pop(owner_id, None)
        distinct = list(dict.fromkeys(words))
        asked = [w for w in distinct if known is None or w not in known.counts]
        version, found = await self._owner_words(owner_id, asked)
        if known is None or known.version != version:
            if len(asked) < len(distinct):  # some were known for another version
                version, found = await self._owner_words(owner_id, distinct)
            known = _KnownWords(version)
        _kept(self._known_words, owner_id, known, OWNERS_KEPT)  # the most recent owner last
        if len(known.counts) + len(found) > WORDS_KEPT_PER_OWNER:
            known.counts.clear()
        known.counts.update(found)
        return {word: known.counts.get(word, 0) for word in words}, version

    async def _owner_version(self, owner_id: int) -> tuple[int, ...] | None:
        """The owner's version, None while some of its documents are not counted."""
        rows = await self.run(cypher.OWNER_WORDS, {"owner_id": owner_id, "words": []})
        return None if rows[0]["uncounted"] else _version(rows[0])

    async def learn_vocabulary(self, owner_id: int) -> bool:
        """Keep every word the owner's chunks hold, with its count, so that a search
        reads its words' counts here instead of asking the store first (one round
        trip fewer before the fulltext candidates; the owner's version is still
        read, beside the candidates, and a changed version discards the vocabulary).

        Summed from the tables on the owner's Document nodes, read with their
        version in one statement. False when the owner has documents not counted
        yet or more words than VOCABULARY_WORDS_MAX."""
        rows = await self.run(cypher.OWNER_WORD_TABLES, {"owner_id": owner_id})
        version = _version(
            {
                "documents": len(rows),
                "total": sum(row["chunks"] for row in rows),
                "written": sum(row["written"] for row in rows),
            }
        )
        learnable = not any(
            row["words"] is None or row["words_written"] != row["written"] for row in rows
        )
        counts = (
            await asyncio.to_thread(_summed_tables, [row["words"] for row in rows])
            if learnable
            else {}
        )
        if not learnable or len(counts) > VOCABULARY_WORDS_MAX:
            _kept(self._unlearnable, owner_id, version, VOCABULARIES_KEPT * 4)
            return False
        _kept(self._vocabularies, owner_id, _Vocabulary(version, counts), VOCABULARIES_KEPT)
        return True

    def _learn_vocabulary_soon(
        self, owner_id: int, version: tuple[int, ...], last: tuple[int, ...] | None
    ) -> None:
        """learn_vocabulary in the background, once at a time per owner, and not
        again while the owner is at a version found not learnable.

        Only once the owner's documents are as they were at its `last` search:
        while they change (a batch being ingested), each read would be discarded
        by the next search, at up to ~150 ms of CPU for 50,000 chunks."""
        if not VOCABULARIES_KEPT or owner_id in self._learning:
            return
        if last != version or self._unlearnable.get(owner_id) == version:
            return
        task = asyncio.ensure_future(self.learn_vocabulary(owner_id))
        self._learning[owner_id] = task

        def done(task: asyncio.Future[bool]) -> None:
            self._learning.pop(owner_id, None)
            if not task.cancelled() and task.exception() is not None:
                logger.info(
                    "The vocabulary of owner %s was not read: %s", owner_id, task.exception()
                )

        task.add_done_callback(done)

    def _forget_vocabularies(self) -> None:
        """Stop reading vocabularies (the store is closing)."""
        for task in list(self._learning.values()):
            task.cancel()
        self._vocabularies.clear()

    @cached_property
    def _vocabularies(self) -> OrderedDict[int, _Vocabulary]:
        return OrderedDict()

    @cached_property
    def _learning(self) -> dict[int, asyncio.Future[bool]]:
        return {}

    @cached_property
    def _unlearnable(self) -> OrderedDict[int, tuple[int, ...]]:
        return OrderedDict()

    async def _owner_words(
        self, owner_id: int, words: Sequence[str]
    ) -> tuple[tuple[int, ...], dict[str, int]]:
        """The owner's version (documents, chunks, writes) and the count of each word."""
        key = owner_key(owner_id)
        rows = await self.run(
            cypher.OWNER_WORDS,
            {
                "owner_id": owner_id,
                "words": [{"word": word, "key": f"{key} {stem(word)}"} for word in words],
            },
        )
        head = next(row for row in rows if row["word"] is None)
        version = _version(head)
        if head["uncounted"] and words:
            return version, await self._index_word_counts(owner_id, words)
        counts = {row["word"]: int(row["n"]) for row in rows if row["word"] is not None}
        return version, {word: counts.get(word, 0) for word in words}

    async def _index_word_counts(self, owner_id: int, words: Sequence[str]) -> dict[str, int]:
        queries = [
            {"word": word, "query": query}
            for word in words
            if (query := self.fulltext_query(word, owner_id))
        ]
        rows = await self.run(
            cypher.INDEX_WORD_COUNTS.replace("<call>", self._fulltext_call("q.query")),
            {"queries": queries, "candidates": 10_000_000},
        )
        counts = {row["word"]: int(row["n"]) for row in rows}
        return {word: counts.get(word, 0) for word in words}

    @cached_property
    def _known_words(self) -> OrderedDict[int, _KnownWords]:
        return OrderedDict()

    async def _chunk_total(self, owner_id: int, document_ids: Sequence[str] | None = None) -> int:
        rows = await self.run(
            cypher.OWNER_CHUNK_COUNT,
            {
                "owner_id": owner_id,
                "document_ids": _id_list(document_ids),
            },
        )
        return int(rows[0]["n"]) if rows else 0

    async def _all_chunks(self) -> int:
        rows = await self.run("MATCH (c:Chunk) RETURN count(c) AS n")
        return int(rows[0]["n"]) if rows else 0

    async def expand(
        self,
        owner_id: int,
        chunk_ids: Sequence[str],
        *,
        document_ids: Sequence[str] | None = None,
        limit: int = 20,
        embedding: Sequence[float] | None = None,
    ) -> list[Hit]:
        """Chunks next to the given ones in reading order, then chunks sharing entities."""
        params = {
            "owner_id": owner_id,
            "ids": list(chunk_ids),
            "limit": limit,
            "document_ids": _id_list(document_ids),
            "embedding": self.vector_param(embedding),
            "fanout": ENTITY_FANOUT,
        }
        similarity = self._similarity(embedding)
        neighbours, sharing = await asyncio.gather(
            self.run(cypher.NEXT_NEIGHBOURS.replace("<similarity>", similarity), params),
            self.run(
                cypher.ENTITY_NEIGHBOURS.replace("<similarity>", similarity).replace(
                    "<mentions>", self.mentions_expr("e")
                ),
                params,
            ),
        )
        return [_hit(row) for row in neighbours + sharing]


_last_stamp = 0


def _write_stamp() -> int:
    """A write's stamp (ms), later than this process's last: the owner's version
    (sum of the stamps) must change with every write, even two in one millisecond."""
    global _last_stamp
    _last_stamp = max(_last_stamp + 1, time.time_ns() // 1_000_000)
    return _last_stamp


def _word_changes(owner_id: int, table: dict[str, int]) -> dict[str, Any]:
    """The parameters that set a document's word table (COUNT_DOCUMENT_WORDS)."""
    key = owner_key(owner_id)
    return {
        "owner_key": key,
        # The owner's key alone, counting 0: one row however few words there are.
        "words": [{"key": f"{key} {word}", "n": n} for word, n in table.items()]
        + [{"key": key, "n": 0}],
        "table": " ".join(f"{word} {n}" for word, n in table.items()),
    }


def _kept[K, V](kept: OrderedDict[K, V], key: K, value: V, most: int) -> None:
    """`value` kept as the most recent of at most `most`, the least recent let go."""
    kept[key] = value
    kept.move_to_end(key)
    while len(kept) > most:
        kept.popitem(last=False)


def _drop(task: asyncio.Future) -> None:
    """Stopped if still running; its failure, if any, marked seen."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()


def _version(counts: dict[str, Any]) -> tuple[int, ...]:
    """An owner's version: its documents, their chunks and the sum of their write stamps."""
    return tuple(int(counts[k] or 0) for k in ("documents", "total", "written"))


def _summed_tables(tables: list[str]) -> dict[str, int]:
    """The sum of documents' word tables ("word count word count ...")."""
    counts: dict[str, int] = {}
    known = counts.get
    for table in tables:
        parts = table.split()
        for word, n in zip(parts[::2], map(int, parts[1::2]), strict=True):
            counts[word] = known(word, 0) + n
    return counts


def _id_list(ids: Sequence[str] | None) -> list[str] | None:
    """A Cypher parameter for an optional restriction to some documents (None: all)."""
    return list(ids) if ids is not None else None


def _hit(row: dict[str, Any]) -> Hit:
    return Hit(
        chunk_id=row["chunk_id"],
        document_id=row["document_id"],
        title=row["title"],
        filename=row["filename"],
        index=row["index"],
        page=row["page"],
        text=row["text"],
        score=float(row["score"]),
        similarity=float(row["similarity"]) if row.get("similarity") is not None else None,
        seed=row.get("seed"),
        ocr=bool(row.get("ocr")),
        page_label=row.get("page_label"),
    )
