"""Build test documents for a graph store, and read back what a write or delete left behind.

The product never reads a whole document back; these readers go straight to
the store with Cypher both backends accept, so the contract tests see the same
thing on FalkorDB and Neo4j.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from retrieval.graphstores import ChunkNode, DocumentNode, EntityNode, GraphStore

DOCUMENT_IDS = """
MATCH (d:Document {owner_id: $owner_id})
RETURN d.id AS id
ORDER BY id
"""

DOCUMENT_CHUNKS = """
MATCH (d:Document {id: $document_id})-[:HAS_CHUNK]->(c:Chunk)
OPTIONAL MATCH (c)-[:NEXT]->(n:Chunk)
OPTIONAL MATCH (c)-[:MENTIONS]->(e:Entity)
RETURN c.id AS id, c.index AS index, c.text AS text, c.page AS page,
       c.page_label AS page_label, c.ocr AS ocr,
       c.owner_id AS owner_id, c.embedding AS embedding, n.id AS next_id,
       collect(e.key) AS keys
ORDER BY index
"""

OWNER_ENTITIES = """
MATCH (e:Entity {owner_id: $owner_id})
RETURN e.key AS key, e.name AS name, e.type AS type
ORDER BY key
"""

# Staged chunks (no HAS_CHUNK edge yet) included: what a failed write may leave.
ALL_CHUNKS_OF_DOCUMENT = """
MATCH (c:Chunk {document_id: $document_id})
RETURN count(c) AS n
"""


@dataclass(frozen=True)
class StoredChunk:
    id: str
    index: int
    text: str
    page: int | None
    owner_id: int
    embedding: list[float]
    next_id: str | None
    entity_keys: list[str]
    ocr: bool = False
    page_label: str | None = None


async def stored_document_ids(store: GraphStore, owner_id: int) -> list[str]:
    rows = await store.run(DOCUMENT_IDS, {"owner_id": owner_id})
    return [row["id"] for row in rows]


async def stored_chunks(store: GraphStore, document_id: str) -> list[StoredChunk]:
    """The document's chunks in reading order, with what they link to."""
    rows = await store.run(DOCUMENT_CHUNKS, {"document_id": document_id})
    return [
        StoredChunk(
            id=row["id"],
            index=row["index"],
            text=row["text"],
            page=row["page"],
            owner_id=row["owner_id"],
            embedding=[float(x) for x in (row["embedding"] or [])],
            next_id=row["next_id"],
            entity_keys=sorted(row["keys"]),
            ocr=bool(row["ocr"]),
            page_label=row["page_label"],
        )
        for row in rows
    ]


async def stored_entities(store: GraphStore, owner_id: int) -> list[EntityNode]:
    rows = await store.run(OWNER_ENTITIES, {"owner_id": owner_id})
    return [EntityNode(key=r["key"], name=r["name"], type=r["type"]) for r in rows]


async def count_chunks(store: GraphStore, document_id: str) -> int:
    """Chunks stored under this id, staged ones included (for checks after failures)."""
    rows = await store.run(ALL_CHUNKS_OF_DOCUMENT, {"document_id": document_id})
    return int(rows[0]["n"]) if rows else 0


# --- test documents -----------------------------------------------------------
def doc(owner: int, title: str = "Doc") -> DocumentNode:
    return DocumentNode(
        id=str(uuid.uuid4()), owner_id=owner, title=title, filename=f"{title.lower()}.txt"
    )


def entity(owner: int, name: str) -> EntityNode:
    return EntityNode(key=f"{owner}:{name.lower()}", name=name, type="name")


def chunks(
    owner: int,
    texts: list[str],
    entity_names: list[list[str]] | None = None,
    vectors: list[list[float]] | None = None,
    page_labels: list[str | None] | None = None,
) -> list[ChunkNode]:
    names = entity_names or [[] for _ in texts]
    result = []
    for i, text in enumerate(texts):
        vector = vectors[i] if vectors else [float(i + 1), 1.0, 0.0, 0.5]
        result.append(
            ChunkNode(
                index=i,
                text=text,
                page=i + 1,
                page_label=page_labels[i] if page_labels else None,
                embedding=vector,
                entities=[entity(owner, n) for n in names[i]],
            )
        )
    return result
