"""Quality regression guard on working files: a dossier-bench case (queries/tests/data).

HaluEval's short passages (test_quality.py) are not what people bring: here a
project's mixed files, each a long, dense passage or a few, are ingested and
searched and asked about. Each floor sits a few points under what the case
measured when it was set (bench/dossier.py has the whole picture), so a change
that loses working files fails here even when HaluEval does not notice.
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

import pytest
import yaml

from bench.dossier import CITED, stated
from queries.answering import Question, aanswer
from retrieval import documents, ingestion
from retrieval.errors import RagError
from retrieval.search import Mode, aretrieve

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CASE = Path(__file__).resolve().parent / "data" / "dossier_kite_launch"


@pytest.fixture
def kite(alice) -> dict[str, str]:
    """Every file of the case that ingests today, for alice: document id -> document key."""
    expected = yaml.safe_load((CASE / "expected" / "documents.yaml").read_text())["documents"]
    key_of_file = {name: doc["key"] for doc in expected for name in doc["files"]}
    keys, failed = {}, []
    for path in sorted((CASE / "docs").iterdir()):
        try:
            with path.open("rb") as stream:
                document = documents.create_document(alice, stream, path.name, enqueue=False)
        except RagError as error:
            failed.append(f"{path.name}: {error.message}")
            continue
        if ingestion.ingest_document(document.pk) == "ready":
            keys[str(document.pk)] = key_of_file[path.name]
        else:
            document.refresh_from_db()
            failed.append(f"{path.name}: {document.error}")
    assert not failed  # every file of the case is read (scans and photos by OCR)
    return keys


def test_search_finds_the_expected_working_files(alice, kite):
    queries = yaml.safe_load((CASE / "expected" / "search.yaml").read_text())["queries"]

    async def recall(query: dict) -> float:
        passages = await aretrieve(
            alice.pk, query["query"], max_results=query.get("k", 5), mode=Mode.GRAPH
        )
        found = {kite.get(p.document_id) for p in passages}
        return len(set(query["expect"]) & found) / len(query["expect"])

    recalls = [asyncio.run(recall(query)) for query in queries]

    # Measured when set: 0.89 (0.85 before passage vectors held their document's
    # title, 0.68 before scans and photos were read by OCR, 0.57 before workbooks
    # were read, 0.38 with the relevance floor at 0.30).
    assert statistics.mean(recalls) >= 0.84, recalls


def test_local_answers_cite_the_expected_files_and_state_their_facts(alice, kite):
    """The case's conversations, asked of the local model: the documents each answer
    cites with [n] and the facts it states (bench.dossier.stated)."""
    scenarios = yaml.safe_load((CASE / "agent" / "scenarios" / "core.yaml").read_text())
    cited_recall, facts, said = [], 0, 0
    for scenario in scenarios:
        conversation = None
        for turn in scenario["turns"]:
            question = Question(alice.pk, turn["content"], conversation_id=conversation)
            answer = asyncio.run(aanswer(question))
            conversation = answer["conversation_id"]
            expect = turn.get("expect", {})
            numbers = {int(n) for n in CITED.findall(answer["answer"])}
            cited = {kite.get(c["document_id"]) for c in answer["citations"] if c["n"] in numbers}
            must = set(expect.get("citations", {}).get("must_include_docs", []))
            if must:
                cited_recall.append(len(must & cited) / len(must))
            for fact in expect.get("answer", {}).get("must_facts", []):
                facts += 1
                said += stated(fact, answer["answer"])

    # Measured when set: cited-document recall 0.94, facts 28 of 46 (0.61). Before
    # each ask of a question got its own search and sentence, every version a
    # question names its passage, a sheet's figures below its table their own
    # labels, the section the question names its lines first and a timeline its
    # dates in order, and a close sentence of another file beside the best: 0.69
    # and 20 of 46; at the start of this guard: 0.44 and 13.
    # Near ties turn a question or two from one run to the next (three runs of
    # bench/dossier.py: cited 0.81-0.94, facts 28-29; one turn in eight is 0.125),
    # so the floors allow one turn. Since the fulltext index holds the chunks'
    # terms (words at line breaks found) and counts words as BM25 does: facts 25
    # (27 just before; search recall 0.89 and cited 0.94 both unchanged): the two
    # passages of the checklist, a near tie, swapped places, and the local model
    # answers "which items are still open" from the other one first (3 facts -> 1).
    assert statistics.mean(cited_recall) >= 0.8, cited_recall
    assert said / facts >= 0.52, (said, facts)


def test_a_summary_of_every_document_has_a_line_for_each_file_found(alice, kite):
    """The question names no subject, so no passage is much like it: every file's
    passages answer it all the same, one line a file."""
    question = Question(alice.pk, "Give me a one-line summary of every document.", max_results=8)

    answer = asyncio.run(aanswer(question))

    lines = answer["answer"].splitlines()
    files = [line.split(":")[0].removeprefix("- ") for line in lines]
    assert len(lines) >= 6 and all(line.startswith("- ") for line in lines), answer["answer"]
    assert len(set(files)) == len(files)  # one line a file
    cited = {c["filename"] for c in answer["citations"]}
    assert set(files) <= cited
