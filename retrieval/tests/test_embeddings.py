"""The local embedding model: sentence-transformers' vectors, from ONNX Runtime, offline."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from retrieval import embeddings
from retrieval.minilm import MiniLM

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text())


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM()


def test_it_gives_the_vectors_sentence_transformers_gives(model):
    """Vectors made by sentence-transformers on PyTorch for the same texts (see the file)."""
    ours = model.embed(REFERENCE["texts"])
    theirs = np.array(REFERENCE["vectors"], dtype=np.float32)

    assert ours.shape == theirs.shape == (len(REFERENCE["texts"]), 384)
    assert np.abs(ours - theirs).max() < 1e-5


@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
def test_a_batch_gives_each_text_the_vector_it_gets_alone(model, int8):
    model = MiniLM(threads=1, int8=True) if int8 else model
    texts = ["short", "a much longer text about falcons " * 30, "medium length words here"]

    together = model.embed(texts)

    for text, vector in zip(texts, together, strict=True):
        assert np.abs(model.embed([text])[0] - vector).max() < 1e-5


def test_vectors_have_unit_length_and_texts_past_the_limit_are_cut(model):
    long = "falcon " * 1000  # past the 256 tokens the model reads

    vectors = model.embed(["falcon", long, long + " harbour"])

    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert np.abs(vectors[1] - vectors[2]).max() < 1e-6  # the tail is beyond the limit
    assert model.embed([]).shape == (0, 384)


def test_the_configured_local_model_answers_through_the_langchain_interface(settings):
    settings.EMBEDDINGS = "local"
    settings.QUESTION_EMBEDDINGS = settings.PASSAGE_EMBEDDINGS = "float32"
    embeddings.reset()
    try:
        query = embeddings.embed_query(REFERENCE["texts"][0])
        documents = embeddings.embed_texts(REFERENCE["texts"][:2])
    finally:
        embeddings.reset()

    assert embeddings.dimension() == 384
    assert np.abs(np.array(query) - np.array(REFERENCE["vectors"][0])).max() < 1e-5
    assert np.abs(np.array(documents) - np.array(REFERENCE["vectors"][:2])).max() < 1e-5


PASSAGES = [
    "The peregrine falcon dives at over 300 km/h, the fastest of all birds.",
    "The budget for the launch is 120,000 pounds, approved by the finance director.",
    "Single sign-on failed for tenants with more than one role until the fix in October.",
    "The harbour opens at six in the morning and closes at ten at night in summer.",
    "Pixelforge Studio will deliver the launch video six weeks after the brief is approved.",
]
QUESTIONS = [
    ("How fast can a falcon fly?", 0),
    ("Who approved the launch budget and how much is it?", 1),
    ("Why did SSO fail for some customers?", 2),
    ("When does the harbour close?", 3),
    ("When will the studio deliver the video?", 4),
]


@pytest.mark.parametrize("side", ["questions", "passages"])
def test_8_bit_weights_find_what_32_bit_ones_find(settings, side):
    """The default models (int8) for questions and for passages: each side's vectors
    are within cos 0.98 of the 32-bit model's, and each question finds the passage
    it finds when that side is 32-bit."""
    setting = "QUESTION_EMBEDDINGS" if side == "questions" else "PASSAGE_EMBEDDINGS"

    def embed() -> tuple[np.ndarray, np.ndarray]:
        embeddings.reset()
        stored = np.array(embeddings.embed_texts(PASSAGES))
        return stored, np.array(embeddings.embed_queries([q for q, _ in QUESTIONS]))

    settings.EMBEDDINGS = "local"
    try:
        assert getattr(settings, setting) == "int8"
        stored, asked = embed()
        setattr(settings, setting, "float32")
        exact_stored, exact_asked = embed()
    finally:
        embeddings.reset()

    ours, exact = (asked, exact_asked) if side == "questions" else (stored, exact_stored)
    assert np.abs(ours - exact).max() > 1e-4  # two models, not one asked twice
    assert (ours * exact).sum(axis=1).min() > 0.98
    assert np.linalg.norm(ours, axis=1) == pytest.approx([1.0] * len(ours), abs=1e-5)
    for (question, expected), row in zip(QUESTIONS, asked @ stored.T, strict=True):
        assert int(np.argmax(row)) == expected, question
    for (question, expected), row in zip(QUESTIONS, exact_asked @ exact_stored.T, strict=True):
        assert int(np.argmax(row)) == expected, question


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="sentence-transformers is not installed (pip install -r requirements-torch.txt)",
)
def test_the_pytorch_option_gives_the_same_vectors(settings):
    settings.EMBEDDINGS = "sentence-transformers"
    embeddings.reset()
    try:
        vectors = embeddings.embed_texts(REFERENCE["texts"])
    finally:
        embeddings.reset()

    assert np.abs(np.array(vectors) - np.array(REFERENCE["vectors"])).max() < 1e-5
