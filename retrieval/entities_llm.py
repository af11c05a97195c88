"""Entities named and typed by the configured chat model (used when a chat model is configured).

The document is read in windows; each window's answer is a JSON list of
{"name", "type"}. Anything unparseable in an answer is skipped, and if the
model cannot be reached at all the caller falls back to the local extractor.
"""

from __future__ import annotations

import json
import re

from langchain_core.messages import HumanMessage, SystemMessage

from retrieval import llm
from retrieval.entities import MAX_ENTITIES_PER_DOCUMENT, Entity, normalise

WINDOW = 6000
MAX_WINDOWS = 12
TYPES = ("person", "organization", "location", "product", "event", "concept", "other")

SYSTEM = (
    "You extract named entities and key concepts from documents for a search index. "
    'Reply with only a JSON array of objects with keys "name" and "type", where type is one '
    f"of: {', '.join(TYPES)}. Use each entity's full name as written in the text. "
    "At most 40 entities. No commentary."
)


def enabled() -> bool:
    return llm.configured()


def chat_model():  # -> ChatOpenAI
    return llm.chat_openai()


async def aextract(text: str) -> list[Entity]:
    model = chat_model()
    found: dict[str, Entity] = {}
    windows = [text[i : i + WINDOW] for i in range(0, len(text), WINDOW)][:MAX_WINDOWS]
    for window in windows:
        reply = await model.ainvoke([SystemMessage(SYSTEM), HumanMessage(window)])
        for entity in parse_reply(str(reply.content)):
            found.setdefault(entity.key, entity)
    return list(found.values())[:MAX_ENTITIES_PER_DOCUMENT]


def parse_reply(content: str) -> list[Entity]:
    """Entities from a model's reply, tolerating code fences and stray prose."""
    match = re.search(r"\[.*\]", content, re.DOTALL)
    if not match:
        return []
    try:
        items = json.loads(match.group(0))
    except json.JSONDecodeError:
        return []
    result = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        name = " ".join(str(item.get("name", "")).split())[:200]
        kind = str(item.get("type", "other")).lower()
        if len(normalise(name)) >= 2:
            result.append(Entity(name=name, type=kind if kind in TYPES else "other"))
    return result
