"""Answer quality on the public HaluEval QA dev set, each retrieval mode side by side.

Every `knowledge` passage becomes one small text document of one user,
ingested through the same service the worker uses; 10% of the passages are
held out, and their questions measure refusals. Every question goes through
the same retrieval and generation services as the API (local extractive
model, embedded FalkorDB, local MiniLM embeddings).

Prints (and with --results appends to bench/RESULTS.md), per mode: recall@1, recall@5 and
MRR@10 of the gold passage's document among the retrieved passages; answer
match (normalised gold answer inside the answer); correct refusals (held-out
questions answered with the fixed "I don't know" sentence); wrong refusals
(answerable questions refused); p50/p95 of retrieval and of the whole answer.

    .venv/bin/python bench/quality.py [--limit N] [--modes graph,hybrid,...] [--results]

The HaluEval dev set is read from halueval_dev/ in ../shared/data beside the
repository, or in the folder --bench-data DIR (or BENCH_DATA) names; without it
the script says where it looked and stops (status 2).

With --dossier it measures a project's working files instead (a dossier-bench
case: files ready per type, search recall, cited documents, must-facts, the
entity graph); the other options are bench/dossier.py's:

    .venv/bin/python bench/quality.py --dossier [--case PATH] [--modes ...] [--results]

The case is dossier_kite_launch/ in that same folder, else the copy the
working-files test keeps in queries/tests/data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import results as bench_results
from bench.ingest import parse_args, require_dataset, setup_django


def main() -> None:
    if "--dossier" in sys.argv[1:]:
        # Working files instead of Wikipedia passages: bench/dossier.py, same options.
        from bench import dossier

        sys.argv.remove("--dossier")
        dossier.main()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="use only the first N rows")
    parser.add_argument("--modes", default="vector,fulltext,hybrid,graph")
    parser.add_argument("--data-dir", help="keep the ingested passages here and reuse them")
    parser.add_argument("--results", action="store_true", help="append to bench/RESULTS.md")
    args = parse_args(parser)
    dataset = require_dataset()
    setup_django(args.data_dir or tempfile.mkdtemp(prefix="bench-quality-"))
    from django.contrib.auth import get_user_model

    from bench.evaluation import aevaluate, ingest_passages, split_held_out
    from retrieval.search import RELEVANCE_FLOOR, Mode

    with dataset.open() as handle:
        rows = [json.loads(line) for line in handle][: args.limit]
    pool, held_out = split_held_out(rows)
    owner, _ = get_user_model().objects.get_or_create(username="bench")
    started = time.perf_counter()
    gold = ingest_passages(owner, pool)
    print(
        f"ingested {len(pool)} passages in {time.perf_counter() - started:.0f} s; "
        f"{len(held_out)} held out"
    )

    results: dict[str, dict[str, float]] = {}
    for name in args.modes.split(","):
        tally = asyncio.run(aevaluate(owner.pk, Mode(name), pool, held_out, gold))
        results[name] = tally.figures()
        print(name, json.dumps({k: round(v, 3) for k, v in results[name].items()}))
    if args.results:
        write_results(results, len(pool), len(held_out), RELEVANCE_FLOOR)


def write_results(results: dict[str, dict[str, float]], pool: int, held: int, floor: float) -> None:
    columns = list(next(iter(results.values())))
    rows = [
        [mode, *(f"{v:.3f}" if "ms" not in k else f"{v:.0f}" for k, v in figures.items())]
        for mode, figures in results.items()
    ]
    bench_results.append(
        "Answer quality",
        f"HaluEval QA dev set: {pool} passages ingested, {held} held out for refusals. "
        f"Embedded defaults, local extractive model, relevance floor {floor}. "
        "Rates are shares of the answerable (or held-out) questions.",
        bench_results.table(["mode", *columns], rows),
    )


if __name__ == "__main__":
    main()
