"""A document's place in its owner's entity graph: who or what it mentions, how often,
and which of the owner's other documents mention the same, for the graph page and API."""

from __future__ import annotations

from typing import Any

from retrieval.graphstores import aget_store
from retrieval.models import Document

SNIPPET = 300


async def adocument_graph(document: Document, limit: int = 300) -> dict[str, Any]:
    """The document's entities (most mentioned first) with the other documents sharing
    each, and those documents with how many entities they share."""
    store = await aget_store()
    rows = await store.document_entities(document.owner_id, str(document.pk), limit)
    other_ids = {row["other"] for row in rows if row["other"]}
    titles = {
        str(pk): title
        async for pk, title in Document.objects.filter(
            owner_id=document.owner_id, pk__in=other_ids
        ).values_list("pk", "title")
    }
    entities: dict[str, dict[str, Any]] = {}
    for row in rows:
        entity = entities.setdefault(
            row["key"],
            {
                "key": row["key"],
                "name": row["name"],
                "type": row["type"],
                "mentions": row["here"],
                "documents": [],
            },
        )
        if row["other"] in titles:  # a document deleted a moment ago is left out
            entity["documents"].append(
                {"id": row["other"], "title": titles[row["other"]], "mentions": row["there"]}
            )
    listed = sorted(entities.values(), key=lambda e: (-e["mentions"], e["name"].lower()))
    shared: dict[str, int] = {}
    for entity in listed:
        for other in entity["documents"]:
            shared[other["id"]] = shared.get(other["id"], 0) + 1
    return {
        "document": {"id": str(document.pk), "title": document.title},
        "entities": listed,
        "documents": sorted(
            ({"id": pk, "title": titles[pk], "shared_entities": n} for pk, n in shared.items()),
            key=lambda d: (-d["shared_entities"], d["title"].lower()),
        ),
    }


async def aentity_passages(owner_id: int, key: str) -> list[dict[str, Any]]:
    store = await aget_store()
    return [
        {
            "chunk_id": hit.chunk_id,
            "document_id": hit.document_id,
            "title": hit.title,
            "filename": hit.filename,
            "page": hit.page,
            "text": hit.text if len(hit.text) <= SNIPPET else hit.text[: SNIPPET - 1] + "…",
        }
        for hit in await store.entity_passages(owner_id, key)
    ]
