"""Quality regression guard: a fixed 100-question subset of the HaluEval dev set.

The figures come from real ingestion, retrieval and the local extractive model;
the floors sit a few points under what this subset measured when they were set
(see bench/RESULTS.md for the whole set), so a change that hurts retrieval or
answers fails here.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bench.evaluation import aevaluate, ingest_passages, split_held_out
from retrieval.search import Mode

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DATASET = Path(__file__).resolve().parent / "data" / "halueval_dev_first100.jsonl"


@pytest.fixture
def subset(alice):
    with DATASET.open() as handle:
        rows = [json.loads(line) for line in handle]
    pool, held_out = split_held_out(rows)
    return pool, held_out, ingest_passages(alice, pool)


def test_hybrid_graph_retrieval_and_local_answers_hold_their_level(alice, subset):
    pool, held_out, gold = subset

    tally = asyncio.run(aevaluate(alice.pk, Mode.GRAPH, pool, held_out, gold))
    figures = tally.figures()

    # Measured on this subset when set: 0.978, 0.978, 0.978, 0.867, 0.8 (8 of 10), 0.056.
    assert figures["recall@1"] >= 0.93, figures
    assert figures["recall@5"] >= 0.94, figures
    assert figures["MRR@10"] >= 0.93, figures
    assert figures["answer match"] >= 0.80, figures
    assert figures["correct refusals"] >= 0.6, figures
    assert figures["wrong refusals"] <= 0.10, figures


def test_hybrid_fusion_is_at_least_as_good_as_either_ranking_alone(alice, subset):
    pool, _, gold = subset
    recall = {
        mode: asyncio.run(aevaluate(alice.pk, mode, pool, [], gold, answers=False)).figures()[
            "recall@5"
        ]
        for mode in (Mode.VECTOR, Mode.FULLTEXT, Mode.HYBRID)
    }
    assert recall[Mode.HYBRID] >= max(recall[Mode.VECTOR], recall[Mode.FULLTEXT]), recall
