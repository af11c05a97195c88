"""Neo4j 5.18 or later (vector.similarity.cosine) through the official async driver.

A document write is one explicit transaction, so Neo4j gives all-or-nothing
on its own; the staged protocol of the base class costs nothing extra here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from django.conf import settings

from retrieval.errors import ConfigurationError, StoreError, StoreTimeout
from retrieval.graphstores import cypher
from retrieval.graphstores.base import GraphStore, Runner, owner_key
from retrieval.words import query_words

logger = logging.getLogger(__name__)

VECTOR_INDEX = "chunk_embedding"
FULLTEXT_INDEX = "chunk_text"

_SCHEMA = [
    "CREATE CONSTRAINT document_id IF NOT EXISTS FOR (d:Document) REQUIRE d.id IS UNIQUE",
    "CREATE CONSTRAINT chunk_id IF NOT EXISTS FOR (c:Chunk) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT entity_key IF NOT EXISTS FOR (e:Entity) REQUIRE e.key IS UNIQUE",
    # Unique, so that two writers of one owner's documents never MERGE a word twice.
    "CREATE CONSTRAINT term_key IF NOT EXISTS FOR (t:Term) REQUIRE t.key IS UNIQUE",
    "CREATE INDEX document_owner IF NOT EXISTS FOR (d:Document) ON (d.owner_id)",
    "CREATE INDEX chunk_document IF NOT EXISTS FOR (c:Chunk) ON (c.document_id)",
    "CREATE INDEX chunk_owner IF NOT EXISTS FOR (c:Chunk) ON (c.owner_id)",
    "CREATE INDEX chunk_run IF NOT EXISTS FOR (c:Chunk) ON (c.run)",
    "CREATE INDEX entity_owner IF NOT EXISTS FOR (e:Entity) ON (e.owner_id)",
    # English stemming and stop words, as FalkorDB's index (language 'english') has,
    # so "falcons" finds "falcon" on both; the default analyzer does not stem.
    # The owner key beside the text scopes each query to one owner inside the index.
    f"CREATE FULLTEXT INDEX {FULLTEXT_INDEX} IF NOT EXISTS FOR (c:Chunk) "
    "ON EACH [c.text, c.owner_key] OPTIONS {indexConfig: {`fulltext.analyzer`: 'english'}}",
]
MISSING_URI = (
    "The graph store is Neo4j but NEO4J_URI is not set: set NEO4J_URI, NEO4J_USER and "
    "NEO4J_PASSWORD, or use GRAPH_STORE=falkordb."
)
BUSY = "The graph store was busy with another change to the same data. Try again in a moment."


class _TxRunner:
    def __init__(self, tx: Any, timeout: float) -> None:
        self._tx = tx
        self._timeout = timeout

    async def run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        async with _deadline(self._timeout):
            result = await self._tx.run(query, params or {})
            return await result.data()


@asynccontextmanager
async def _deadline(seconds: float) -> AsyncIterator[None]:
    """The driver has no read timeout: a statement gets `seconds` for its answer."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise StoreTimeout(StoreTimeout.TIMEOUT) from None


class Neo4jStore(GraphStore):
    name = "neo4j"

    def __init__(
        self,
        *,
        uri: str,
        user: str,
        password: str,
        database: str | None,
        connections: int = 32,
        wait: float = 10.0,
        timeout: float = 30.0,
    ) -> None:
        from neo4j import AsyncGraphDatabase

        self.database = database
        self.timeout = timeout
        self.identity = f"neo4j:{uri}/{database or ''}"
        self._driver = AsyncGraphDatabase.driver(
            uri,
            auth=(user, password),
            max_connection_pool_size=connections,
            connection_acquisition_timeout=wait,
            connection_timeout=min(timeout, 10),
        )

    @classmethod
    def from_settings(cls, **overrides: Any) -> Neo4jStore:
        uri = overrides.get("uri") or settings.NEO4J_URI
        if not uri:
            raise ConfigurationError(MISSING_URI)
        return cls(
            uri=str(uri),
            user=str(overrides.get("user") or settings.NEO4J_USER),
            password=str(overrides.get("password") or settings.NEO4J_PASSWORD),
            database=overrides.get("database") or settings.NEO4J_DATABASE,
            connections=settings.GRAPH_STORE_CONNECTIONS,
            wait=settings.GRAPH_STORE_WAIT_SECONDS,
            timeout=settings.GRAPH_STORE_TIMEOUT,
        )

    @classmethod
    def configuration_errors(cls) -> list[str]:
        return [] if settings.NEO4J_URI else [MISSING_URI]

    async def run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        async with (
            self._reachable(),
            self._driver.session(database=self.database) as session,
            _deadline(self.timeout),
        ):
            result = await session.run(query, params or {})
            return await result.data()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Runner]:
        # The driver's own context: commit on success, roll back on an error, and
        # on cancellation mark the transaction cancelled instead of raising a
        # "transaction closed" error in place of the CancelledError.
        async with (
            self._reachable(),
            self._driver.session(database=self.database) as session,
            await session.begin_transaction() as tx,
        ):
            yield _TxRunner(tx, self.timeout)

    @asynccontextmanager
    async def _reachable(self) -> AsyncIterator[None]:
        """Connection trouble and lock conflicts as StoreError: a 503 and a retry, not a 500."""
        from neo4j.exceptions import (
            ConnectionAcquisitionTimeoutError,
            ServiceUnavailable,
            SessionExpired,
            TransientError,
        )

        try:
            yield
        except ConnectionAcquisitionTimeoutError as error:  # every pooled connection in use
            raise StoreError(StoreError.BUSY) from error
        except TransientError as error:
            raise StoreError(BUSY) from error
        except (ServiceUnavailable, SessionExpired, OSError) as error:
            raise StoreError(StoreError.UNREACHABLE) from error

    def vector_expr(self, expression: str) -> str:
        return expression

    async def _create_indexes(self, dimension: int) -> None:
        fulltext = await self._index_config("FULLTEXT", FULLTEXT_INDEX)
        properties = await self._index_properties(FULLTEXT_INDEX)
        if fulltext is not None and (
            fulltext.get("fulltext.analyzer") != "english" or "owner_key" not in properties
        ):
            # Made before it stemmed or knew owners: IF NOT EXISTS would keep it as it is.
            await self.run(f"DROP INDEX {FULLTEXT_INDEX} IF EXISTS")
            await self.run(cypher.SET_OWNER_KEYS)
        for statement in _SCHEMA:
            await self.run(statement)
        await self.run(
            f"CREATE VECTOR INDEX {VECTOR_INDEX} IF NOT EXISTS FOR (c:Chunk) ON (c.embedding) "
            f"OPTIONS {{indexConfig: {{`vector.dimensions`: {int(dimension)}, "
            "`vector.similarity_function`: 'cosine'}}"
        )
        await self.run("CALL db.awaitIndexes(300)")

    async def vector_index_dimension(self) -> int | None:
        config = await self._index_config("VECTOR", VECTOR_INDEX) or {}
        value = config.get("vector.dimensions")
        return int(value) if value is not None else None

    async def _index_properties(self, name: str) -> list[str]:
        rows = await self.run(
            "SHOW INDEXES YIELD name, properties WHERE name = $name RETURN properties",
            {"name": name},
        )
        return list(rows[0]["properties"] or []) if rows else []

    async def _index_config(self, kind: str, name: str) -> dict[str, Any] | None:
        """The indexConfig of a VECTOR or FULLTEXT index; None when there is no such index."""
        rows = await self.run(
            f"SHOW {kind} INDEXES YIELD name, options WHERE name = $name RETURN options",
            {"name": name},
        )
        return ((rows[0]["options"] or {}).get("indexConfig") or {}) if rows else None

    def similarity_expr(self, stored: str, given: str) -> str:
        # Neo4j's cosine is (1 + cos) / 2, as its vector index scores.
        return f"2.0 * vector.similarity.cosine({stored}, {given}) - 1.0"

    def _vector_call(self) -> str:
        # Neo4j scores cosine as (1 + cos) / 2; turn it back into cos.
        return (
            f"CALL db.index.vector.queryNodes('{VECTOR_INDEX}', $candidates, $embedding) "
            "YIELD node, score AS half WITH node, 2.0 * half - 1.0 AS score"
        )

    def _fulltext_call(self, query: str = "$query") -> str:
        return (
            f"CALL db.index.fulltext.queryNodes('{FULLTEXT_INDEX}', {query}, "
            "{limit: $candidates}) YIELD node, score"
        )

    def fulltext_query(self, text: str, owner_id: int) -> str | None:
        # \w+ words carry no Lucene syntax; lower case keeps AND/OR/NOT literal.
        words = query_words(text)
        if not words:
            return None
        return f"owner_key:{owner_key(owner_id)} AND text:({' OR '.join(words)})"

    async def close(self) -> None:
        self._forget_vocabularies()
        await self._driver.close()
