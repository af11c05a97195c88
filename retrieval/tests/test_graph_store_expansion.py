"""Graph expansion, on every backend: from the best hits to their neighbours in the graph."""

from __future__ import annotations

from conftest import unique_owner
from retrieval.graphstores import ChunkNode, EntityNode, GraphStore
from tests.graph import chunks, doc, entity


async def ids_of(store: GraphStore, document_id: str) -> list[str]:
    from tests import graph

    return [chunk.id for chunk in await graph.stored_chunks(store, document_id)]


async def test_it_reaches_the_chunks_before_and_after_a_hit(store: GraphStore):
    owner = unique_owner()
    document = doc(owner)
    await store.write_document(document, chunks(owner, ["one", "two", "three", "four"]))
    one, two, three, four = await ids_of(store, document.id)

    found = await store.expand(owner, [two])

    reading_order = [hit for hit in found if hit.score == 1.0]
    assert sorted(hit.chunk_id for hit in reading_order) == sorted([one, three])
    assert {hit.seed for hit in reading_order} == {two}
    assert four not in {hit.chunk_id for hit in found}


async def test_entity_neighbours_come_ordered_by_how_many_entities_they_share(store: GraphStore):
    owner = unique_owner()
    seed_doc, other_doc = doc(owner, "Seed"), doc(owner, "Other")
    await store.write_document(
        seed_doc, chunks(owner, ["Ada and NASA at Kew"], [["Ada", "NASA", "Kew"]])
    )
    await store.write_document(
        other_doc,
        chunks(
            owner,
            ["only Kew", "far away", "Ada and NASA and Kew", "nothing", "Ada and NASA"],
            [["Kew"], [], ["Ada", "NASA", "Kew"], [], ["Ada", "NASA"]],
        ),
    )
    (seed,) = await ids_of(store, seed_doc.id)
    only_kew, _, all_three, _, two_of_them = await ids_of(store, other_doc.id)

    found = [hit for hit in await store.expand(owner, [seed]) if hit.document_id == other_doc.id]

    assert [(hit.chunk_id, hit.score) for hit in found] == [
        (all_three, 3.0),
        (two_of_them, 2.0),
        (only_kew, 1.0),
    ]
    assert {hit.seed for hit in found} == {seed}


async def test_it_never_reaches_another_owners_chunk(store: GraphStore):
    alice, bob = unique_owner(), unique_owner()
    mine, theirs = doc(alice, "Mine"), doc(bob, "Theirs")
    shared = entity(alice, "Ada")  # even an entity node both happen to mention
    await store.write_document(mine, chunks(alice, ["Ada here", "next to it"], [["Ada"], []]))
    await store.write_document(
        theirs,
        [
            ChunkNode(
                index=0,
                text="Ada there",
                page=1,
                embedding=[1.0, 0, 0, 0],
                entities=[EntityNode(key=shared.key, name="Ada", type="name")],
            ),
            ChunkNode(index=1, text="their next", page=2, embedding=[1.0, 0, 0, 0]),
        ],
    )
    seed, neighbour = await ids_of(store, mine.id)
    their_ids = await ids_of(store, theirs.id)

    found = await store.expand(alice, [seed, *their_ids])

    assert [hit.chunk_id for hit in found] == [neighbour]
    assert await store.expand(bob, [seed]) == []


async def test_a_document_restriction_holds_beyond_the_first_twenty_neighbours(store: GraphStore):
    owner = unique_owner()
    seed_doc, crowd, wanted = doc(owner, "Seed"), doc(owner, "Crowd"), doc(owner, "Wanted")
    names = ["Ada", "NASA", "Kew"]
    await store.write_document(seed_doc, chunks(owner, ["Ada NASA Kew"], [names]))
    # 30 chunks that share more entities than the one allowed chunk does.
    await store.write_document(
        crowd, chunks(owner, [f"crowd {i}" for i in range(30)], [names] * 30)
    )
    await store.write_document(wanted, chunks(owner, ["only Kew"], [["Kew"]]))
    (seed,) = await ids_of(store, seed_doc.id)
    (allowed,) = await ids_of(store, wanted.id)

    found = await store.expand(owner, [seed], document_ids=[wanted.id], limit=20)

    assert [hit.chunk_id for hit in found] == [allowed]


async def test_an_entity_most_chunks_mention_is_not_followed(store: GraphStore, monkeypatch):
    from retrieval.graphstores import base

    monkeypatch.setattr(base, "ENTITY_FANOUT", 3)
    owner = unique_owner()
    seed_doc, other_doc = doc(owner, "Seed"), doc(owner, "Other")
    await store.write_document(seed_doc, chunks(owner, ["Ada in England"], [["Ada", "England"]]))
    await store.write_document(
        other_doc,
        chunks(
            owner,
            ["England again", "England once more", "England as ever", "Ada's notes"],
            [["England"], ["England"], ["England"], ["Ada"]],
        ),
    )
    (seed,) = await ids_of(store, seed_doc.id)
    *_, about_ada = await ids_of(store, other_doc.id)

    found = [hit for hit in await store.expand(owner, [seed]) if hit.document_id == other_doc.id]

    # England is mentioned by four chunks, more than three: only Ada's neighbour is reached.
    assert [hit.chunk_id for hit in found] == [about_ada]
