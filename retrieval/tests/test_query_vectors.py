"""Question vectors for the web process: batched when many ask at once, remembered when repeated."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from retrieval import embeddings, query_vectors

pytestmark = pytest.mark.slow


@pytest.fixture
def runs(monkeypatch) -> list[int]:
    """How many texts each run of the real model was given."""
    sizes: list[int] = []
    real = embeddings.embed_queries

    def counted(texts: list[str]) -> list[list[float]]:
        sizes.append(len(texts))
        return real(texts)

    monkeypatch.setattr(embeddings, "embed_queries", counted)
    monkeypatch.setattr(query_vectors, "_recent", query_vectors.OrderedDict())
    return sizes


async def test_questions_asked_together_share_runs_and_get_their_own_vectors(runs):
    questions = [f"How fast does falcon number {n} dive?" for n in range(40)]

    vectors = await asyncio.gather(*(query_vectors.aembed_query(q) for q in questions))

    assert len(runs) < 10 and sum(runs) == len(questions)
    for question, vector in zip(questions, vectors, strict=True):
        alone = embeddings.embed_query(question)
        assert np.abs(np.array(vector) - np.array(alone)).max() < 1e-5


async def test_a_question_embedded_ahead_is_not_embedded_again(runs):
    query_vectors.embed_ahead(["Where do falcons nest?"])
    async with asyncio.timeout(10):  # the question waits for its turn meanwhile
        while not runs:
            await asyncio.sleep(0.01)

    vector = await query_vectors.aembed_query("Where do falcons nest?")

    assert len(vector) == 384 and runs == [1]


async def test_a_question_asked_again_reuses_its_vector(runs):
    first = await query_vectors.aembed_query("Where do falcons nest?")
    again = await query_vectors.aembed_query("Where do falcons nest?")

    assert again == first and runs == [1]


async def test_a_model_failure_reaches_every_waiting_question_and_the_next_ones_still_work(
    monkeypatch,
):
    monkeypatch.setattr(query_vectors, "_recent", query_vectors.OrderedDict())
    real = embeddings.embed_queries
    failing = {"on": True}

    def flaky(texts: list[str]) -> list[list[float]]:
        if failing["on"]:
            raise RuntimeError("model unavailable")
        return real(texts)

    monkeypatch.setattr(embeddings, "embed_queries", flaky)

    query_vectors.embed_ahead(["question 0"])  # its failure is the search's to report
    results = await asyncio.gather(
        *(query_vectors.aembed_query(f"question {n}") for n in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)

    failing["on"] = False
    assert len(await query_vectors.aembed_query("question 0")) == 384


async def test_one_asker_leaving_does_not_fail_another_asking_the_same_question(runs):
    leaving = asyncio.create_task(query_vectors.aembed_query("Where do falcons nest?"))
    staying = asyncio.create_task(query_vectors.aembed_query("Where do falcons nest?"))
    await asyncio.sleep(0)
    leaving.cancel()

    assert len(await staying) == 384
    assert runs == [1]
