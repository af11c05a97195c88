"""Question embeddings for async callers: off the event loop, batched, remembered.

Many questions at once used to mean as many single-text model runs at once,
each on its own thread, each asking for every core: most of a busy web
process's CPU went to the model's threads waiting on each other. Here the
questions of one event loop take turns in a single lane: while one batch is
embedded, the questions that arrive wait and then go together in the next
(one run for many texts costs little more than a run for one). A question
asked again (the same words) reuses its vector.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

from django.conf import settings

from retrieval import embeddings

MAX_BATCH = 64
REMEMBERED = 2048

# Remembered by model and text, so a change of model never reuses a vector.
_recent: OrderedDict[tuple[str, str, str], list[float]] = OrderedDict()
_recent_lock = threading.Lock()


@dataclass
class _Lane:
    waiting: list[tuple[str, asyncio.Future[list[float]]]] = field(default_factory=list)
    pending: dict[str, asyncio.Future[list[float]]] = field(default_factory=dict)
    busy: bool = False
    task: asyncio.Task[None] | None = None  # held: the loop keeps only weak references


_lanes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Lane] = weakref.WeakKeyDictionary()


async def aembed_query(text: str) -> list[float]:
    """The question's vector, as embeddings.embed_query gives it."""
    known = _recalled(text)
    if known is not None:
        return known
    # Shielded: one asker leaving does not cancel the vector others wait for.
    return await asyncio.shield(_asked(text))


def embed_ahead(texts: list[str]) -> None:
    """Start the vectors of `texts` without waiting for them: a question's vector is
    made while the question waits for its turn, and `aembed_query` then finds it
    remembered or on its way."""
    for text in texts:
        if _recalled(text) is None:
            _asked(text)  # a failure is met again by the search, which reports it


def _asked(text: str) -> asyncio.Future[list[float]]:
    """The future vector of `text`: the one already on its way, or a new place in the lane."""
    loop = asyncio.get_running_loop()
    lane = _lanes.setdefault(loop, _Lane())
    future = lane.pending.get(text)
    if future is None:
        future = lane.pending[text] = loop.create_future()
        lane.waiting.append((text, future))
        if not lane.busy:
            lane.busy = True
            # Started at once, up to handing the batch to its thread: not a turn
            # of the loop later, behind whatever else the loop has to do.
            lane.task = asyncio.Task(_drain(lane), loop=loop, eager_start=True)
    return future


async def _drain(lane: _Lane) -> None:
    try:
        while lane.waiting:
            batch, lane.waiting = lane.waiting[:MAX_BATCH], lane.waiting[MAX_BATCH:]
            texts = [text for text, _ in batch]
            try:
                vectors = await asyncio.to_thread(embeddings.embed_queries, texts)
            except Exception as error:
                for text, future in batch:
                    lane.pending.pop(text, None)
                    future.set_exception(error)
                    future.exception()  # whoever still waits meets it; nobody left is fine
                continue
            for (text, future), vector in zip(batch, vectors, strict=True):
                _remember(text, vector)
                lane.pending.pop(text, None)
                future.set_result(vector)
    finally:
        lane.busy = False


def _key(text: str) -> tuple[str, str, str]:
    return (settings.EMBEDDINGS, settings.OPENAI_EMBEDDING_MODEL, text)


def _recalled(text: str) -> list[float] | None:
    key = _key(text)
    with _recent_lock:
        vector = _recent.get(key)
        if vector is not None:
            _recent.move_to_end(key)
        return vector


def _remember(text: str, vector: list[float]) -> None:
    key = _key(text)
    with _recent_lock:
        _recent[key] = vector
        _recent.move_to_end(key)
        while len(_recent) > REMEMBERED:
            _recent.popitem(last=False)
