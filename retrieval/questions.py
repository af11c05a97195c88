"""What a question asks: its separate asks ("When is the launch, and why did it
move?") and the names and numbers a passage must share to answer it.

A question that asks several things is often answered by several files: the
date by the checklist, the reason by a status update. Searched as one text,
its vector leans to whichever part has the most words, and the file that
answers the other part can miss the cut. The search and the local model use
these parts to give each ask its own chance.
"""

from __future__ import annotations

import re

_WH = r"(?:what|when|where|who|whom|whose|why|how|which)"
_OPENER = re.compile(
    rf"^\s*(?:and\s+|so\s+|but\s+)?(?:{_WH}|is|are|was|were|do|does|did|has|have|had|can|could"
    r"|will|would|should|list|give|tell|show|name|explain|describe|summari[sz]e)\b",
    re.I,
)
# A new ask after "and" (or a semicolon, or a question mark) that opens with a
# question word, perhaps after a preposition ("and against which budget line").
_LAST_ASK = re.compile(
    rf"\s*(?:,\s*|;\s*|\s+)(?:and|or)\s+(?=(?:\w+\s+)?{_WH}\b)|\s*;\s*(?={_WH}\b)|(?<=\?)\s+", re.I
)
# In a list of asks ("what did they quote, what was agreed, and what changed")
# the middle ones follow a bare comma.
_LISTED_ASK = re.compile(rf"\s*,\s*(?=(?:\w+\s+)?{_WH}\b)", re.I)
MAX_PARTS = 4


def question_parts(question: str) -> list[str]:
    """The asks of a question, each as written; one part when it asks one thing.

    Only a question that opens as one ("When ...", "List ...") is split, and only
    where "and" (or ";", or "?") starts a new ask with its own question word: a
    comma and "which" or "who" alone more often begins a relative clause ("the
    channel, which features Spliced, ...") than a new ask, unless an ask with
    "and" ends the list.
    """
    text = question.strip()
    if not _OPENER.match(text):
        return [text]
    pieces = _LAST_ASK.split(text)
    if len(pieces) > 1:
        head = _LISTED_ASK.split(pieces[0])
        pieces = head + pieces[1:]
    parts: list[str] = []
    for piece in pieces:
        piece = re.sub(r"^(?:and|or|but|so)\s+", "", piece.strip(" ?.,;"), flags=re.I)
        if len(piece.split()) >= 2:
            parts.append(piece)
        elif parts and piece:
            parts[-1] = f"{parts[-1]} {piece}"
    return parts[:MAX_PARTS] if len(parts) > 1 else [text]


_NAME_STOPWORDS = (
    "the a an of in on at to for and or is was were which who what when where how did does "
    "do by with from as that this it its be been are whose whom than"
)
# Capitalised words that are not names ("What", "The"), and words a part's
# overlap with a sentence does not count.
NAME_STOPWORDS = frozenset(_NAME_STOPWORDS.split())


def key_terms(question: str) -> list[str]:
    """Names and numbers of a question: the words a passage must share to answer it."""
    words = re.findall(r"[\w'’-]+", question)
    return [
        word.lower().strip("'’")
        for position, word in enumerate(words)
        if (word[:1].isupper() and position > 0 and word.lower() not in NAME_STOPWORDS)
        or any(ch.isdigit() for ch in word)
    ]


# A question about the whole set of files rather than a fact in one: a timeline,
# a summary of every document, a comparison.
_ACROSS_FILES = re.compile(
    r"\b(?:timeline|chronolog\w*|every|each|across|compare|comparison|overview"
    r"|all (?:the |of the )?(?:documents|files))\b",
    re.I,
)


def asks_across_files(question: str) -> bool:
    """Whether the question is about many files at once ("a dated timeline of the
    project", "a summary of every document"): its answer is spread over them."""
    return _ACROSS_FILES.search(question) is not None


# A summary of each file: "a one-line summary of every document", "what is in each file".
_EACH_FILE_SUMMED_UP = re.compile(
    r"^(?=.*\b(?:summar\w*|overview|gist|outline|what(?:'s| is) in)\b)"
    r"(?=.*\b(?:every|each|all)\b(?:\s+\w+){0,3}?\s+(?:documents?|files?)\b)",
    re.I | re.S,
)


def asks_to_sum_up_each_file(question: str) -> bool:
    """Whether the question wants every file summed up ("a one-line summary of every
    document"): it names no subject, so every file's passages answer it, however
    little they are like it."""
    return _EACH_FILE_SUMMED_UP.search(question) is not None


_COMPARES = re.compile(
    r"\b(?:compar\w*|contrast\w*|differ\w*|versus|vs\.?|same as|similarit\w*)(?!\w)", re.I
)


def asks_to_compare(question: str) -> bool:
    """Whether the question sets things side by side ("compare the brief and the budget")."""
    return _COMPARES.search(question) is not None


# The words a reason is given with, in the documents people write.
REASON_WORDS = "because reason due caused"


def asks_why(ask: str) -> bool:
    """Whether an ask wants a reason ("why did the date change")."""
    return re.match(r"\s*why\b", ask, re.I) is not None
