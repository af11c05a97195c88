"""Cypher shared by FalkorDB and Neo4j.

Only openCypher both engines accept lives here. Placeholders in angle
brackets (<vector>, <call>) are filled by the backend with its dialect.
Every read reaches chunks through (:Document)-[:HAS_CHUNK]->, so chunks
staged by a write still in progress are never returned.
"""

DISCARD_STALE_RUNS = """
MATCH (c:Chunk {document_id: $document_id})
WHERE NOT (c)<-[:HAS_CHUNK]-(:Document)
DETACH DELETE c
"""

STAGE_CHUNKS = """
UNWIND $rows AS row
CREATE (c:Chunk {id: row.id, run: $run, document_id: $document_id, owner_id: $owner_id,
                 owner_key: $owner_key, index: row.index, text: row.text, terms: row.terms})
SET c.page = row.page, c.page_label = row.page_label, c.ocr = row.ocr,
    c.embedding = <vector>
WITH c, row
UNWIND row.entities AS entity
MERGE (e:Entity {key: entity.key})
ON CREATE SET e.name = entity.name, e.type = entity.type, e.owner_id = $owner_id
ON MATCH SET e.name = CASE WHEN size(entity.name) > size(e.name) THEN entity.name ELSE e.name END
CREATE (c)-[:MENTIONS]->(e)
"""

LINK_NEXT = """
UNWIND $pairs AS pair
MATCH (a:Chunk {id: pair[0]}), (b:Chunk {id: pair[1]})
CREATE (a)-[:NEXT]->(b)
"""

# One statement, so that readers switch from the old chunks to the new at once.
COMMIT_RUN = """
MERGE (d:Document {id: $id})
SET d.owner_id = $owner_id, d.title = $title, d.filename = $filename,
    d.chunk_count = $chunk_count, d.written = $written
WITH d
OPTIONAL MATCH (d)-[:HAS_CHUNK]->(old:Chunk)
DETACH DELETE old
WITH DISTINCT d
MATCH (c:Chunk {document_id: $id, run: $run})
CREATE (d)-[:HAS_CHUNK]->(c)
"""

# A file that came attached to an email points at it (the email is written first).
LINK_ATTACHMENT = """
MATCH (d:Document {id: $id}), (email:Document {id: $email})
WHERE email.owner_id = $owner_id
MERGE (d)-[:ATTACHED_TO]->(email)
"""

DISCARD_RUN = """
MATCH (c:Chunk {run: $run})
DETACH DELETE c
"""

# Entities are shared by the owner's documents: after chunks go, only the
# entities they mentioned can have become orphans, so only those are checked.
ENTITY_KEYS_OF_DOCUMENT = """
MATCH (c:Chunk {document_id: $document_id})-[:MENTIONS]->(e:Entity)
WHERE c.owner_id = $owner_id
RETURN DISTINCT e.key AS key
"""

ENTITY_KEYS_OF_RUN = """
MATCH (c:Chunk {run: $run})-[:MENTIONS]->(e:Entity)
RETURN DISTINCT e.key AS key
"""

DELETE_ORPHAN_ENTITIES = """
UNWIND $keys AS key
MATCH (e:Entity {key: key})
WHERE NOT (e)<-[:MENTIONS]-(:Chunk)
DELETE e
"""

# Deletes match the owner too: a document id from anywhere else (a bug, a
# forged request) can never reach another user's chunks.
DELETE_DOCUMENT_CHUNKS = """
MATCH (c:Chunk {document_id: $document_id})
WHERE c.owner_id = $owner_id
DETACH DELETE c
"""

# The owner's word counts: one Term node per owner and word (its stem), holding
# how many of the owner's chunks hold it, so that a search reads a count with one
# index lookup however many chunks hold the word (counting them in the fulltext
# index took 7 ms at 50,000 chunks). The counts are the sum of the tables kept on
# the owner's Document nodes (`words`: "word count word count ..."), and change
# only in the statement that changes a table: the table a document leaves is
# subtracted, the new one added. A document's counts are true for it while
# `words_written` equals its `written` stamp (a write whose counting was cut
# short leaves them unequal until the worker counts it again). A word no chunk
# holds any more loses its Term.
_WORD_CHANGES = """
WITH d, split(coalesce(d.words, ''), ' ') AS old
UNWIND [i IN range(0, size(old) - 2, 2) | {key: $owner_key + ' ' + old[i],
        n: -toInteger(old[i + 1])}] + $words AS t
WITH d, t.key AS key, sum(t.n) AS n
MERGE (w:Term {key: key})
ON CREATE SET w.n = n
ON MATCH SET w.n = w.n + n
FOREACH (gone IN CASE WHEN w.n = 0 THEN [w] ELSE [] END | DELETE gone)
WITH DISTINCT d
"""

# A document's table replaced, if the document is still as written at $written.
# $words always holds one row (the owner's key alone, counting 0), so that the
# statement goes on to its SET for a document with no words.
COUNT_DOCUMENT_WORDS = (
    """
MATCH (d:Document {id: $id})
WHERE coalesce(d.written, 0) = $written
"""
    + _WORD_CHANGES
    + """SET d.words = $table, d.words_written = $written
"""
)

DELETE_DOCUMENT_NODE = (
    """
MATCH (d:Document {id: $document_id})
WHERE d.owner_id = $owner_id
"""
    + _WORD_CHANGES
    + """DETACH DELETE d
"""
)

# Documents whose word counts are missing or out of date, with the chunks' words.
UNCOUNTED_DOCUMENTS = """
MATCH (d:Document)
WHERE coalesce(d.words_written, -1) <> coalesce(d.written, 0)
WITH d
LIMIT $limit
OPTIONAL MATCH (d)-[:HAS_CHUNK]->(c:Chunk)
RETURN d.id AS id, d.owner_id AS owner_id, coalesce(d.written, 0) AS written,
       collect(c.terms) AS terms, collect(CASE WHEN c.terms IS NULL THEN c.text END) AS texts
"""

# Documents carry their chunk count, so this reads a few nodes, not every chunk.
# (A count taken the long way only where one was missing cost as much as taking it
# for all: FalkorDB walks the pattern in CASE's other branch too.)
_CHUNK_TOTAL = """
MATCH (d:Document)
WHERE d.owner_id = $owner_id AND ($document_ids IS NULL OR d.id IN $document_ids)
WITH sum(coalesce(d.chunk_count, 0)) AS total
"""

# Chunks written before their terms were stored (retrieval.words.terms), a batch
# at a time: the terms are made in Python (the worker, beside its tasks).
CHUNKS_WITHOUT_TERMS = """
MATCH (c:Chunk)
WHERE c.terms IS NULL
RETURN c.id AS id, coalesce(c.text, '') AS text
LIMIT $limit
"""

SET_TERMS = """
UNWIND $rows AS row
MATCH (c:Chunk {id: row.id})
SET c.terms = row.terms
"""

# Documents written before they carried their chunk count get it (at start-up).
SET_CHUNK_COUNTS = """
MATCH (d:Document)
WHERE d.chunk_count IS NULL
OPTIONAL MATCH (d)-[:HAS_CHUNK]->(c:Chunk)
WITH d, count(c) AS n
SET d.chunk_count = n
"""

OWNER_CHUNK_COUNT = _CHUNK_TOTAL + "RETURN total AS n"

# What the owner's word counts depend on, read from a few Document nodes (any
# document written, rewritten or deleted changes it: a write stamps `written`),
# how many of them are not counted yet, and the count of each word asked (its
# Term), in one round trip: the version's row has no word. OPTIONAL: inside a
# UNION, FalkorDB returns no row at all for a count over nothing (an owner with
# no documents yet).
OWNER_WORDS = """
OPTIONAL MATCH (d:Document)
WHERE d.owner_id = $owner_id
RETURN null AS word, count(d) AS documents, sum(coalesce(d.chunk_count, 0)) AS total,
       sum(coalesce(d.written, 0)) AS written,
       sum(CASE WHEN d IS NULL OR coalesce(d.words_written, -1) = coalesce(d.written, 0)
           THEN 0 ELSE 1 END) AS uncounted,
       0 AS n
UNION ALL
UNWIND $words AS q
OPTIONAL MATCH (w:Term {key: q.key})
RETURN q.word AS word, 0 AS documents, 0 AS total, 0 AS written, 0 AS uncounted,
       coalesce(w.n, 0) AS n
"""

# Every word table of the owner's documents, with what makes the owner's version
# (as OWNER_WORDS reads it): the owner's whole vocabulary, summed by the caller.
OWNER_WORD_TABLES = """
MATCH (d:Document)
WHERE d.owner_id = $owner_id
RETURN d.words AS words, coalesce(d.chunk_count, 0) AS chunks,
       coalesce(d.written, 0) AS written, coalesce(d.words_written, -1) AS words_written
"""

# The same counts from the fulltext index, for an owner some of whose documents
# are not counted yet (written before the counts were kept, or cut short): one
# fulltext call per word, each scoped to the owner inside the index by its owner
# key. Only numbers leave this statement, so the index's scoping is enough.
INDEX_WORD_COUNTS = """
UNWIND $queries AS q
<call>
RETURN q.word AS word, count(node) AS n
"""

# Chunks written before the fulltext index knew owners get their owner key.
SET_OWNER_KEYS = """
MATCH (c:Chunk)
WHERE c.owner_key IS NULL
SET c.owner_key = 'owner' + toString(c.owner_id)
"""

# <call> yields `node, score` with score meaning "higher is better"; <similarity>
# is the chunk's cosine similarity to $embedding, computed in the store so that
# no embedding travels back (or null when the caller has none).
# Chunks a search may return: the owner's (or those of some of their documents).
# The best $k are chosen on the chunks' own properties and only they are matched
# to their Document (which also leaves out chunks staged by a write in progress:
# they may take a place among the $k for the seconds a write lasts). Matching
# every candidate first cost 19 against 12 ms p50 for a fulltext search at
# 50,000 chunks, where a question's words match thousands.
_OWNERS_BEST = """
<call>
WITH node, score
WHERE node.owner_id = $owner_id
  AND ($document_ids IS NULL OR node.document_id IN $document_ids)
WITH node, score
ORDER BY score DESC
LIMIT $k
"""
SEARCH_TAIL = (
    _OWNERS_BEST
    + """MATCH (d:Document)-[:HAS_CHUNK]->(node)
RETURN node.id AS chunk_id, d.id AS document_id, d.title AS title, d.filename AS filename,
       node.index AS index, node.page AS page, node.page_label AS page_label, node.ocr AS ocr,
       node.text AS text, <similarity> AS similarity, score
ORDER BY score DESC
"""
)

# The fulltext candidates BM25 rescores: their words only (their terms, or the
# text of a chunk written before terms were). Only the few BM25 keeps are then
# read whole with CHUNKS_BY_ID: matching all 200 candidates to their Document
# and comparing their vectors was 3 of a 7 ms search at 10,000 chunks.
FULLTEXT_CANDIDATES = (
    _OWNERS_BEST
    + """RETURN node.id AS chunk_id, node.terms AS terms,
       CASE WHEN node.terms IS NULL THEN node.text END AS text, score
ORDER BY score DESC
"""
)

# The owner's chunks by id, as a search returns them (a chunk whose write is still
# in progress has no Document yet and is left out, as SEARCH_TAIL leaves it).
CHUNKS_BY_ID = """
UNWIND $ids AS chunk_id
MATCH (node:Chunk {id: chunk_id})
WHERE node.owner_id = $owner_id
MATCH (d:Document)-[:HAS_CHUNK]->(node)
RETURN node.id AS chunk_id, d.id AS document_id, d.title AS title, d.filename AS filename,
       node.index AS index, node.page AS page, node.page_label AS page_label, node.ocr AS ocr,
       node.text AS text, <similarity> AS similarity, 0.0 AS score
"""

# Graph expansion from the best hits: reading-order neighbours, then chunks
# that mention the same entities (score = number of shared entities).
NEXT_NEIGHBOURS = """
UNWIND $ids AS seed_id
MATCH (seed:Chunk {id: seed_id})-[:NEXT]-(node:Chunk)
WHERE seed.owner_id = $owner_id AND node.owner_id = $owner_id
MATCH (d:Document)-[:HAS_CHUNK]->(node)
WHERE $document_ids IS NULL OR d.id IN $document_ids
RETURN DISTINCT seed_id AS seed, node.id AS chunk_id, d.id AS document_id, d.title AS title,
       d.filename AS filename, node.index AS index, node.page AS page,
       node.page_label AS page_label, node.ocr AS ocr, node.text AS text,
       <similarity> AS similarity, 1.0 AS score
"""

# The document restriction comes before LIMIT (applied after it, chunks of other
# documents could fill the limit and leave none of the allowed ones), on the
# chunk's own document_id: matching each candidate's Document there would cost a
# scan per candidate. In its own WITH step: inside the MATCH's WHERE, FalkorDB
# plans the whole pattern far slower (250 ms against 2 ms at 900 documents).
# Only the chunks kept are matched to their Document.
#
# Entities mentioned by more than $fanout chunks (a country named on every other
# page) are not followed: they link nearly everything, so they say little about
# which chunks belong together, and they cost the most to follow. <mentions>
# counts an entity's mentions (with a count the backend keeps, where it has one).
ENTITY_NEIGHBOURS = """
UNWIND $ids AS seed_id
MATCH (seed:Chunk {id: seed_id})-[:MENTIONS]->(e:Entity)
WHERE seed.owner_id = $owner_id
WITH seed_id, e, <mentions> AS mentions
WHERE mentions <= $fanout
MATCH (e)<-[:MENTIONS]-(node:Chunk)
WHERE node.owner_id = $owner_id AND node.id <> seed_id
WITH seed_id, node, e
WHERE $document_ids IS NULL OR node.document_id IN $document_ids
WITH seed_id, node, count(DISTINCT e) AS shared
ORDER BY shared DESC, node.id
LIMIT $limit
MATCH (d:Document)-[:HAS_CHUNK]->(node)
RETURN seed_id AS seed, node.id AS chunk_id, d.id AS document_id, d.title AS title,
       d.filename AS filename, node.index AS index, node.page AS page,
       node.page_label AS page_label, node.ocr AS ocr, node.text AS text,
       <similarity> AS similarity, toFloat(shared) AS score
"""

# One passage of one document, for a reader who opens a citation in full; both
# the document and the chunk must be the owner's.
PASSAGE = """
MATCH (d:Document {id: $document_id})-[:HAS_CHUNK]->(node:Chunk {id: $chunk_id})
WHERE d.owner_id = $owner_id AND node.owner_id = $owner_id
RETURN node.id AS chunk_id, d.id AS document_id, d.title AS title, d.filename AS filename,
       node.index AS index, node.page AS page, node.page_label AS page_label, node.ocr AS ocr,
       node.text AS text, null AS similarity, 1.0 AS score
"""

# A document's entities (those it mentions most, with how often) and, for each,
# how often the owner's other documents mention it: the document's place in the
# owner's entity graph. Entities are the owner's own (their keys start with the
# owner's id); the owner filter on every node keeps it so.
DOCUMENT_ENTITIES = """
MATCH (d:Document {id: $document_id})-[:HAS_CHUNK]->(c:Chunk)-[:MENTIONS]->(e:Entity)
WHERE d.owner_id = $owner_id AND c.owner_id = $owner_id AND e.owner_id = $owner_id
WITH e, count(DISTINCT c) AS here
ORDER BY here DESC, e.name
LIMIT $limit
OPTIONAL MATCH (e)<-[:MENTIONS]-(o:Chunk)
WHERE o.owner_id = $owner_id AND o.document_id <> $document_id
RETURN e.key AS key, e.name AS name, e.type AS type, here,
       o.document_id AS other, count(DISTINCT o) AS there
"""

# The owner's passages that mention an entity, in reading order per document. A chunk
# may mention one entity twice (a name and its alias): it counts, and is listed, once.
ENTITY_PASSAGES = """
MATCH (e:Entity {key: $key})<-[:MENTIONS]-(node:Chunk)
WHERE e.owner_id = $owner_id AND node.owner_id = $owner_id
WITH DISTINCT node
MATCH (d:Document)-[:HAS_CHUNK]->(node)
RETURN node.id AS chunk_id, d.id AS document_id, d.title AS title, d.filename AS filename,
       node.index AS index, node.page AS page, node.page_label AS page_label, node.ocr AS ocr,
       node.text AS text, null AS similarity, 1.0 AS score
ORDER BY title, index
LIMIT $limit
"""
