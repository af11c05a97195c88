"""What one answer's retrieval did, kept with the answer for whoever debugs it.

A RAG answer is judged by what it was given: which searches ran, what each one
found and with what score, what the graph expansion added, which passages were
chosen, what the question was rewritten to, and how long each step took. The
trace records exactly that as plain JSON-ready data; it costs a few dictionary
entries per hit, so every answer keeps one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from retrieval.graphstores import Hit

HITS_KEPT = 10  # per search: enough to see why a passage missed the cut


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


@dataclass
class Trace:
    started: float = field(default_factory=time.perf_counter)
    question: str = ""  # what was searched: the question, or its standalone rewrite
    timings: dict[str, float] = field(default_factory=dict)  # step -> ms it took
    marks: dict[str, float] = field(default_factory=dict)  # moment -> ms since the question
    searches: list[dict[str, Any]] = field(default_factory=list)
    expansion: list[dict[str, Any]] = field(default_factory=list)
    chosen: list[dict[str, Any]] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)  # documents searched one by one
    _picked: dict[str, dict[str, Any]] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step; a step run twice (a search redone) keeps its last time."""
        begun = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = _ms(time.perf_counter() - begun)

    def mark(self, name: str) -> None:
        """The time since the answer began, e.g. when its first token went out."""
        if name not in self.marks:  # called on every token for "first token"
            self.marks[name] = _ms(time.perf_counter() - self.started)

    async def search(self, mode: str, weight: float, hits: Awaitable[list[Hit]]) -> list[Hit]:
        """One search's hits, timed and recorded under its mode."""
        begun = time.perf_counter()
        found = await hits
        self.searches.append(
            {
                "mode": mode,
                "weight": weight,
                "ms": _ms(time.perf_counter() - begun),
                "found": len(found),
                "hits": [_hit(hit) for hit in found[:HITS_KEPT]],
            }
        )
        return found

    def expanded(self, hits: list[Hit]) -> None:
        self.expansion = [_hit(hit) | {"from": hit.seed} for hit in hits[: HITS_KEPT * 2]]

    def choose(self, chosen: list[str], fused: dict[str, float], similarity: dict[str, float]):
        found_by: dict[str, list[str]] = {}
        for search in self.searches:
            for hit in search["hits"]:
                found_by.setdefault(hit["chunk_id"], []).append(search["mode"])
        for hit in self.expansion:
            found_by.setdefault(hit["chunk_id"], []).append("graph")
        for cid in chosen:
            self._picked[cid] = {
                "chunk_id": cid,
                "fused": round(fused.get(cid, 0.0), 5),
                "similarity": round(similarity.get(cid, 0.0), 4),
                "found_by": sorted(set(found_by.get(cid, []))),
            }
        self.keep(chosen)

    def keep(self, chunk_ids: list[str]) -> None:
        """The passages given to the model, numbered as they are cited (after those of
        a deleted document are dropped, or the searches of a comparison merged)."""
        self.chosen = [
            {"n": n} | self._picked[cid]
            for n, cid in enumerate((c for c in chunk_ids if c in self._picked), start=1)
        ]

    def clear_searches(self) -> None:
        self.searches, self.expansion, self.chosen, self._picked = [], [], [], {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "timings_ms": self.timings,
            "since_question_ms": self.marks,
            "searches": self.searches,
            "expansion": self.expansion,
            "chosen": self.chosen,
        } | ({"compared": self.compared} if self.compared else {})


def _hit(hit: Hit) -> dict[str, Any]:
    return {
        "chunk_id": hit.chunk_id,
        "filename": hit.filename,
        "page": hit.page,
        "page_label": hit.page_label,
        "score": round(hit.score, 5),
        "similarity": round(hit.similarity, 4) if hit.similarity is not None else None,
        "text": hit.text[:120],
    }
