"""Word statistics for fulltext search: the words of a question, stems and BM25.

Both graph stores return fulltext candidates scored in their own ways
(FalkorDB's TF-IDF, Lucene's BM25); ranking them here with the same BM25, over
the same words, is what makes the two backends answer alike.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

_STOPWORDS = (
    "a about above after again against all also am an and any are as at be because been "
    "before being below between both but by can could did do does doing down during each "
    "either every few for from further had has have having he her here hers herself him "
    "himself his how however i if in into is it its itself just let me more most much "
    "must my myself neither no nor not now of off often on once one only or other our "
    "ours ourselves out over own per same she should since so some such than that the "
    "their theirs them themselves then there these they this those though through thus to "
    "too under until up upon us very via was we were what when where whether which while "
    "who whom whose why will with within without would yet you your yours yourself "
    "yourselves new many may might shall first second according including include "
    "includes included became become becomes known called named"
)
STOPWORDS = frozenset(_STOPWORDS.split())

# What counts as a word wherever question and passage words are matched.
WORD = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light English suffix stripper, enough to count 'falcons' as 'falcon'.

    Remembered: every word of every chunk written is stemmed (its terms), and
    nearly all of them are words seen before."""
    for suffix, keep in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: len(word) - len(suffix)] + keep
    return word


def terms(text: str) -> str:
    """A text's words as BM25 counts them, stemmed, each wrapped in spaces (" a  b ").

    Written beside each chunk's text: counting a word in these is one string
    search per word, where tokenizing and stemming the text itself was most of a
    fulltext search's own time (3.5 of ~4 ms for 200 candidates). Wrapped, two
    neighbours never share a space, so the counts of one word side by side add up."""
    return "".join(f" {stem(word)} " for word in WORD.findall(text.lower()))


def document_words(chunk_terms: Iterable[str]) -> Counter[str]:
    """How many of a document's chunks hold each word (chunks as `terms` gives them):
    the table the owner's word counts are kept from (graphstores.cypher.COUNT_DOCUMENT_WORDS)."""
    table: Counter[str] = Counter()
    for chunk in chunk_terms:
        table.update(set(chunk.split()))
    return table


def bm25(
    texts: Sequence[str],
    document_counts: dict[str, int],
    total: int,
    k1: float = 1.2,
    b: float = 0.75,
) -> list[float]:
    """BM25 of each text (as `terms` gives it) for the query words (document counts
    from the owner's chunks)."""
    weights = {
        f" {stem(word)} ": math.log(1 + (total - n + 0.5) / (n + 0.5))
        for word, n in document_counts.items()
    }
    lengths = [text.count(" ") // 2 for text in texts]
    average = (sum(lengths) / len(lengths) if lengths else 1.0) or 1.0
    scores = []
    for text, length in zip(texts, lengths, strict=True):
        length_factor = k1 * (1 - b + b * length / average)
        score = 0.0
        for term, weight in weights.items():
            if tf := text.count(term):
                score += weight * tf * (k1 + 1) / (tf + length_factor)
        scores.append(score)
    return scores


def query_words(text: str, limit: int = 32) -> list[str]:
    """Words of a user's text, lower-cased, without syntax a search engine would obey."""
    words = [w.lower() for w in WORD.findall(text)]
    kept = [w for w in words if w not in STOPWORDS and len(w) > 1] or words
    return list(dict.fromkeys(kept))[:limit]
