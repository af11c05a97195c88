"""Working files, measured: one dossier-bench case ingested for one user, then what it asks.

A case (../shared/data/dossier_kite_launch, see its README; or in the folder
BENCH_DATA or --bench-data names; else the copy queries/tests/data keeps for the
working-files test) is a project's mixed files with ground truth. Through the
product's own services (embedded defaults, local extractive model), this script

1. ingests every file in docs/ and reports which reach ready, per file type,
   with the reason of each that fails;
2. runs the case's search queries in each retrieval mode: recall@k is the share
   of a query's expected documents among the documents of the k passages found;
3. asks the case's scenarios (follow-ups in one conversation): cited-document
   recall (expected documents among those the answer cites with [n]) and the
   share of must-facts the answer states (see `stated`);
4. compares the entity graph with expected/graph.yaml: an expected entity is
   found when an Entity node is named by its name or one of its aliases;
   precision is the share of Entity nodes that name an expected entity.

Prints the figures and, with --results, appends them to bench/RESULTS.md.

    .venv/bin/python bench/dossier.py [--case PATH] [--modes vector,graph] [--results]
        [--bench-data DIR]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import bench_data, missing_data, parse_args, setup_django  # noqa: E402
from bench.results import append, table  # noqa: E402

CASE = "dossier_kite_launch"
# The same case, kept in the repository for the working-files test (without the
# case generator's own files, which this script does not read).
KEPT_CASE = ROOT / "queries" / "tests" / "data" / CASE
CITED = re.compile(r"\[(\d+)\]")
WORD = re.compile(r"[a-z0-9£$€%.,/-]+")
STOP_WORDS = (
    "a an the of to in on for and or with by at from is are was were be been it its this "
    "that as than then so into out up over under about after before not no"
)
STOP = set(STOP_WORDS.split(" "))


def words(text: str) -> list[str]:
    found = [w.strip(".,/-") for w in WORD.findall(text.lower())]
    return [w for w in found if w and w not in STOP]


def stated(fact: str, answer: str) -> bool:
    """Whether `answer` states `fact`, judged without a model: every number and amount
    of the fact appears in the answer, and at least 60% of its other words do."""
    said = set(words(answer))
    fact_words = words(fact)
    numbers = [w for w in fact_words if any(ch.isdigit() for ch in w)]
    others = [w for w in fact_words if w not in numbers]
    if any(number not in said for number in numbers):
        return False
    return not others or sum(w in said for w in others) / len(others) >= 0.6


def norm(name: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", name.casefold()).split())


def default_case() -> Path:
    """The case in the data sets' folder, else the copy kept in the repository."""
    shared = bench_data() / CASE
    if (shared / "docs").is_dir() or not (KEPT_CASE / "docs").is_dir():
        return shared
    return KEPT_CASE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case",
        type=Path,
        help=f"a dossier-bench case folder (default: {CASE} in the data sets' folder, else "
        "the copy in queries/tests/data)",
    )
    parser.add_argument("--modes", default="vector,fulltext,hybrid,graph")
    parser.add_argument("--floors", help="also measure search at these relevance floors: 0.1,0.2")
    parser.add_argument("--results", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument(
        "--data",
        help="keep the ingested files in this folder and reuse them on the next run "
        "(to measure answers again after a change that does not touch ingestion)",
    )
    parser.add_argument("--show", action="store_true", help="print each answer in full")
    args = parse_args(parser)
    case: Path = (args.case or default_case()).absolute()
    if not (case / "docs").is_dir():
        missing_data(
            f"No dossier-bench case (a folder with docs/ and expected/) at {case}: pass --case "
            f"PATH, or point --bench-data DIR or BENCH_DATA at the folder that holds {CASE}/."
        )
    if case == KEPT_CASE:
        print(f"No {CASE} in {bench_data()}: measuring the copy in {case.relative_to(ROOT)}.")
    setup_django(args.data or tempfile.mkdtemp(prefix="bench-dossier-"))
    from django.contrib.auth import get_user_model

    owner, _ = get_user_model().objects.get_or_create(username="bench")
    expected = yaml.safe_load((case / "expected" / "documents.yaml").read_text())["documents"]
    key_of_file = {name: doc["key"] for doc in expected for name in doc["files"]}

    started = time.perf_counter()
    files, key_of_document = ingest(owner, case / "docs", key_of_file)
    ingest_seconds = time.perf_counter() - started
    sections = [files_section(files, ingest_seconds)]
    sections.append(search_section(owner.pk, case, key_of_document, args.modes.split(",")))
    for floor in (args.floors or "").split(",") if args.floors else []:
        sections.append(
            f"At relevance floor {floor}: "
            + search_section(owner.pk, case, key_of_document, args.modes.split(","), float(floor))
        )
    sections.append(scenario_section(owner.pk, case, key_of_document, show=args.show))
    sections.append(first_token_section(owner.pk, case))
    sections.append(entity_section(owner.pk, case))
    text = "\n\n".join(sections)
    print(text)
    if args.results:
        append(
            f"Working files: dossier-bench case {case.name}",
            "embedded defaults (local MiniLM, local extractive model), one user, "
            "every file of docs/",
            text,
        )


def ingest(owner, folder: Path, key_of_file: dict[str, str]) -> tuple[list[dict], dict[str, str]]:
    from retrieval import documents, ingestion
    from retrieval.errors import RagError
    from retrieval.models import Document

    rows, key_of_document = [], {}
    for path in sorted(folder.iterdir()):
        row = {"file": path.name, "type": path.suffix.lstrip(".").lower() or "none"}
        kept = Document.objects.filter(owner=owner, filename=path.name).first()
        if kept is not None:  # ingested by an earlier run into the same --data folder
            key_of_document[str(kept.pk)] = key_of_file.get(path.name, path.name)
            rows.append(
                {**row, "status": kept.status, "reason": kept.error, "chunks": kept.chunk_count}
            )
            continue
        try:
            with path.open("rb") as stream:
                document = documents.create_document(owner, stream, path.name, enqueue=False)
        except RagError as error:
            rows.append({**row, "status": "refused", "reason": error.message, "chunks": 0})
            continue
        ingestion.ingest_document(document.pk)
        document = Document.objects.get(pk=document.pk)
        key_of_document[str(document.pk)] = key_of_file.get(path.name, path.name)
        rows.append(
            {
                **row,
                "status": document.status,
                "reason": document.error,
                "chunks": document.chunk_count,
            }
        )
        print(f"{path.name}: {document.status} {document.error}".rstrip())
    return rows, key_of_document


def files_section(files: list[dict], seconds: float) -> str:
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in files:
        by_type[row["type"]][0] += row["status"] == "ready"
        by_type[row["type"]][1] += 1
        by_type[row["type"]][2] += row["chunks"]
    ready = sum(row["status"] == "ready" for row in files)
    lines = [
        f"**Files**: {ready} of {len(files)} reach ready (ingested in {seconds:.0f} s).",
        "",
        table(
            ["type", "ready", "files", "passages"],
            [[t, r, n, c] for t, (r, n, c) in sorted(by_type.items())],
        ),
    ]
    failed = [
        [row["file"], row["status"], row["reason"] or ""]
        for row in files
        if row["status"] != "ready"
    ]
    if failed:
        lines += ["", table(["file", "status", "reason"], failed)]
    return "\n".join(lines)


def search_section(
    owner_id: int,
    case: Path,
    key_of_document: dict[str, str],
    modes: list[str],
    floor: float | None = None,
) -> str:
    from retrieval.loops import run_sync
    from retrieval.search import Mode, aretrieve

    queries = yaml.safe_load((case / "expected" / "search.yaml").read_text())["queries"]
    recall: dict[str, list[float]] = {mode: [] for mode in modes}
    returned: dict[str, list[int]] = {mode: [] for mode in modes}
    rows = []
    for query in queries:
        expect, k = set(query["expect"]), query.get("k", 5)
        row = [query["query"], k]
        for mode in modes:
            options = {} if floor is None else {"floor": floor}
            passages = run_sync(
                aretrieve, owner_id, query["query"], max_results=k, mode=Mode(mode), **options
            )
            found = {key_of_document.get(p.document_id) for p in passages}
            recall[mode].append(len(expect & found) / len(expect))
            returned[mode].append(len(passages))
            row.append(f"{recall[mode][-1]:.2f}")
        rows.append(row)
    means = [
        f"{mode} {statistics.mean(values):.2f} ({statistics.mean(returned[mode]):.1f} passages)"
        for mode, values in recall.items()
    ]
    return "\n".join(
        [
            f"**Search recall@k** (mean over {len(queries)} queries): {', '.join(means)}.",
            "",
            table(["query", "k", *modes], rows),
        ]
    )


def scenario_section(
    owner_id: int, case: Path, key_of_document: dict[str, str], *, show: bool = False
) -> str:
    from queries.answering import Question, aanswer
    from retrieval.loops import run_sync

    scenarios = []
    for path in sorted((case / "agent" / "scenarios").glob("*.yaml")):
        scenarios += yaml.safe_load(path.read_text())
    rows, cited_recall, facts_stated, facts_total, clean = [], [], 0, 0, []
    for scenario in scenarios:
        conversation = None
        for number, turn in enumerate(scenario["turns"], start=1):
            answer = run_sync(
                aanswer, Question(owner_id, turn["content"], conversation_id=conversation)
            )
            conversation = answer["conversation_id"]
            expect = turn.get("expect", {})
            text = answer["answer"]
            cited_numbers = {int(n) for n in CITED.findall(text)}
            cited = {
                key_of_document.get(c["document_id"])
                for c in answer["citations"]
                if c["n"] in cited_numbers
            }
            must_docs = set(expect.get("citations", {}).get("must_include_docs", []))
            facts = expect.get("answer", {}).get("must_facts", [])
            said = sum(stated(fact, text) for fact in facts)
            facts_stated += said
            facts_total += len(facts)
            doc_recall = len(must_docs & cited) / len(must_docs) if must_docs else None
            if doc_recall is not None:
                cited_recall.append(doc_recall)
            banned = expect.get("not_contains") or expect.get("answer", {}).get("not_contains", [])
            if banned:
                clean.append(not any(b.casefold() in text.casefold() for b in banned))
            if show:
                print(f"\n## {scenario['id']} {number}: {turn['content']}\n{text}")
                for fact in facts:
                    print(f"  [{'x' if stated(fact, text) else ' '}] {fact}")
                print(f"  docs: expected {sorted(must_docs)} cited {sorted(map(str, cited))}")
            rows.append(
                [
                    f"{scenario['id']} {number}",
                    scenario.get("group", ""),
                    f"{said}/{len(facts)}" if facts else "",
                    f"{doc_recall:.2f}" if doc_recall is not None else "",
                    " ".join(text.split())[:90].replace("|", "/"),
                ]
            )
    summary = (
        f"**Answers**: must-facts stated {facts_stated}/{facts_total} "
        f"({facts_stated / max(facts_total, 1):.2f}); cited-document recall "
        f"{statistics.mean(cited_recall) if cited_recall else 0:.2f} over {len(cited_recall)} turns"
    )
    if clean:
        summary += (
            f"; injection turns with nothing forbidden in the answer: {sum(clean)}/{len(clean)}"
        )
    return "\n".join(
        [summary + ".", "", table(["turn", "group", "facts", "cited docs", "answer"], rows)]
    )


def first_token_section(owner_id: int, case: Path) -> str:
    """How long the local model takes before its first token, at 5 passages: the whole
    answer is chosen before the first word streams. Cold: no sentence seen before."""
    from queries import local_model
    from queries.prompts import ANSWER, I_DONT_KNOW, format_passages
    from retrieval.loops import run_sync
    from retrieval.search import aretrieve

    questions = [
        turn["content"]
        for path in sorted((case / "agent" / "scenarios").glob("*.yaml"))
        for scenario in yaml.safe_load(path.read_text())
        for turn in scenario["turns"]
    ]
    model = local_model.ExtractiveChatModel()
    cold, warm = [], []
    for question in questions:
        passages = run_sync(aretrieve, owner_id, question, max_results=5)
        messages = ANSWER.format_messages(
            i_dont_know=I_DONT_KNOW, passages=format_passages(passages), history=[],
            question=question,
        )  # fmt: skip
        local_model._SENTENCE_VECTORS.clear()
        for times in (cold, warm):
            started = time.perf_counter()
            model.answer(messages)
            times.append((time.perf_counter() - started) * 1000)
    return (
        f"**Local model, first token** at 5 passages over {len(questions)} questions: "
        f"p50 {statistics.median(cold):.0f} ms, p95 {p95(cold):.0f} ms with no sentence seen "
        f"before; p50 {statistics.median(warm):.0f} ms when the same passages come back."
    )


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def entity_section(owner_id: int, case: Path) -> str:
    from retrieval.graphstores import aget_store
    from retrieval.loops import run_sync

    async def stored() -> list[str]:
        store = await aget_store()
        rows = await store.run(
            "MATCH (c:Chunk {owner_id: $owner})-[:MENTIONS]->(e:Entity) "
            "RETURN DISTINCT e.name AS name",
            {"owner": owner_id},
        )
        return [row["name"] for row in rows]

    names = {norm(name) for name in run_sync(stored)}
    entities = yaml.safe_load((case / "expected" / "graph.yaml").read_text())["entities"]
    known: set[str] = set()
    found = []
    for entity in entities:
        spellings = {norm(entity["name"]), *(norm(a) for a in entity.get("aliases", []))}
        known |= spellings
        found.append((entity, bool(spellings & names)))
    recall = sum(hit for _, hit in found) / len(found)
    precision = len(names & known) / len(names) if names else 0.0
    missed = ", ".join(e["name"] for e, hit in found if not hit)
    return (
        f"**Entity graph**: recall {recall:.2f} ({sum(hit for _, hit in found)} of {len(found)} "
        f"expected entities), precision {precision:.2f} ({len(names & known)} of {len(names)} "
        f"Entity nodes name an expected entity). Missed: {missed or 'none'}."
    )


if __name__ == "__main__":
    main()
