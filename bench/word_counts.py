"""A search with the owner's vocabulary kept in the process, beside one that looks its words up.

A fulltext search needs the owner's count of each of its words before it can ask
the index for candidates. A process keeps each recent owner's whole vocabulary
(graphstores/base.learn_vocabulary) and counts the words from it, while the store
confirms the owner's version beside the candidates; without it, the counts are one
more round trip first. This times the retrieval service (the question's vector
made beforehand, as bench/retrieval_scale.py does) over one user's 10,000 chunks
of HaluEval passages, both ways in one run, alternating question by question, and
checks that both find the same passages.

    .venv/bin/python bench/word_counts.py [--questions 200] [--results]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import results as bench_results  # noqa: E402
from bench.ingest import parse_args, require_dataset, setup_django  # noqa: E402
from bench.retrieval_scale import (  # noqa: E402
    PER_DOCUMENT,
    embedded_passages,
    load,
    percentile,
    write_copies,
)

COPIES = 10  # documents of 1,000 passages: 10,000 chunks
WAYS = ("looked up", "kept")


async def _compare(owner: int, questions: list[str]) -> tuple[dict[str, list[float]], int]:
    from retrieval.graphstores import aget_store, base
    from retrieval.query_vectors import aembed_query
    from retrieval.search import aretrieve

    for question in questions:
        await aembed_query(question)
    store = await aget_store()
    await aretrieve(owner, questions[0])  # the loop's store connections, opened once
    kept = base.VOCABULARIES_KEPT
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    same = 0
    for n, question in enumerate(questions):
        found = {}
        for way in WAYS if n % 2 else WAYS[::-1]:
            base.VOCABULARIES_KEPT = kept if way == "kept" else 0
            if way == "kept" and not await store.learn_vocabulary(owner):
                raise SystemExit("the owner's vocabulary could not be kept")
            if way == "looked up":
                store._vocabularies.clear()
            await asyncio.sleep(0.02)
            started = time.perf_counter()
            found[way] = [p.chunk_id for p in await aretrieve(owner, question)]
            times[way].append((time.perf_counter() - started) * 1000)
        same += found["kept"] == found["looked up"]
    base.VOCABULARIES_KEPT = kept
    return times, same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--results", action="store_true", help="append to bench/RESULTS.md")
    args = parse_args(parser)
    require_dataset()
    setup_django(tempfile.mkdtemp(prefix="bench-words-"))
    from django.contrib.auth import get_user_model

    from retrieval.loops import run_sync

    questions = [row["question"] for row in load()][: args.questions]
    texts, vectors, named = embedded_passages()
    owner = get_user_model().objects.create_user("alice").pk
    asyncio.run(write_copies(owner, COPIES, texts, vectors, named))
    times, same = run_sync(_compare, owner, questions)

    p50 = {way: statistics.median(values) for way, values in times.items()}
    p95 = {way: percentile(values, 0.95) for way, values in times.items()}
    text = bench_results.table(
        ["figure", "words looked up", "vocabulary kept", "ratio"],
        [
            ["retrieval ms p50", f"{p50['looked up']:.2f}", f"{p50['kept']:.2f}",
             f"{p50['kept'] / p50['looked up']:.2f}"],
            ["retrieval ms p95", f"{p95['looked up']:.2f}", f"{p95['kept']:.2f}",
             f"{p95['kept'] / p95['looked up']:.2f}"],
            ["questions with the same passages", len(questions), same, ""],
        ],
    )  # fmt: skip
    print(text)
    if args.results:
        bench_results.append(
            "Fulltext word counts: the owner's vocabulary kept, beside looked up",
            f"{len(questions)} HaluEval questions over one user's {COPIES * PER_DOCUMENT:,} "
            "chunks, the retrieval service alone (vectors made first), both ways "
            "alternating question by question in one process.",
            text,
        )


if __name__ == "__main__":
    main()
