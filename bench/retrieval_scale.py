"""Retrieval as the store grows: one user's 10,000 and 50,000 chunks, and other users' beside them.

The corpus is the public HaluEval passages (../shared/data/halueval_dev), one
chunk each, repeated over as many documents as the size needs: every copy
gets its own document, chunk ids, entity links and reading order, written
through the same store API that ingestion uses (the passages are embedded
once; the store cannot tell copies apart, and ranking across copies is not
what is measured). Each step times the retrieval service on the HaluEval
questions, with the query embedding reported apart; its cost must not grow
with the owner's corpus or with other users' data. The last step ingests one
more document through the real pipeline into the full store, for the
ingestion rate at that size.

Steps (cumulative, one store):
  alice-10k     alice owns 10,000 chunks (timed back to back, then with other
                questions 200 ms apart: PAUSE)
  alice-10k+others-50k   50,000 chunks of 5 other users added
  alice-50k     alice grows to 50,000 chunks (110,000 in the store)
  ingest        one 1,000-passage document of alice's through the pipeline

    .venv/bin/python bench/retrieval_scale.py [--questions 100] [--results]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import results as bench_results  # noqa: E402
from bench.ingest import dataset, parse_args, require_dataset, setup_django  # noqa: E402

PER_DOCUMENT = 1000  # passages (= chunks) per document
# In a web process a question's search comes after the last answer streamed for a
# fifth of a second (bench/streaming.py's ttft scenario), by when the CPU's caches
# hold other work: at 10,000 chunks the same searches and embeddings are timed
# again that far apart, with other questions of the set.
PAUSE = 0.2


def load() -> list[dict]:
    import json

    with dataset().open() as handle:
        return [json.loads(line) for line in handle]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def write_copies(owner: int, copies: int, texts: list[str], vectors, entities) -> list[str]:
    """`copies` documents of `owner`, each holding every passage once; their ids."""
    from retrieval.graphstores import aget_store
    from retrieval.graphstores.base import ChunkNode, DocumentNode, EntityNode

    store = await aget_store()
    written = []
    for _ in range(copies):
        document = DocumentNode(str(uuid.uuid4()), owner, "HaluEval passages", "halueval.txt")
        chunks = [
            ChunkNode(
                index=i,
                text=text,
                page=None,
                embedding=vectors[i],
                entities=[EntityNode(f"{owner}:{e.key}", e.name, e.type) for e in entities[i]],
            )
            for i, text in enumerate(texts)
        ]
        await store.write_document(document, chunks)
        written.append(document.id)
    return written


def embedded_passages() -> tuple[list[str], list[list[float]], list]:
    """The passages each copied document holds, with their vectors and linked entities,
    made once for all the copies."""
    from retrieval import embeddings, entities

    texts = [row["knowledge"] for row in load()][:PER_DOCUMENT]
    vectors = embeddings.embed_texts(texts)
    return texts, vectors, [entities.link(text, entities.extract(text)) for text in texts]


def seed(username: str, copies: int) -> int:
    """`copies` documents of HaluEval passages for the existing user `username`, written
    into the store and the database the Django settings name, ready to be asked
    about (bench/streaming.py --corpus halueval, through `manage.py shell`); the
    number of chunks written."""
    from django.contrib.auth import get_user_model

    from retrieval.models import Document

    texts, vectors, found = embedded_passages()
    owner = get_user_model().objects.get(username=username).pk
    for document_id in asyncio.run(write_copies(owner, copies, texts, vectors, found)):
        Document.objects.create(
            id=document_id,
            owner_id=owner,
            title="HaluEval passages",
            filename="halueval.txt",
            sha256=uuid.uuid4().hex,  # one row per copy
            content_type="text/plain",
            status=Document.Status.READY,
            chunk_count=len(texts),
        )
    return copies * len(texts)


def measure(owner: int, questions: list[str], pause: float = 0.0) -> dict[str, float]:
    """Each question's search on one event loop, as the web process runs them;
    with `pause`, each embedding and each search comes that many seconds after
    the last, as in a server between answers (see PAUSE)."""
    from retrieval.loops import run_sync

    return run_sync(_measure, owner, questions, pause)


async def _measure(owner: int, questions: list[str], pause: float) -> dict[str, float]:
    from retrieval import embeddings
    from retrieval.search import aretrieve

    await aretrieve(owner, questions[0])  # the loop's store connections, opened once
    embed_ms, search_ms = [], []
    for question in questions:
        await asyncio.sleep(pause)
        started = time.perf_counter()
        embeddings.embed_query(question)
        embed_ms.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(pause)
        started = time.perf_counter()
        await aretrieve(owner, question)  # the vector is remembered: this is the search alone
        search_ms.append((time.perf_counter() - started) * 1000)
    apart = f", {pause * 1000:.0f} ms apart" if pause else ""
    return {
        f"retrieval ms p50{apart}": statistics.median(search_ms),
        f"retrieval ms p95{apart}": percentile(search_ms, 0.95),
        f"query embedding ms p50{apart}": statistics.median(embed_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--results", action="store_true", help="append to bench/RESULTS.md")
    args = parse_args(parser)
    require_dataset()
    setup_django(tempfile.mkdtemp(prefix="bench-scale-"))
    from django.contrib.auth import get_user_model

    from retrieval import documents, ingestion
    from retrieval.models import Document
    from retrieval.query_vectors import aembed_query

    rows = load()
    questions = [row["question"] for row in rows][: args.questions]
    started = time.perf_counter()
    texts, vectors, found = embedded_passages()
    print(f"embedded and named {len(texts)} passages in {time.perf_counter() - started:.1f} s")

    alice = get_user_model().objects.create_user("alice").pk
    others = [get_user_model().objects.create_user(f"other{n}").pk for n in range(5)]
    results: list[tuple[str, str, float]] = []

    def timed(name: str, asked: list[str], pause: float = 0.0) -> None:
        asyncio.run(_warm(aembed_query, asked))
        for figure, value in measure(alice, asked, pause).items():
            results.append((name, figure, value))
            print(f"  {figure}: {value:.1f}", flush=True)

    def step(name: str, prepare) -> None:
        started = time.perf_counter()
        asyncio.run(prepare())
        print(f"{name}: written in {time.perf_counter() - started:.1f} s", flush=True)
        timed(name, questions)

    step("alice 10k", lambda: write_copies(alice, 10, texts, vectors, found))
    others_asked = [row["question"] for row in rows][args.questions : 2 * args.questions]
    timed("alice 10k", others_asked, PAUSE)

    async def others_write() -> None:
        for other in others:
            await write_copies(other, 10, texts, vectors, found)

    step("alice 10k + others 50k", others_write)
    step("alice 50k (110k in store)", lambda: write_copies(alice, 40, texts, vectors, found))

    body = "\n\n".join(texts).encode()
    document = documents.create_document(
        get_user_model().objects.get(pk=alice), io.BytesIO(body), "more.txt", enqueue=False
    )
    started = time.perf_counter()
    status = ingestion.ingest_document(document.pk)
    seconds = time.perf_counter() - started
    chunk_count = Document.objects.get(pk=document.pk).chunk_count
    if status != "ready":
        raise SystemExit(f"ingestion failed: {status}")
    results.append(("ingest into 110k", "chunks/s", chunk_count / seconds))
    print(f"ingested {chunk_count} chunks in {seconds:.1f} s: {chunk_count / seconds:.1f}/s")

    table = ["| step | figure | value |", "|---|---|---|"]
    table += [f"| {name} | {figure} | {value:.1f} |" for name, figure, value in results]
    text = "\n".join(table)
    print(text)
    if args.results:
        bench_results.append(
            "Retrieval as the store grows",
            f"{len(questions)} HaluEval questions per step, embedded defaults, graph mode, "
            "5 passages.",
            text,
        )


async def _warm(aembed_query, questions: list[str]) -> None:
    """Question vectors first, so the searches below time the store alone."""
    for question in questions:
        await aembed_query(question)


if __name__ == "__main__":
    main()
