"""Comparing documents: each one searched on its own, so none crowds out the other.

One search over two documents returns the passages nearest the question, and
those are often all from the document that says more about it: "compare the
brief and the budget" then answers from the brief alone. A comparison searches
each document separately and gives the model the best passages of each, in turn.

The documents compared are the ones the caller chose (the API's `compare` with
`document_ids`, or a question that asks to compare while two or more documents
are chosen), or the caller's documents the question names by title or file name.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from itertools import chain, zip_longest
from pathlib import PurePath

from retrieval.models import Document
from retrieval.questions import asks_to_compare
from retrieval.search import Passage

MOST_COMPARED = 6  # documents; a question naming more is about the whole set
SHORTEST_NAME = 4  # characters: a title like "A" or "v2" is no name to look for


def spoken_name(title: str) -> str:
    """A title or file name as a question would say it: "01_project_brief.docx" is
    "project brief"."""
    stem = PurePath(title).stem if re.search(r"\.\w{2,5}$", title) else title
    words = re.sub(r"[_\-.]+", " ", stem).lower().split()
    while words and words[0].isdigit():
        words.pop(0)
    return " ".join(words)


def named_documents(owner_id: int, question: str) -> list[str]:
    """The caller's documents whose title or file name the question says, in the
    order it says them."""
    said = " " + " ".join(re.sub(r"[_\-.,;:!?\"“”()]+", " ", question.lower()).split()) + " "
    found: list[tuple[int, str]] = []
    for pk, title, filename in Document.objects.filter(
        owner_id=owner_id, status=Document.Status.READY
    ).values_list("pk", "title", "filename"):
        places = [
            said.find(f" {name} ")
            for name in {spoken_name(title), spoken_name(filename)}
            if len(name) >= SHORTEST_NAME
        ]
        places = [p for p in places if p >= 0]
        if places:
            found.append((min(places), str(pk)))
    return [pk for _, pk in sorted(found)][:MOST_COMPARED]


def documents_to_compare(
    owner_id: int, question: str, chosen: Sequence[str] | None, asked: bool
) -> list[str] | None:
    """The documents to search one by one, or None for an ordinary search."""
    if asked or (chosen is not None and len(chosen) >= 2 and asks_to_compare(question)):
        return list(chosen or [])
    if chosen is None and asks_to_compare(question):
        named = named_documents(owner_id, question)
        return named if len(named) >= 2 else None
    return None


async def each_document(
    documents: Sequence[str],
    max_results: int,
    search: Callable[[list[str], int], Awaitable[list[Passage]]],
) -> list[Passage]:
    """The best passages of each document in turn (its 1st, the next one's 1st, ...),
    at least one of each even when there are more documents than `max_results`."""
    share = max(1, -(-max_results // len(documents)))  # rounded up
    found = await asyncio.gather(*(search([document], share) for document in documents))
    turns = chain.from_iterable(zip_longest(*found))
    return [passage for passage in turns if passage is not None][: max(max_results, len(documents))]
