"""The graph-store contract, run on FalkorDB always and on Neo4j when NEO4J_TEST_URI is set."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest

from conftest import unique_owner
from retrieval.errors import ConfigurationError
from retrieval.graphstores import ChunkNode, EntityNode, GraphStore
from retrieval.graphstores.base import owner_key
from retrieval.words import document_words, terms
from tests import graph
from tests.graph import chunks, doc


async def test_it_stores_chunks_in_reading_order_with_page_owner_and_embedding(store: GraphStore):
    owner = unique_owner()
    document = doc(owner)
    await store.write_document(document, chunks(owner, ["first", "second", "third"]))

    stored = await graph.stored_chunks(store, document.id)

    assert [c.text for c in stored] == ["first", "second", "third"]
    assert [c.page for c in stored] == [1, 2, 3]
    assert {c.owner_id for c in stored} == {owner}
    assert stored[0].next_id == stored[1].id and stored[1].next_id == stored[2].id
    assert stored[2].next_id is None
    assert stored[1].embedding == pytest.approx([2.0, 1.0, 0.0, 0.5])


async def test_embeddings_keep_every_digit_the_index_stores(store: GraphStore):
    owner = unique_owner()
    document = doc(owner)
    precise = [0.123456789, -3.33333333e-7, 12345.6789, -0.987654321]
    await store.write_document(document, chunks(owner, ["precise"], vectors=[precise]))

    stored = await graph.stored_chunks(store, document.id)
    hits = await store.vector_search(owner, precise, k=1)

    # The index keeps float32: every value comes back as the nearest float32.
    assert stored[0].embedding == pytest.approx(precise, rel=1e-7)
    assert hits[0].score == pytest.approx(1.0, abs=1e-6)


async def test_it_links_chunks_to_entities_merged_across_documents(store: GraphStore):
    owner = unique_owner()
    first, second = doc(owner, "One"), doc(owner, "Two")
    await store.write_document(first, chunks(owner, ["Ada at NASA"], [["Ada", "NASA"]]))
    await store.write_document(second, chunks(owner, ["NASA again"], [["NASA"]]))

    assert [e.name for e in await graph.stored_entities(store, owner)] == ["Ada", "NASA"]
    assert (await graph.stored_chunks(store, second.id))[0].entity_keys == [f"{owner}:nasa"]


async def test_a_documents_entities_count_where_the_owners_other_documents_mention_them(
    store: GraphStore,
):
    alice, bob = unique_owner(), unique_owner()
    brief, quote, theirs = doc(alice, "Brief"), doc(alice, "Quote"), doc(bob, "Theirs")
    await store.write_document(
        brief,
        chunks(
            alice,
            ["Pixelforge and Kite", "Pixelforge again"],
            [["Pixelforge", "Kite"], ["Pixelforge", "Pixelforge"]],
        ),
    )
    await store.write_document(quote, chunks(alice, ["Pixelforge quote"], [["Pixelforge"]]))
    await store.write_document(theirs, chunks(bob, ["Pixelforge too"], [["Pixelforge"]]))

    rows = await store.document_entities(alice, brief.id)
    passages = await store.entity_passages(alice, f"{alice}:pixelforge")

    found = {(r["name"], r["here"], r["other"], r["there"]) for r in rows}
    assert found == {("Pixelforge", 2, quote.id, 1), ("Kite", 1, None, 0)}
    assert await store.document_entities(bob, brief.id) == []  # not his document
    assert sorted((p.title, p.text) for p in passages) == [
        ("Brief", "Pixelforge again"),
        ("Brief", "Pixelforge and Kite"),
        ("Quote", "Pixelforge quote"),
    ]
    assert await store.entity_passages(bob, f"{alice}:pixelforge") == []


async def test_an_entity_keeps_the_fullest_name_any_document_gives_it(store: GraphStore):
    owner = unique_owner()

    def named(name: str) -> list[ChunkNode]:
        spelled = EntityNode(key=f"{owner}:holloway logistics", name=name, type="name")
        return [dataclasses.replace(chunk, entities=[spelled]) for chunk in chunks(owner, [name])]

    await store.write_document(doc(owner, "One"), named("Holloway Logistics"))
    await store.write_document(doc(owner, "Two"), named("Holloway Logistics Ltd"))
    await store.write_document(doc(owner, "Three"), named("Holloway Logistics"))

    assert [e.name for e in await graph.stored_entities(store, owner)] == ["Holloway Logistics Ltd"]


async def test_rewriting_a_document_replaces_its_chunks(store: GraphStore):
    owner = unique_owner()
    document = doc(owner)
    await store.write_document(document, chunks(owner, ["old one", "old two"], [["Old"], []]))
    await store.write_document(document, chunks(owner, ["new one"], [["New"]]))

    assert [c.text for c in await graph.stored_chunks(store, document.id)] == ["new one"]
    assert await graph.count_chunks(store, document.id) == 1
    assert [e.name for e in await graph.stored_entities(store, owner)] == ["New"]


async def test_an_attachment_points_at_its_email_of_the_same_owner_only(store: GraphStore):
    alice, mallory = unique_owner(), unique_owner()
    email = doc(alice, "Email")
    await store.write_document(email, chunks(alice, ["see the attached quote"]))
    attached = dataclasses.replace(doc(alice, "Quote"), attached_to=email.id)
    await store.write_document(attached, chunks(alice, ["the quote is 24,500"]))
    planted = dataclasses.replace(doc(mallory, "Planted"), attached_to=email.id)
    await store.write_document(planted, chunks(mallory, ["read me"]))

    rows = await store.run(
        "MATCH (d:Document)-[:ATTACHED_TO]->(:Document {id: $id}) RETURN d.id AS id",
        {"id": email.id},
    )

    assert [row["id"] for row in rows] == [attached.id]


async def test_a_delete_naming_another_owner_removes_nothing(store: GraphStore):
    alice, mallory = unique_owner(), unique_owner()
    document = doc(alice, "Alice")
    await store.write_document(document, chunks(alice, ["the falcon dives fast"]))

    await store.delete_document(document.id, mallory)

    found = await store.fulltext_search(alice, "falcon", 5)
    assert [hit.document_id for hit in found] == [document.id]


async def test_deleting_a_document_keeps_entities_other_documents_mention(store: GraphStore):
    owner = unique_owner()
    kept, deleted = doc(owner, "Kept"), doc(owner, "Gone")
    await store.write_document(kept, chunks(owner, ["about Ada"], [["Ada"]]))
    await store.write_document(deleted, chunks(owner, ["Ada and Bob"], [["Ada", "Bob"]]))

    await store.delete_document(deleted.id, owner)

    assert await graph.count_chunks(store, deleted.id) == 0
    assert await graph.stored_document_ids(store, owner) == [kept.id]
    assert [e.name for e in await graph.stored_entities(store, owner)] == ["Ada"]


async def test_a_failed_write_leaves_the_previous_version_whole(store: GraphStore):
    owner = unique_owner()
    document = doc(owner)
    await store.write_document(document, chunks(owner, ["kept"], [["Kept"]]))
    many = chunks(owner, [f"part {i}" for i in range(250)], [["Lost"]] * 250)

    async def fail_after_first_batch(written: int) -> None:
        raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        await store.write_document(document, many, on_progress=fail_after_first_batch)

    assert [c.text for c in await graph.stored_chunks(store, document.id)] == ["kept"]
    assert await graph.count_chunks(store, document.id) == 1
    assert [e.name for e in await graph.stored_entities(store, owner)] == ["Kept"]


async def test_a_failed_first_write_leaves_nothing(store: GraphStore):
    owner = unique_owner()
    document = doc(owner)

    async def fail(written: int) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.write_document(
            document, chunks(owner, ["a", "b"], [["A"], []]), on_progress=fail
        )

    assert await graph.count_chunks(store, document.id) == 0
    assert await graph.stored_document_ids(store, owner) == []
    assert await graph.stored_entities(store, owner) == []


async def test_each_search_uses_its_own_vector_even_when_one_is_searched_again(
    store: GraphStore,
):
    owner = unique_owner()
    texts = ["the falcon flies over the river", "a quiet harbour at night"]
    vectors = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
    await store.write_document(doc(owner), chunks(owner, texts, vectors=vectors))
    towards_falcon, towards_harbour = [0.9, 0.1, 0.0, 0.0], [0.1, 0.9, 0.0, 0.0]

    # A question's vector goes into several queries (the FalkorDB store writes
    # it out once and reuses the text): each must still search its own.
    found = [
        (await store.vector_search(owner, vector, k=1))[0].text
        for vector in (towards_falcon, towards_harbour, towards_falcon, [0.2, 0.8, 0.0, 0.0])
    ]

    assert found == [texts[0], texts[1], texts[0], texts[1]]


async def test_searches_only_return_the_owners_chunks(store: GraphStore):
    alice, bob = unique_owner(), unique_owner()
    same_text = ["the falcon flies over the river", "a quiet harbour at night"]
    vectors = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
    alice_doc, bob_doc = doc(alice, "Alice"), doc(bob, "Bob")
    await store.write_document(alice_doc, chunks(alice, same_text, vectors=vectors))
    await store.write_document(bob_doc, chunks(bob, same_text, vectors=vectors))

    by_vector = await store.vector_search(alice, [1.0, 0.1, 0.0, 0.0], k=5)
    by_words = await store.fulltext_search(alice, "falcon river", k=5)

    assert {hit.document_id for hit in by_vector} == {alice_doc.id}
    assert by_vector[0].text == same_text[0]
    assert by_vector[0].score == pytest.approx(0.995, abs=0.01)  # cosine similarity
    assert [hit.document_id for hit in by_words] == [alice_doc.id]
    assert by_words[0].text == same_text[0] and by_words[0].title == "Alice"


async def test_a_passage_is_read_in_full_by_its_owner_only(store: GraphStore):
    alice, bob = unique_owner(), unique_owner()
    alice_doc, other_doc = doc(alice, "Alice"), doc(alice, "Other")
    await store.write_document(alice_doc, chunks(alice, ["the falcon flies", "over the river"]))
    await store.write_document(other_doc, chunks(alice, ["a quiet harbour"]))
    hit = (await store.vector_search(alice, [2.0, 1.0, 0.0, 0.5], k=1))[0]

    passage = await store.passage(alice, alice_doc.id, hit.chunk_id)

    assert passage is not None
    assert (passage.text, passage.page, passage.title) == (hit.text, hit.page, "Alice")
    assert await store.passage(bob, alice_doc.id, hit.chunk_id) is None
    assert await store.passage(alice, other_doc.id, hit.chunk_id) is None  # not that document's


async def test_every_search_returns_a_chunks_page_label_and_null_where_it_has_none(
    store: GraphStore,
):
    owner = unique_owner()
    texts = ["the falcon flies over the river", "a quiet harbour", "the falcon nests on cliffs"]
    vectors = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]
    written = chunks(owner, texts, [["Falcon"], [], ["Falcon"]], vectors, ["iii", None, "A-1"])
    document = doc(owner)
    await store.write_document(document, written)

    [by_vector] = await store.vector_search(owner, [1.0, 0.1, 0.0, 0.0], k=1)
    [by_words] = await store.fulltext_search(owner, "harbour", k=1)
    expanded = await store.expand(owner, [by_vector.chunk_id])

    assert (by_vector.text, by_vector.page_label) == (texts[0], "iii")
    assert (by_words.text, by_words.page_label) == (texts[1], None)
    assert {hit.text: hit.page_label for hit in expanded} == {texts[1]: None, texts[2]: "A-1"}
    passage = await store.passage(owner, document.id, by_vector.chunk_id)
    assert passage is not None and passage.page_label == "iii"
    stored = await graph.stored_chunks(store, document.id)
    assert [c.page_label for c in stored] == ["iii", None, "A-1"]


async def test_searches_can_be_restricted_to_some_documents(store: GraphStore):
    owner = unique_owner()
    first, second = doc(owner, "First"), doc(owner, "Second")
    await store.write_document(first, chunks(owner, ["falcon facts"]))
    await store.write_document(second, chunks(owner, ["more falcon facts"]))

    hits = await store.fulltext_search(owner, "falcon", k=5, document_ids=[second.id])

    assert [hit.document_id for hit in hits] == [second.id]


async def test_user_text_cannot_inject_search_syntax(store: GraphStore):
    owner = unique_owner()
    document = doc(owner)
    await store.write_document(document, chunks(owner, ["price is 10 dollars"]))

    hits = await store.fulltext_search(owner, 'price") OR *:* -@text:{x} | "', k=5)

    assert [hit.text for hit in hits] == ["price is 10 dollars"]


async def test_it_refuses_an_embedding_model_of_another_dimension(store: GraphStore):
    with pytest.raises(ConfigurationError) as refused:
        await store.setup(384)
    assert "4-dimension" in refused.value.message and "384-dimension" in refused.value.message


async def test_other_owners_nearer_chunks_do_not_crowd_out_the_owners(store: GraphStore):
    alice, bob = unique_owner(), unique_owner()
    crowd = 150  # more than the index is first asked for
    bob_vectors = [[1.0, 0.01 * (i % 7), 0.0, 0.0] for i in range(crowd)]
    await store.write_document(
        doc(bob, "Bob"), chunks(bob, [f"bob {i}" for i in range(crowd)], vectors=bob_vectors)
    )
    mine = doc(alice, "Alice")
    await store.write_document(mine, chunks(alice, ["alice"], vectors=[[1.0, 0.5, 0.0, 0.0]]))

    hits = await store.vector_search(alice, [1.0, 0.0, 0.0, 0.0], k=5)

    assert [hit.document_id for hit in hits] == [mine.id]


async def test_a_restricted_search_finds_a_small_document_beside_a_large_one(store: GraphStore):
    owner = unique_owner()
    large, small = doc(owner, "Large"), doc(owner, "Small")
    vectors = [[1.0, 0.01 * (i % 5), 0.0, 0.0] for i in range(150)]
    await store.write_document(
        large, chunks(owner, [f"part {i}" for i in range(150)], vectors=vectors)
    )
    await store.write_document(small, chunks(owner, ["note"], vectors=[[0.5, 1.0, 0.0, 0.0]]))

    hits = await store.vector_search(owner, [1.0, 0.0, 0.0, 0.0], k=5, document_ids=[small.id])

    assert [hit.document_id for hit in hits] == [small.id]


# Word counts are scoped by the owner's key inside the index: a neighbour's
# common words would sink the owner's ranking, and "owner12" must not match
# "owner123".
@pytest.mark.parametrize("neighbour", ["another owner", "an owner whose id starts with theirs"])
async def test_other_owners_documents_do_not_change_fulltext_ranking(
    store: GraphStore, neighbour: str
):
    alice = unique_owner()
    bob = unique_owner() if neighbour == "another owner" else int(f"{alice}3")
    texts = ["the falcon dives fast", "the falcon nests on cliffs near the river"]
    await store.write_document(doc(alice, "Alice"), chunks(alice, texts))
    before = await store.fulltext_search(alice, "falcon river cliffs", k=5)

    await store.write_document(
        doc(bob, "Bob"), chunks(bob, [f"river cliffs falcon report {i}" for i in range(60)])
    )
    after = await store.fulltext_search(alice, "falcon river cliffs", k=5)

    assert before and [(h.text, round(h.score, 6)) for h in after] == [
        (h.text, round(h.score, 6)) for h in before
    ]


async def test_the_words_searched_follow_the_owners_documents_as_they_change(
    store: GraphStore,
):
    owner = unique_owner()
    falcon = "the falcon flies over the river"
    first, second = doc(owner, "First"), doc(owner, "Second")
    await store.write_document(first, chunks(owner, [falcon]))
    await store.write_document(second, chunks(owner, ["a quiet bay at night"]))

    async def found(words: str) -> set[str]:
        return {hit.text for hit in await store.fulltext_search(owner, words, k=5)}

    assert await found("harbour falcon") == {falcon}  # "harbour" matches nothing yet
    # Word counts are kept between searches: a document rewritten (the same
    # number of documents and chunks as before) must still count...
    await store.write_document(second, chunks(owner, ["a quiet harbour at night"]))
    assert await found("harbour falcon") == {falcon, "a quiet harbour at night"}
    # ...as must one added, and one deleted.
    await store.write_document(doc(owner, "Third"), chunks(owner, ["a grey heron waits"]))
    assert await found("heron harbour") == {"a grey heron waits", "a quiet harbour at night"}
    await store.delete_document(second.id, owner)
    assert await found("heron harbour") == {"a grey heron waits"}


def _vocabulary_reads(store: GraphStore) -> list[int]:
    """The owners whose vocabulary the store reads from now on, one entry per read."""
    reads: list[int] = []
    read = store.learn_vocabulary

    async def counted(owner_id: int) -> bool:
        reads.append(owner_id)
        return await read(owner_id)

    store.learn_vocabulary = counted  # type: ignore[method-assign]
    return reads


async def _learnt(store: GraphStore) -> None:
    """Until the vocabularies being read in the background are read."""
    for _ in range(500):
        if not store._learning:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a vocabulary was still being read after 5 s")


async def test_a_search_over_the_owners_whole_vocabulary_ranks_alike_and_follows_writes(
    store: GraphStore,
):
    owner, other = unique_owner(), unique_owner()
    texts = [
        "Falcons dive. A falcon dives faster than any other bird, falcons say.",
        "The falcon nests on cliffs above the river.",
        "A long account of the river, its mills, its fields and its bridges; a falcon once.",
        "Ducks swim on the river.",
    ]
    await store.write_document(doc(owner, "Birds"), chunks(owner, texts[:2]))
    await store.write_document(doc(owner, "River"), chunks(owner, texts[2:]))
    await store.write_document(doc(other), chunks(other, ["falcon falcon river heron"] * 3))

    reads = _vocabulary_reads(store)
    looked_up = await store.fulltext_search(owner, "falcons diving river", 4)
    # The documents as they were at the last search: their vocabulary is read.
    await store.fulltext_search(owner, "falcon", 4)
    await _learnt(store)
    learned = await store.fulltext_search(owner, "falcons diving river", 4)
    assert owner in store._vocabularies
    # A word the vocabulary has never seen, written since: the owner's version moved.
    heron = "A grey heron waits by the river."
    await store.write_document(doc(owner, "Heron"), chunks(owner, [heron]))
    after_write = await store.fulltext_search(owner, "heron", 4)
    # Not read again at once: documents that just changed may be changing still.
    read_at_once = reads.count(owner) > 1

    assert len(looked_up) == 4 and looked_up[0].text == texts[0]
    ranked = [(hit.text, round(hit.score, 9)) for hit in looked_up]
    assert [(hit.text, round(hit.score, 9)) for hit in learned] == ranked
    assert [hit.text for hit in after_write] == [heron]
    assert not read_at_once
    assert [hit.text for hit in await store.fulltext_search(owner, "heron", 4)] == [heron]
    await _learnt(store)
    assert owner in store._vocabularies
    assert [hit.text for hit in await store.fulltext_search(owner, "heron", 4)] == [heron]


async def test_fulltext_ranks_the_rarest_words_first_with_each_hits_similarity(
    store: GraphStore,
):
    owner, other = unique_owner(), unique_owner()
    rare = (
        "Far from the town, along the river and past the old mill and the fields, a "
        "peregrine was seen by the falcon watchers on a long walk one morning in May."
    )
    common = [f"falcon falcon {n}" for n in range(8)]
    vectors = [[1.0, 0.0, 0.0, 0.0]] + [[0.0, 1.0, 0.0, 0.0]] * len(common)
    await store.write_document(doc(owner, "Birds"), chunks(owner, [rare, *common], vectors=vectors))
    # A word rare in the owner's documents, everywhere in another's: the owner's count is
    # the one that ranks (the index's own scores count everyone's).
    others = [f"peregrine peregrine {n}" for n in range(60)]
    await store.write_document(doc(other), chunks(other, others))

    hits = await store.fulltext_search(owner, "peregrine falcon", 5, None, [1.0, 0.0, 0.0, 0.0])

    assert len(hits) == 5 and hits[0].text == rare
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert hits[0].score > hits[1].score
    assert hits[0].similarity == pytest.approx(1.0, abs=0.01)
    assert all(hit.similarity == pytest.approx(0.0, abs=0.01) for hit in hits[1:])
    assert {hit.title for hit in hits} == {"Birds"}


async def test_chunks_written_before_their_terms_were_stored_rank_as_they_would_with_them(
    store: GraphStore,
):
    owner = unique_owner()
    texts = [
        "Falcons dive. A falcon dives faster than any other bird, falcons say.",
        "The falcon nests on cliffs above the river.",
        "A long account of the river, its mills, its fields and its bridges; a falcon once.",
        "Ducks swim on the river.",
    ]
    await store.write_document(doc(owner, "Birds"), chunks(owner, texts))
    before = await store.fulltext_search(owner, "falcons diving river", 4)
    mine = {"owner": owner}
    await store.run("MATCH (c:Chunk) WHERE c.owner_id = $owner SET c.terms = null", mine)

    without = await store.fulltext_search(owner, "falcons diving river", 4)
    # The worker gives them theirs (Neo4j's one database may hold other tests' chunks).
    assert await store.store_missing_terms() >= len(texts)
    stored = await store.run(
        "MATCH (c:Chunk) WHERE c.owner_id = $owner AND c.terms IS NOT NULL RETURN count(c) AS n",
        mine,
    )
    again = await store.fulltext_search(owner, "falcons diving river", 4)

    assert len(before) == 4 and before[0].text == texts[0]
    ranked = [(hit.text, hit.score) for hit in before]
    if store.fulltext_indexes_terms:  # found by their terms: once they have them
        assert without == []
    else:
        assert [(hit.text, hit.score) for hit in without] == ranked
    assert stored[0]["n"] == len(texts)
    assert [(hit.text, hit.score) for hit in again] == ranked


async def _kept_counts(store: GraphStore, owner: int) -> dict[str, int]:
    rows = await store.run(
        "MATCH (t:Term) WHERE t.key STARTS WITH $key RETURN t.key AS key, t.n AS n",
        {"key": f"{owner_key(owner)} "},
    )
    return {row["key"].split(" ", 1)[1]: int(row["n"]) for row in rows if row["n"]}


async def _chunk_counts(store: GraphStore, owner: int) -> dict[str, int]:
    rows = await store.run(
        "MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk) WHERE d.owner_id = $owner "
        "RETURN c.text AS text",
        {"owner": owner},
    )
    return dict(document_words(terms(row["text"]) for row in rows))


async def test_the_owners_word_counts_are_kept_exact_through_rewrites_and_deletes(
    store: GraphStore,
):
    owner, other = unique_owner(), unique_owner()
    first, second = doc(owner, "First"), doc(owner, "Second")
    await store.write_document(first, chunks(owner, ["Falcons dive.", "A falcon nests."]))
    await store.write_document(second, chunks(owner, ["The heron waits.", "A falcon calls."]))
    await store.write_document(doc(other), chunks(other, ["falcon falcon heron"]))
    assert (await _kept_counts(store, owner))["falcon"] == 3

    await store.write_document(second, chunks(owner, ["Two herons wait by the river."]))
    after_rewrite = await _kept_counts(store, owner)
    assert after_rewrite == await _chunk_counts(store, owner)
    await store.delete_document(first.id, owner)
    after_delete = await _kept_counts(store, owner)
    held_after_delete = await _chunk_counts(store, owner)
    await store.delete_document(second.id, owner)
    left = await store.run(
        "MATCH (t:Term) WHERE t.key = $key OR t.key STARTS WITH $words RETURN count(t) AS n",
        {"key": owner_key(owner), "words": f"{owner_key(owner)} "},
    )

    assert after_rewrite["falcon"] == 2 and after_rewrite["heron"] == 1
    assert "call" not in after_rewrite
    assert after_delete == held_after_delete
    assert "falcon" not in after_delete and after_delete["heron"] == 1
    assert left[0]["n"] == 0  # no Term outlives the owner's last document


async def test_documents_written_before_word_counts_were_kept_search_alike_and_get_counted(
    store: GraphStore,
):
    texts = [
        "Falcons dive. A falcon dives faster than any other bird, falcons say.",
        "The falcon nests on cliffs above the river.",
        "A long account of the river, its mills, its fields and its bridges; a falcon once.",
        "Ducks swim on the river.",
    ]
    counted, older = unique_owner(), unique_owner()
    for owner in (counted, older):
        await store.write_document(doc(owner, "Birds"), chunks(owner, texts[:2]))
        await store.write_document(doc(owner, "River"), chunks(owner, texts[2:]))
    # The older owner's documents as a store written before the counts were kept
    # holds them: no tables, no Terms (and no search has counted their words yet).
    mine = {"owner": older, "key": f"{owner_key(older)} "}
    await store.run(
        "MATCH (d:Document) WHERE d.owner_id = $owner SET d.words = null, d.words_written = null",
        mine,
    )
    await store.run("MATCH (t:Term) WHERE t.key STARTS WITH $key DELETE t", mine)

    expected = await store.fulltext_search(counted, "falcons diving river", 4)
    reads = _vocabulary_reads(store)
    found = await store.fulltext_search(older, "falcons diving river", 4)
    for _ in range(3):
        await store.fulltext_search(older, "falcons diving river", 4)
        await _learnt(store)
    # Found not learnable at this version: not read again for every search.
    read_again = reads.count(older) > 1
    learned_uncounted = await store.learn_vocabulary(older)
    # The worker counts them (Neo4j's one database may hold other tests' documents).
    assert await store.count_missing_words() >= 2
    assert await store.learn_vocabulary(older)
    learned = await store.fulltext_search(older, "falcons diving river", 4)

    assert len(expected) == 4 and expected[0].text == texts[0]
    ranked = [(hit.text, round(hit.score, 9)) for hit in expected]
    assert [(hit.text, round(hit.score, 9)) for hit in found] == ranked
    assert await _kept_counts(store, older) == await _chunk_counts(store, older)
    assert not learned_uncounted  # its words are read from the index until counted
    assert not read_again
    assert [(hit.text, round(hit.score, 9)) for hit in learned] == ranked


async def test_words_at_the_ends_of_lines_are_found(store: GraphStore):
    """A word before or after a line break is a word (FalkorDB's fulltext tokenizer
    does not split at one: its index holds the chunks' terms)."""
    owner = unique_owner()
    text = "# KITE LAUNCH CHECKLIST\nVersion of 10 October\r\nOwner: Nadia\n\nStatus open"
    await store.write_document(doc(owner, "Checklist"), chunks(owner, [text]))

    for word in ("checklist", "version", "october", "owner", "nadia", "status"):
        assert [hit.text for hit in await store.fulltext_search(owner, word, 5)] == [text], word


async def test_an_owner_without_documents_finds_nothing_before_and_after_others_write(
    store: GraphStore,
):
    owner, other = unique_owner(), unique_owner()

    assert await store.fulltext_search(owner, "falcon", 5) == []  # nothing in the store yet
    await store.write_document(doc(other), chunks(other, ["The falcon dives."]))
    assert await store.fulltext_search(owner, "falcon", 5) == []
    assert await store.vector_search(owner, [1.0, 0.0, 0.0, 0.0], 5) == []


async def test_fulltext_finds_other_forms_of_a_word(store: GraphStore):
    owner = unique_owner()
    await store.write_document(doc(owner), chunks(owner, ["The falcon dives.", "Ducks swim."]))

    hits = await store.fulltext_search(owner, "falcons diving", 5)

    assert [hit.text for hit in hits] == ["The falcon dives."]


async def test_an_unreachable_neo4j_is_a_store_error_for_reads_and_writes():
    from retrieval.errors import StoreError
    from retrieval.graphstores.neo4j import Neo4jStore

    unreachable = Neo4jStore(uri="bolt://127.0.0.1:9", user="neo4j", password="x", database=None)
    owner = unique_owner()
    try:
        with pytest.raises(StoreError):
            await unreachable.fulltext_search(owner, "falcon", 5)
        with pytest.raises(StoreError):
            await unreachable.write_document(doc(owner), chunks(owner, ["The falcon dives."]))
        with pytest.raises(StoreError):
            await unreachable.delete_document(str(uuid.uuid4()), owner)
    finally:
        await unreachable.close()


async def test_a_store_made_before_owner_keys_is_brought_up_to_date_and_searches_per_owner(
    store: GraphStore,
):
    """Chunks written before the fulltext index knew owners (or held terms), and
    documents without a chunk count: setup gives them what they lack, and search
    finds them."""
    owner, other = unique_owner(), unique_owner()
    mine, theirs = doc(owner, "Mine"), doc(other, "Theirs")
    await store.write_document(mine, chunks(owner, ["falcons dive fast", "falcons nest"]))
    await store.write_document(theirs, chunks(other, ["falcons everywhere"]))
    await store.run("MATCH (c:Chunk) REMOVE c.owner_key, c.terms")
    await store.run("MATCH (d:Document) REMOVE d.chunk_count")
    if store.name == "falkordb":
        await store.run("CALL db.idx.fulltext.drop('Chunk')")
        await store.run(
            "CALL db.idx.fulltext.createNodeIndex({label: 'Chunk', language: 'english'}, 'text')"
        )
    else:
        await store.run("DROP INDEX chunk_text IF EXISTS")
        await store.run(
            "CREATE FULLTEXT INDEX chunk_text FOR (c:Chunk) ON EACH [c.text] "
            "OPTIONS {indexConfig: {`fulltext.analyzer`: 'english'}}"
        )

    await store.setup(4)

    found = await store.fulltext_search(owner, "falcons", 10)
    assert sorted(hit.text for hit in found) == ["falcons dive fast", "falcons nest"]
    assert [hit.text for hit in await store.fulltext_search(other, "falcons", 10)] == [
        "falcons everywhere"
    ]
