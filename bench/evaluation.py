"""Measure retrieval and answers on a question-answering set, through the product's services.

Used by bench/quality.py (the whole HaluEval dev set, every retrieval mode) and
by the quality regression test (a fixed subset). Rows are dicts with `i`,
`knowledge` (the gold passage), `question` and `right_answer`.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import statistics
import string
import time
from dataclasses import dataclass, field

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


def split_held_out(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Answerable rows (their passages are ingested) and held-out rows (not ingested)."""
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    cut = int(len(rows) * HELD_OUT_SHARE)
    held = set(order[:cut])
    return [r for i, r in enumerate(rows) if i not in held], [
        r for i, r in enumerate(rows) if i in held
    ]


def ingest_passages(owner, rows: list[dict]) -> dict[int, str]:
    """Ingest each passage once; the document id of every row's gold passage."""
    from retrieval import documents, ingestion
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
            document = documents.create_document(
                owner, io.BytesIO(data), f"passage-{row['i']}.txt", enqueue=False
            )
        except DuplicateDocument as duplicate:  # the same passage serves several questions
            gold[row["i"]] = duplicate.existing_id
            continue
        if ingestion.ingest_document(document.pk) != "ready":
            raise SystemExit(f"passage {row['i']} failed to ingest")
        gold[row["i"]] = str(document.pk)
    return gold


async def aevaluate(owner_id: int, mode, pool, held_out, gold, *, answers: bool = True) -> Tally:
    """Ask every question; score retrieval (top 10) and the answer (from the top 5)."""
    from queries.generation import stream_answer
    from queries.prompts import I_DONT_KNOW
    from retrieval.search import aretrieve

    tally = Tally()
    for row, answerable in [(r, True) for r in pool] + [(r, False) for r in held_out]:
        started = time.perf_counter()
        passages = await aretrieve(owner_id, row["question"], max_results=10, mode=mode)
        retrieved = time.perf_counter()
        answer = (
            "".join([t async for t in stream_answer(row["question"], passages[:5])])
            if answers
            else ""
        )
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
