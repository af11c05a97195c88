"""Answer quality on the public HaluEval QA dev set, each retrieval mode side by side.

Every `knowledge` passage becomes one small text document of one user,
ingested through the same service the worker uses; 10% of the passages are
held out, and their questions measure refusals. Every question goes through
the same retrieval and generation services as the API (local extractive
model, embedded FalkorDB, local MiniLM embeddings).

Prints and appends to bench/RESULTS.md, per mode: recall@1, recall@5 and
MRR@10 of the gold passage's document among the retrieved passages; answer
match (normalised gold answer inside the answer); correct refusals (held-out
questions answered with the fixed "I don't know" sentence); wrong refusals
(answerable questions refused); p50/p95 of retrieval and of the whole answer.

    .venv/bin/python bench/quality.py [--limit N] [--modes graph,hybrid,...]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import random
import re
import statistics
import string
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import DATASET, RESULTS, setup_django

HELD_OUT_SHARE = 0.10
SEED = 20261125


def normalise(text: str) -> str:
    """SQuAD-style answer normalisation: lower case, no punctuation, articles or extra spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


@dataclass
class Tally:
    answerable: int = 0
    r1: int = 0
    r5: int = 0
    rr: float = 0.0
    matched: int = 0
    wrong_refusals: int = 0
    held_out: int = 0
    correct_refusals: int = 0
    retrieval_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        n, h = self.answerable or 1, self.held_out or 1
        return {
            "recall@1": self.r1 / n,
            "recall@5": self.r5 / n,
            "MRR@10": self.rr / n,
            "answer match": self.matched / n,
            "correct refusals": self.correct_refusals / h,
            "wrong refusals": self.wrong_refusals / n,
            "retrieval p50 ms": statistics.median(self.retrieval_ms),
            "retrieval p95 ms": _p95(self.retrieval_ms),
            "answer p50 ms": statistics.median(self.answer_ms),
            "answer p95 ms": _p95(self.answer_ms),
        }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def load_rows(limit: int | None) -> list[dict]:
    with DATASET.open() as handle:
        rows = [json.loads(line) for line in handle]
    return rows[:limit] if limit else rows


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    cut = int(len(rows) * HELD_OUT_SHARE)
    held = set(order[:cut])
    return [r for i, r in enumerate(rows) if i not in held], [
        r for i, r in enumerate(rows) if i in held
    ]


def ingest_pool(owner, rows: list[dict]) -> dict[int, str]:
    """Ingest each passage once; the document id of every row's gold passage."""
    from retrieval import ingestion, uploads
    from retrieval.errors import DuplicateDocument
    from retrieval.models import Document

    ready = dict(Document.objects.filter(owner=owner, status="ready").values_list("sha256", "pk"))
    gold: dict[int, str] = {}
    for row in rows:
        data = row["knowledge"].encode()
        digest = hashlib.sha256(data).hexdigest()
        if digest in ready:  # ingested by an earlier run on the same --data-dir
            gold[row["i"]] = str(ready[digest])
            continue
        try:
            document = uploads.create_document(
                owner, io.BytesIO(data), f"passage-{row['i']}.txt", enqueue=False
            )
        except DuplicateDocument as duplicate:  # the same passage serves several questions
            gold[row["i"]] = duplicate.existing_id
            continue
        if ingestion.ingest_document(document.pk) != "ready":
            raise SystemExit(f"passage {row['i']} failed to ingest")
        gold[row["i"]] = str(document.pk)
    return gold


async def evaluate(owner_id: int, mode, pool, held_out, gold) -> Tally:
    from queries.generation import stream_answer
    from queries.prompts import I_DONT_KNOW
    from retrieval.search import aretrieve

    tally = Tally()
    for row, answerable in [(r, True) for r in pool] + [(r, False) for r in held_out]:
        started = time.perf_counter()
        passages = await aretrieve(owner_id, row["question"], max_results=10, mode=mode)
        retrieved = time.perf_counter()
        answer = "".join([t async for t in stream_answer(row["question"], passages[:5])])
        finished = time.perf_counter()
        tally.retrieval_ms.append((retrieved - started) * 1000)
        tally.answer_ms.append((finished - started) * 1000)
        refused = answer.strip() == I_DONT_KNOW
        if not answerable:
            tally.held_out += 1
            tally.correct_refusals += refused
            continue
        tally.answerable += 1
        ranks = [p.document_id for p in passages]
        target = gold[row["i"]]
        if target in ranks:
            rank = ranks.index(target) + 1
            tally.r1 += rank == 1
            tally.r5 += rank <= 5
            tally.rr += 1 / rank
        tally.matched += normalise(row["right_answer"]) in normalise(answer)
        tally.wrong_refusals += refused
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="use only the first N rows")
    parser.add_argument("--modes", default="vector,fulltext,hybrid,graph")
    parser.add_argument("--data-dir", help="keep the ingested passages here and reuse them")
    args = parser.parse_args()

    setup_django(args.data_dir or tempfile.mkdtemp(prefix="bench-quality-"))
    from django.contrib.auth import get_user_model

    from retrieval.search import RELEVANCE_FLOOR, Mode

    rows = load_rows(args.limit)
    pool, held_out = split(rows)
    owner, _ = get_user_model().objects.get_or_create(username="bench")
    started = time.perf_counter()
    gold = ingest_pool(owner, pool)
    print(
        f"ingested {len(pool)} passages in {time.perf_counter() - started:.0f} s; "
        f"{len(held_out)} held out"
    )

    results: dict[str, dict[str, float]] = {}
    for name in args.modes.split(","):
        tally = asyncio.run(evaluate(owner.pk, Mode(name), pool, held_out, gold))
        results[name] = tally.figures()
        print(name, json.dumps({k: round(v, 3) for k, v in results[name].items()}))
    write_results(results, len(pool), len(held_out), RELEVANCE_FLOOR)


def write_results(results: dict[str, dict[str, float]], pool: int, held: int, floor: float) -> None:
    from datetime import UTC, datetime

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    columns = list(next(iter(results.values())))
    lines = [
        f"\n## Answer quality, {when}\n",
        f"HaluEval QA dev set: {pool} passages ingested, {held} held out for refusals. "
        f"Embedded defaults, local extractive model, relevance floor {floor}. "
        "Rates are shares of the answerable (or held-out) questions.\n",
        "| mode | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for mode, figures in results.items():
        cells = [f"{v:.3f}" if "ms" not in k else f"{v:.0f}" for k, v in figures.items()]
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    lines.append("")
    with RESULTS.open("a") as handle:
        handle.write("\n".join(lines))


if __name__ == "__main__":
    main()
