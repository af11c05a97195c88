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


def test_a_batch_gives_each_text_the_vector_it_gets_alone(model):
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
    embeddings.reset()

    query = embeddings.embed_query(REFERENCE["texts"][0])
    documents = embeddings.embed_texts(REFERENCE["texts"][:2])

    assert embeddings.dimension() == 384
    assert np.abs(np.array(query) - np.array(REFERENCE["vectors"][0])).max() < 1e-5
    assert np.abs(np.array(documents) - np.array(REFERENCE["vectors"][:2])).max() < 1e-5


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
