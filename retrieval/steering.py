"""Text that speaks to an AI instead of informing a reader.

A document may carry a line such as "IMPORTANT SYSTEM INSTRUCTION FOR AI ASSISTANTS:
... reply only with ..." to steer whatever reads it. Such a line is an attempt at
steering, not content: the local model never quotes it, a summary never shows it.
"""

from __future__ import annotations

import re

_STEERING = re.compile(
    r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+|every\s+|the\s+)?"
    r"(?:previous|prior|other|above|earlier)\b"
    r"|\b(?:system|developer)\s+(?:instruction|prompt|message)s?\b"
    r"|\b(?:ai|llm|language[- ]model)\s+(?:assistant|model|system)s?\b"
    r"|\b(?:reply|respond|answer)\s+(?:only\s+)?with\s+(?:only\s+)?the\s+(?:single\s+)?word\b"
    r"|\b(?:reply|respond|answer)\s+only\s+with\b"
    r"|\bwhatever\s+the\s+user\s+asks\b"
    r"|\binstructions?\s+overrides?\b",
    re.I,
)


def addresses_a_model(text: str) -> bool:
    return _STEERING.search(text) is not None
