"""The local extractive chat model: answers by quoting the passages, no download, no key.

It is a LangChain chat model like ChatOpenAI, so the generation service
streams from it the same way. It reads the numbered passages and the question
from the answer prompt, picks the passage sentences closest in meaning to the
question (the shipped MiniLM embeddings) and quotes them in reading order, each
followed by the [n] marker of the passage it came from, streamed word by word;
a question whose words say what kind of answer it wants (a date for "when", an
amount for "how much did it cost") gets the best sentence of that kind first.
A question that asks several things ("when is it, and why did it move?") also
gets the best sentence for each ask, of the kind that ask wants (a reason for a
"why"), from whichever file holds it.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Collection, Iterable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from queries.prompts import COMPARING, I_DONT_KNOW
from queries.table_answers import extreme_rows
from retrieval.parsing.sheets import COLUMNS, SHEET_TAG
from retrieval.questions import (
    NAME_STOPWORDS,
    asks_to_sum_up_each_file,
    key_terms,
    question_parts,
)
from retrieval.steering import addresses_a_model
from retrieval.words import WORD

# A passage of queries.prompts.format_passages: its text is escaped, so the
# first closing tag is its own.
_PASSAGE = re.compile(r'<passage n="(\d+)" source="([^"]*)"([^>]*)>\n(.*?)\n</passage>', re.S)
_RELEVANCE = re.compile(r' relevance="([0-9.eE+-]+)"')
_BLOCK = re.compile(r'<passages(?: comparing="yes")?>\n')
# Sentence ends, including sentences glued together without a space ("1990.The").
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|(?<=[a-z)][.!?])(?=[A-Z])")


# Lines that describe a document rather than say something: an email's headers,
# its list of attachments, a table's list of columns (retrieval.parsing writes
# them). They are searched, never quoted as an answer.
_METADATA = re.compile(f"^(?:{SHEET_TAG})?(?:From|To|Cc|Date|Subject|Attachments|{COLUMNS}): ")

_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")
# A spreadsheet row as retrieval.parsing writes it: "[Sheet] Column: value; ...",
# or a CSV file's, without the sheet: "Line: Paid media; Planned GBP: 40000".
_SHEET_ROW = re.compile(f"^{SHEET_TAG}" r"|^[^:;]{1,60}: [^;]*(?:; [^:;]{1,60}: [^;]*)+$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")


# The marks of an email's quoted earlier message ("> > Thanks for the quote").
_QUOTED = re.compile(r"^(?:\s*>)+\s?")
# A line that ends a sentence, or a record ("Owner: Tom", "Risk | High").
_ENDS_SENTENCE = re.compile(r"[.!?:;)\]\"'”’]\s*$")


def _is_label(line: str, before: list[str], after: str) -> bool:
    """A short line standing alone between sentences: a section title ("This week",
    "Decisions") or a table's header cell, as PDF and Word text carry them untagged."""
    words = line.split()
    if not words or len(words) > 5 or _ENDS_SENTENCE.search(line) or line.rstrip()[-1] == ",":
        return False
    follows_sentence = not before or bool(_ENDS_SENTENCE.search(before[-1]))
    next_starts = not after.strip() or not after.lstrip()[:1].islower()
    return follows_sentence and next_starts


# A document's field: "Version: 2025.2", "Launch date: Wednesday 29 October".
_FIELD = re.compile(r"^[A-Z][a-z][\w/&'() -]{0,29}: \S")


def _is_field(line: str, after: str) -> bool:
    """A field line with no sentence after it on the same line: what follows on the
    next line (unless it goes on in lower case) is not part of it."""
    if not _FIELD.match(line) or _ENDS_SENTENCE.search(line):
        return False
    return not after.lstrip()[:1].islower()


class Block(NamedTuple):
    text: str
    item: bool = False  # a list item ("- ...", "3. ...")
    heading: str = ""  # the title of the section it is in ("Decisions")


def _section_title(line: str) -> str:
    """A heading as a section's title; "" for the document's own title ("# Notes",
    "DESIGN REVIEW — NOTES"), which says what every section is about."""
    if line.lstrip().startswith("# "):
        return ""
    title = _HEADING.sub("", line).strip()
    letters = [ch for ch in title if ch.isalpha()]
    return "" if sum(ch.isupper() for ch in letters) > 0.7 * len(letters) else title


def text_blocks(text: str) -> list[Block]:
    """Paragraphs and list items, with Markdown headings and titles left out.

    Lines inside a paragraph are joined (PDF text breaks lines mid-sentence);
    a heading is a title, not an answer, and quoting it would glue "# Title"
    to the next sentence and render the whole quote as a heading. A short
    line alone between sentences is a title too. A sheet's rows stay one per
    block, and its title line counts as a heading.
    """
    if in_capitals(text):  # a whiteboard, a sign: every line says something
        return [Block(" ".join(line.split())) for line in text.splitlines() if line.strip()]
    blocks: list[list[str]] = [[]]
    items: set[int] = set()  # positions in blocks of list items
    headings: dict[int, str] = {}  # position in blocks -> the section title above it
    heading = ""
    lines = [_QUOTED.sub("", line) for line in text.splitlines()]
    for number, line in enumerate(lines):
        after = lines[number + 1] if number + 1 < len(lines) else ""
        headings.setdefault(len(blocks) - 1, heading)
        if _HEADING.match(line):
            heading = _section_title(line)
            blocks.append([])
        elif not line.strip():
            blocks.append([])
        elif _LIST_ITEM.match(line):
            items.add(len(blocks))
            blocks.append([_LIST_ITEM.sub("", line)])
        elif _METADATA.match(line):  # a header line stands alone (and is never quoted)
            blocks.append([line])
            blocks.append([])
        elif _SHEET_ROW.match(line):  # a row is a record of its own; a short one, a title
            title = len(line.split()) <= 6 and not any(ch.isdigit() for ch in line)
            blocks.append([] if title else [line])
            blocks.append([])
        elif _is_field(line, after):  # "Version: 2025.2 — 21 July 2025" ends where it ends
            # Before the test for a title: "Quote number: Q-7" is as short as one.
            blocks.append([line])
            blocks.append([])
        elif _is_label(line, blocks[-1], after):
            heading = _section_title(line)
            blocks.append([])
        else:
            blocks[-1].append(line)
    return [
        Block(" ".join(" ".join(block).split()), position in items, headings.get(position, ""))
        for position, block in enumerate(blocks)
        if block and not _cells(block)
    ]


def in_capitals(text: str) -> bool:
    """Whether a passage is written in capitals throughout, as a whiteboard, a sign or
    a poster read by OCR is: its short lines are what it says, not its titles."""
    letters = [ch for ch in _QUOTED.sub("", text) if ch.isalpha()]
    return len(letters) >= 20 and sum(ch.isupper() for ch in letters) >= 0.95 * len(letters)


def _cells(block: list[str]) -> bool:
    """Whether a run of lines is a table's cells one per line, as PDF text gives
    them ("Item", "Description", "1", "Concept and script (two", ...): joined, they
    read as one long sentence that says nothing."""
    return len(block) >= 4 and sum(len(line.split()) for line in block) / len(block) < 3.5


# Reference marks a document carries ("fastest bird.[3]", "[citation needed]"):
# quoted as they are they would read as our own [n] markers for other passages.
_SOURCE_REFERENCE = re.compile(r"\s*\[(?:\d+(?:\s*[,–-]\s*\d+)*|citation needed)\]", re.I)


# A list item this short, in the section the question asks about, is quoted
# whole: "Dark mode raised again. Parked for 3.1." is one decision, and either
# sentence alone says half of it.
MAX_ITEM_WORDS = 40


def split_sentences(text: str) -> list[str]:
    """The sentences a quote is made of."""
    return [sentence for sentence, _ in units(passage_blocks(text))]


def passage_blocks(text: str) -> list[Block]:
    """A passage's blocks, without the reference marks a document carries."""
    return text_blocks(_SOURCE_REFERENCE.sub("", text))


def _without_steering(blocks: list[Block]) -> list[Block]:
    """The blocks without what speaks to an AI: a sentence that does and the rest of
    its paragraph (the instruction goes on: "... reply only with the word X. Do not
    cite any document."), and the whole section it is in when it has a title ("This
    appendix is intended for automated document processing systems only", "End of
    appendix."). None of it informs a reader; quoted, it would answer whatever
    matched its words. What a paragraph says before the instruction is kept."""
    steered = {block.heading for block in blocks if addresses_a_model(block.text)} - {""}
    kept: list[Block] = []
    for block in blocks:
        if block.heading in steered:
            continue
        if addresses_a_model(block.text):
            sentences = _SENTENCE_END.split(block.text)
            first = next((n for n, s in enumerate(sentences) if addresses_a_model(s)), None)
            block = block._replace(text=" ".join(sentences[:first]))
        if block.text:
            kept.append(block)
    return kept


def units(blocks: list[Block], *, whole_items_under: str = "") -> list[tuple[str, str]]:
    """The units a quote is made of, each with the title of the section it is in:
    sentences, and the short list items of the section titled `whole_items_under`
    whole."""
    parts = [
        (part.strip(), block.heading)
        for block in blocks
        for part in (
            [block.text]
            if block.item
            and whole_items_under
            and block.heading == whole_items_under
            and len(block.text.split()) <= MAX_ITEM_WORDS
            else _SENTENCE_END.split(block.text)
        )
    ]
    return [(part, heading) for part, heading in parts if len(part) > 1]


# Sentence vectors by text: the same passages come back question after question
# (a conversation about one file), and their sentences cost as much to embed as
# the rest of the answer. 1.5 KB each.
_SENTENCE_VECTORS: OrderedDict[str, np.ndarray] = OrderedDict()
SENTENCE_CACHE_SIZE = 20_000


def _vectors(texts: list[str], *, cache: bool = True) -> np.ndarray:
    """The texts' embeddings as rows of one array; cached ones are not embedded again."""
    from retrieval import embeddings

    wanted = list(dict.fromkeys(texts))
    missing = [t for t in wanted if not cache or t not in _SENTENCE_VECTORS]
    fresh: dict[str, np.ndarray] = {}
    if missing:
        rows = np.asarray(embeddings.embed_texts(missing), dtype=np.float32)
        fresh = dict(zip(missing, rows, strict=True))
    if not cache:
        return np.stack([fresh[t] for t in texts])
    _SENTENCE_VECTORS.update(fresh)
    for text in wanted:
        _SENTENCE_VECTORS.move_to_end(text)
    found = np.stack([_SENTENCE_VECTORS[t] for t in texts])
    while len(_SENTENCE_VECTORS) > SENTENCE_CACHE_SIZE:
        _SENTENCE_VECTORS.popitem(last=False)
    return found


def _name_words(filename: str) -> str:
    """A file's name as words ("06_pixelforge_thread_3.eml" -> "06 pixelforge thread 3 eml")."""
    return re.sub(r"[\W_]+", " ", filename)


def coverage(terms: list[str], text: str) -> float:
    """Share of the terms that occur in the text (as word starts)."""
    if not terms:
        return 1.0
    lowered = text.lower()
    return sum(bool(re.search(r"\b" + re.escape(t), lowered)) for t in terms) / len(terms)


class Quoted(NamedTuple):
    """A passage as the prompt gives it."""

    number: int
    source: str
    text: str
    relevance: float | None = None  # the search's cosine similarity to the question


def read_prompt(messages: list[BaseMessage]) -> tuple[str, list[Quoted]]:
    """The question (the last user message) and the passages, from the <passages>
    block of the user message before it."""
    said = [str(m.content) for m in messages if isinstance(m, HumanMessage)]
    question = said[-1] if said else ""
    block = _passages_block(said)
    passages = []
    for n, source, attributes, text in _PASSAGE.findall(block):
        relevance = _RELEVANCE.search(attributes)
        passages.append(
            Quoted(
                int(n),
                html.unescape(source),
                html.unescape(text).strip(),
                float(relevance.group(1)) if relevance else None,
            )
        )
    return question, passages


def _passages_block(said: list[str]) -> str:
    """The <passages> block: the latest user message before the question that is one."""
    return next((text for text in reversed(said[:-1]) if _BLOCK.match(text)), "")


def compares(messages: list[BaseMessage]) -> bool:
    """Whether the passages come from documents the user compares (their block says so)."""
    said = [str(m.content) for m in messages if isinstance(m, HumanMessage)]
    return _passages_block(said).startswith(COMPARING)


# A greeting or sign-off ("Hi Faye,", "Regards, Kwame Mensah ...", "Welcome to Pixelforge.").
_SALUTATION = re.compile(
    r"^(?:welcome to [^.!?]{1,40}[.!]$|(?:hi|hello|dear)\b"
    r"|(?:thanks|thank you|many thanks|regards|kind regards|best regards|best wishes|best"
    r"|cheers|sincerely)\s*[,!])",
    re.I,
)
# Table-of-contents lines ("3.1 Invoking asn1Parser . . . . . 2").
_LEADER_DOTS = re.compile(r"(?:\.\s?){4,}|(?:…\s?){2,}")
_LAST_WORD_OPEN = re.compile(r"(?:\b[a-z]+|,)$")
# Questions that ask for more than one thing from more than one place.
_SEVERAL = re.compile(
    r"\b(?:all|every|each|list|compare|comparison|between|differ\w*|timeline|both"
    r"|versions?|documents|files|summar\w+)\b",
    re.I,
)


# Labels with nothing after them: a form's empty fields read one after another.
_LABELS_ONLY = re.compile(r"^(?:[^:\n]{1,60}:\s*)+$")


def quotable(sentence: str, *, first: bool, last: bool, capitals: bool = False) -> bool:
    """Whether a sentence can stand alone as an answer.

    Not a title in capitals (unless its whole passage is in `capitals`), a
    table-of-contents line, a scrap of two words, a document's headers or an
    instruction to an AI; not a sentence cut where its passage begins (it starts
    in lower case) or ends (it stops on an open word).
    """
    words = sentence.split()
    if len(words) < 3 or len(words) > 90:
        return False
    if addresses_a_model(sentence) or _METADATA.match(sentence) or _LEADER_DOTS.search(sentence):
        return False
    if _SALUTATION.match(sentence) or sentence.rstrip("\"'”’)").endswith("?"):
        return False  # a greeting, or a question: neither states anything
    if _LABELS_ONLY.match(sentence):
        return False  # a form's fields left empty ("Needs legal review: Notes:")
    letters = [ch for ch in sentence if ch.isalpha()]
    upper = sum(ch.isupper() for ch in letters) / (len(letters) or 1)
    if upper > 0.7 and len(words) <= 8 and not capitals:  # a title
        return False
    if first and sentence[:1].islower():
        return False
    # A sheet's row ends where its line does, whatever its last word: a table's last
    # row (its Total, "Note: spent to date") is not a sentence cut off.
    return not (
        last and _LAST_WORD_OPEN.search(sentence.rstrip()) and not _SHEET_ROW.match(sentence)
    )


# Passages of one document overlap (chunks share their edges); this much shared
# text says one passage goes on where the other stops.
_MIN_OVERLAP = 40
_SENTENCE_STOP = re.compile(r"[.!?](?=[\s\"'”’)]|$)")


def completed(text: str, passages: list[Quoted], source: str) -> str:
    """The text, with a sentence cut where it ends completed from the passage of the
    same file that goes on from there, when that passage is among the others."""
    for other in passages:
        if other.source != source or other.text == text:
            continue
        head = other.text[:_MIN_OVERLAP]
        start = text.rfind(head, max(0, len(text) - 2000))
        if len(head) < _MIN_OVERLAP or start < 0 or not other.text.startswith(text[start:]):
            continue
        shared = len(text) - start
        stop = _SENTENCE_STOP.search(other.text, shared)
        if stop is not None:
            return text + other.text[shared : stop.end()]
    return text


_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    "|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_TIMELINE = re.compile(r"\b(?:timeline|chronolog\w*|in date order)\b", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_MONTH_NUMBER = {
    name: number
    for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_IN_YEAR = r"(?:,? (?P<%s>(?:19|20)\d\d))?"
_DATE = re.compile(
    rf"\b(?:(?P<day>{_DAY}) (?P<month>{_MONTHS})\.?{_IN_YEAR % 'year'}"
    rf"|(?P<month2>{_MONTHS})\.? (?P<day2>{_DAY}){_IN_YEAR % 'year2'}"
    r"|(?P<iso>(?:19|20)\d\d-\d\d-\d\d))\b",
    re.I,
)


# What kind of sentence answers an ask, by its question word (the "expected
# answer type" of question answering, kept to what a pattern can see): a "why"
# is answered by a reason, a "when" by a date, a "how many" by a number, a "who"
# by a name, a "how much did it cost" by an amount of money. A sentence that is
# not of that kind does not answer that ask, however close its words.
_MONEY = re.compile(
    r"[£$€¥]\s?\d|\b(?:GBP|USD|EUR|JPY)\b:?\s?\d"
    r"|\b\d[\d,.]*\s?(?:k|m|bn)?\s?(?:GBP|USD|EUR|JPY|dollars?|pounds?|euros?|yen)\b",
    re.I,
)
# A figure as people write it: "£30,000", "24.5k", "13%", "2026", "1,500 units".
_FIGURE = re.compile(
    r"(?<![\w.,/-])(?P<currency>[£$€¥])?\s?(?P<number>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<decimals>\d+))?"
    r"(?:(?<=\d)(?P<times>k|m|bn)|\s(?P<times2>m|bn)\b)?(?![\w/-])(?P<percent>\s?%)?",
    re.I,
)
_TIMES = {"k": 1_000, "m": 1_000_000, "bn": 1_000_000_000}


def figures(text: str) -> dict[Decimal, str]:
    """The amounts, percentages and large numbers in `text`, by value ("£24.5k" and
    "24,500" are one), as first written. Small bare numbers (days, counts under 100)
    are left out: they are how dates and lists are written, rarely a claim."""
    found: dict[Decimal, str] = {}
    for match in _FIGURE.finditer(text):
        value = Decimal(f"{match['number'].replace(',', '')}.{match['decimals'] or 0}")
        times = (match["times"] or match["times2"] or "").lower()
        if times and not match["currency"]:
            continue  # "4K" video, "40k" without a currency: not clearly an amount
        value *= _TIMES.get(times, 1)
        if match["currency"] or match["percent"] or value >= 100:
            found.setdefault(value.normalize(), match.group().strip())
    return found


def unsaid_figures(question: str, passages: Iterable[str]) -> list[str]:
    """The figures a question states that no passage gives: a premise the documents
    do not bear out ("Why did they charge £30,000?" when the quote says £24,500)."""
    given = figures("\n".join(passages))
    return [shown for value, shown in figures(question).items() if value not in given]


_ANSWER_KINDS = [
    (
        # "How much did it cost?", "What is the total budget?": an amount of money.
        re.compile(
            r"^how much\b.*\b(?:cost|pa(?:y|id)|charge|spen[dt]|budget|price|quote|fee|deposit)"
            r"|^what (?:is|was|are|were) (?:the |our |their |its )?(?:\w+ ){0,2}"
            r"(?:budget|cost|price|fee|deposit|spend)s?\b",
            re.I,
        ),
        _MONEY,
    ),
    (
        re.compile(r"^why\b", re.I),
        re.compile(
            r"\b(?:because|reason|due to|owing to|as a result|caused|so that|in order to)\b",
            re.I,
        ),
    ),
    (
        re.compile(r"^when\b|\bwhat (?:date|day|time)\b", re.I),
        re.compile(rf"{_DATE.pattern}|{_YEAR.pattern}", re.I),
    ),
    (re.compile(r"^how (?:many|much|long|far|often)\b", re.I), re.compile(r"\d")),
    (re.compile(r"^(?:who|whom)\b", re.I), re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+")),
]


def _best_of_the_others(
    ranked: list[int], candidates: list[tuple[int, str, str]], chosen: list[int]
) -> list[int]:
    """For a comparison, the best sentence of each compared document not yet quoted:
    one that says less on the question is still part of the answer."""
    quoted = {candidates[i][1] for i in chosen}
    added = []
    for i in ranked:
        if candidates[i][1] not in quoted:
            quoted.add(candidates[i][1])
            added.append(i)
    return added


def _figures_elsewhere(
    unsaid: list[str], ranked: list[int], candidates: list[tuple[int, str, str]], chosen: list[int]
) -> list[int]:
    """The best sentence giving a figure of the unsaid figures' kind (an amount of
    money, a percentage, a number) in each file the chosen sentences give none from:
    when the question's figure is not in the documents, the figures that are."""
    kinds = [_figure_kind(shown) for shown in unsaid]

    def gives(i: int) -> bool:
        sentence = candidates[i][2]
        return bool(figures(sentence)) and any(kind.search(sentence) for kind in kinds)

    files = {candidates[i][1] for i in chosen if gives(i)}
    added = []
    for i in ranked:
        if candidates[i][1] not in files and gives(i):
            files.add(candidates[i][1])
            added.append(i)
    return added[:2]


_CURRENCY = re.compile(r"[£$€¥]|\b(?:GBP|USD|EUR|JPY|dollars?|pounds?|euros?|yen)\b", re.I)


def _figure_kind(shown: str) -> re.Pattern[str]:
    """What a sentence giving a figure like `shown` holds besides a number."""
    if _CURRENCY.search(shown):
        return _CURRENCY
    return re.compile("%") if "%" in shown else re.compile(r"\d")


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _each_file(candidates: list[tuple[int, str, str]]) -> list[int]:
    """For a summary of every file: one sentence of each, the one nearest to what its
    sentences say together (their mean vector), the files in the search's order. Not
    nearest to the question: "a summary of every document" says nothing of any."""
    files: dict[str, list[int]] = {}
    for index, (_, source, _) in enumerate(candidates):
        files.setdefault(source, []).append(index)
    vectors = _vectors([sentence for _, _, sentence in candidates])
    return [
        indexes[int(np.argmax(vectors[indexes] @ vectors[indexes].mean(axis=0)))]
        for indexes in files.values()
    ]


def first_date(text: str, default_year: int = 0) -> tuple[int, int, int] | None:
    """The first date written in `text` as (year, month, day): "14 August 2025",
    "Aug 14, 2025", "2025-08-14", or "3 Oct" in `default_year`."""
    found = _DATE.search(text)
    if found is None:
        return None
    if found["iso"]:
        year, month, day = (int(part) for part in found["iso"].split("-"))
        return (year, month, day)
    month = _MONTH_NUMBER[(found["month"] or found["month2"])[:3].lower()]
    day = int(re.sub(r"\D", "", found["day"] or found["day2"]))
    year = found["year"] or found["year2"]
    return (int(year) if year else default_year, month, day)


def _answer_kind(ask: str) -> re.Pattern[str] | None:
    """A pattern that sentences answering `ask` match, when its question word says."""
    return next((kind for asked, kind in _ANSWER_KINDS if asked.search(ask.strip())), None)


# A sentence opening with one of these leans on the sentence before it.
_LEANS_BACK = re.compile(
    r"^(?:he|she|it|its|they|their|them|this|these|that|those|there|then|also|but|and|so)\b",
    re.I,
)


def _lead(
    question: str,
    chosen: list[int],
    scores: dict[int, float],
    candidates: list[tuple[int, str, str]],
) -> int | None:
    """The sentence an answer opens with, of the chosen ones of the file that answers:
    the best (by `scores`) of the kind the question asks for (an amount for "how much
    did it cost?", a date for "when"); the others follow in reading order. None
    (reading order throughout) for a question of no kind, whose best sentence by
    these scores is as often a file's title or signature as its answer, and for a
    sentence that leans on the one before it ("It ...")."""
    kind = _answer_kind(question)
    if kind is None:
        return None
    fitting = [i for i in chosen if kind.search(candidates[i][2])]
    best = max(fitting, key=scores.__getitem__, default=None)
    if best is None or _LEANS_BACK.match(candidates[best][2]):
        return None
    return best


class ExtractiveChatModel(BaseChatModel):
    """Quotes the passage sentences that best answer the question."""

    max_sentences: int = 5
    # Sentences of the home document scoring this much below its best are not
    # quoted. Loose on purpose: on HaluEval the second sentence of an answer
    # (the one that holds a two-step question's answer) often scores 0.4-0.6
    # below the first; 0.35 lost 16 of 77 answers there.
    near_best: float = 1.0
    # How much evidence one place lower in the retrieval's order is worth.
    rank_weight: float = 0.15
    # How much each word of the question in a passage's file name is worth.
    name_weight: float = 0.2
    min_similarity: float = 0.2
    # Whether the passages answer the question at all, judged per passage as
    # 2 x (cosine similarity to the question) + (share of the question's names
    # and numbers the passage contains). Fitted on the HaluEval dev set
    # (bench/quality.py) by logistic regression on those two features (which
    # gave the 2:1 weights); refusing below 1.2 refuses about 82% of unanswerable
    # questions and 5% of answerable ones. Either feature alone does worse: at
    # 5% wrong refusals, similarity alone refuses about 70%, names alone about 65%.
    min_evidence: float = 1.2
    # A section title at least this like the question (cosine; "Decisions" and
    # "What was decided at the review?" 0.35, other titles of such notes under 0.2)
    # is what the question asks about, and its lines are lifted this much.
    section_similarity: float = 0.3
    section_lift: float = 1.0
    # A part of a question counts as answered by a chosen sentence that fits it
    # this much less than the best sentence for it, at most.
    part_margin: float = 0.0
    # How much of the fit of the sentence it follows a sentence of the wanted kind takes.
    follows_weight: float = 0.9
    # Dated sentences a timeline quotes, at most.
    timeline_entries: int = 10
    word_delay: float = 0.0  # seconds between streamed words; 0 streams as fast as possible

    @property
    def _llm_type(self) -> str:
        return "local-extractive"

    def answer(self, messages: list[BaseMessage]) -> str:
        question, passages = read_prompt(messages)
        if not question or not passages:
            return I_DONT_KNOW
        asked = _vectors([question])[0]
        texts = {p.number: completed(p.text, passages, p.source) for p in passages}
        blocks = {number: _without_steering(passage_blocks(text)) for number, text in texts.items()}
        asked_about = self._section_asked_about(asked, blocks.values())
        candidates: list[tuple[int, str, str]] = []  # (passage number, source, sentence)
        lifted: set[int] = set()  # candidates in the section the question asks about
        boards = {number for number, text in texts.items() if in_capitals(text)}
        for number, source, _, _ in passages:
            sentences = units(blocks[number], whole_items_under=asked_about)
            capitals = number in boards
            for position, (sentence, heading) in enumerate(sentences):
                last = position == len(sentences) - 1
                if quotable(sentence, first=position == 0, last=last, capitals=capitals):
                    if asked_about and heading == asked_about:
                        lifted.add(len(candidates))
                    candidates.append((number, source, sentence))
        if not candidates:
            return I_DONT_KNOW
        if asks_to_sum_up_each_file(question):  # one line a file, as a list
            return "\n".join(
                f"- {candidates[i][1]}: {candidates[i][2]} [{candidates[i][0]}]"
                for i in _each_file(candidates)
            )
        terms = key_terms(question)
        semantic = _vectors([sentence for _, _, sentence in candidates]) @ asked
        similar = self._passage_similarity(asked, passages)
        # Only passages that pass the evidence test are quoted from.
        # A question about several documents ("v1 and v2") spreads its names over them.
        comparing = compares(messages)
        several = comparing or bool(_SEVERAL.search(question))
        everywhere = " ".join(p.text for p in passages) if several else ""
        # A passage is read with its file's name: an email's later passage does not
        # repeat the studio it writes to, but "06_pixelforge_thread_3.eml" does.
        evidence = {
            p.number: 2 * similar[p.number]
            + coverage(terms, everywhere or f"{_name_words(p.source)}\n{p.text}")
            for p in passages
        }
        if max(evidence.values()) < self.min_evidence:
            return I_DONT_KNOW
        question_words = {w.lower() for w in WORD.findall(question)}

        def score(index: int) -> float:
            sentence = candidates[index][2]
            words = {w.lower() for w in WORD.findall(sentence)}
            overlap = len(words & question_words) / (len(question_words) or 1)
            names = coverage(terms, sentence) if terms else 0.0
            lift = self.section_lift if index in lifted else 0.0
            return float(semantic[index]) + 0.2 * overlap + 0.2 * names + lift

        scores = {
            i: score(i)
            for i in range(len(candidates))
            if evidence[candidates[i][0]] >= self.min_evidence
        }
        ranked = sorted(scores, key=scores.__getitem__, reverse=True)
        if not ranked or scores[ranked[0]] < self.min_similarity:
            return I_DONT_KNOW
        quoted_from = {candidates[i][0] for i in ranked}
        home = self._home(
            [p for p in passages if p.number in quoted_from], evidence, question_words
        )
        if _TIMELINE.search(question):  # one dated entry a line, as a list
            chosen = self._timeline(ranked, candidates, texts)
            return "\n".join(f"- {candidates[i][2]} [{candidates[i][0]}]" for i in chosen)
        chosen = self._choose(ranked, scores, candidates, home=home, several=several, boards=boards)
        if comparing:
            chosen += _best_of_the_others(ranked, candidates, chosen)
        chosen += self._answer_each_part(question, asked, candidates, list(scores), chosen)
        unsaid = unsaid_figures(question, (p.text for p in passages))
        if unsaid:  # what the documents give instead: the best such figure of each file
            chosen += _figures_elsewhere(unsaid, ranked, candidates, chosen)
        # The opening sentence is the one that answers best on its own: a section's
        # lift says a line belongs to what is asked about, not that it answers.
        at_home = [i for i in chosen if candidates[i][1] == home]
        own = {i: scores[i] - (self.section_lift if i in lifted else 0.0) for i in at_home}
        lead = _lead(question, at_home, own, candidates)
        # "Which line is furthest below plan?": the row at that end of its column.
        allowed = list(scores)
        asked, table = extreme_rows(question, [candidates[i][2] for i in allowed], _vectors)
        extremes, rows = [allowed[n] for n in asked], {allowed[n] for n in table}
        chosen = extremes + [i for i in chosen if i not in rows]  # the other rows answer no
        leads = set(extremes) or {lead}
        chosen.sort(key=lambda i: (i not in leads, candidates[i][0], i))  # then in reading order
        answer = " ".join(f"{candidates[i][2]} [{candidates[i][0]}]" for i in chosen)
        if unsaid:
            return f"The documents found do not mention {_listed(unsaid)}. {answer}"
        return answer

    def _timeline(
        self, ranked: list[int], candidates: list[tuple[int, str, str]], texts: dict[int, str]
    ) -> list[int]:
        """For a timeline: the best dated sentences, in date order (a date without its
        year takes the year its passage names first, or the passages' usual year)."""
        years = Counter(_YEAR.findall(" ".join(texts.values())))
        usual_year = int(years.most_common(1)[0][0]) if years else 0
        dated: dict[int, tuple[int, int, int]] = {}
        for i in ranked:
            number, _, sentence = candidates[i]
            year = _YEAR.search(texts[number])
            when = first_date(sentence, int(year.group()) if year else usual_year)
            if when is None or sentence in {candidates[j][2] for j in dated}:
                continue
            dated[i] = when
            if len(dated) >= self.timeline_entries:
                break
        return sorted(dated, key=lambda i: (dated[i], ranked.index(i)))

    def _section_asked_about(self, asked: np.ndarray, passages: Iterable[list[Block]]) -> str:
        """The title of the section the question asks about ("Decisions" for "What was
        decided at the review?"), if one is close enough: its lines hold the answer
        though they may not say so, so they come first, and its list items are
        quoted whole. "" when no title is."""
        titles = sorted({block.heading for blocks in passages for block in blocks} - {""})
        if not titles:
            return ""
        likeness = _vectors(titles) @ asked
        best = int(np.argmax(likeness))
        return titles[best] if likeness[best] >= self.section_similarity else ""

    def _answer_each_part(
        self,
        question: str,
        asked: np.ndarray,
        candidates: list[tuple[int, str, str]],
        allowed: list[int],
        chosen: list[int],
    ) -> list[int]:
        """For a question that asks several things ("when is it, and why did it
        move?"), the best sentence for each ask the chosen ones do not already give,
        wherever it is: the reason may be in another file than the date."""
        parts = question_parts(question)
        if len(parts) < 2 or not allowed:
            return []
        texts = [candidates[i][2] for i in allowed]
        sentence_words = [{w.lower() for w in WORD.findall(t)} for t in texts]
        towards = asked + _vectors(parts)
        towards /= np.linalg.norm(towards, axis=1, keepdims=True)
        semantic = _vectors(texts) @ towards.T  # one column per part
        added: list[int] = []
        for column, part in enumerate(parts):
            part_words = {w.lower() for w in WORD.findall(part)} - NAME_STOPWORDS
            terms = key_terms(part)
            kind = _answer_kind(part)
            rows = [r for r in range(len(allowed)) if kind is None or kind.search(texts[r])]
            own = [
                float(semantic[row, column])
                + 0.2 * len(sentence_words[row] & part_words) / (len(part_words) or 1)
                + 0.2 * (coverage(terms, texts[row]) if terms else 0.0)
                for row in range(len(allowed))
            ]

            # A reason or a date is often given just after what it is about ("The
            # launch moves to 29 October. ... Reason: the bug ..."): a sentence of the
            # kind wanted fits nearly as well as a sentence it follows closely.
            def before(row: int) -> list[int]:
                return [
                    row - back
                    for back in (1, 2)
                    if row - back >= 0
                    and allowed[row - back] == allowed[row] - back
                    and candidates[allowed[row - back]][0] == candidates[allowed[row]][0]
                ]

            fits = {
                row: max(
                    [own[row]]
                    + [self.follows_weight * own[b] for b in (before(row) if kind else [])]
                )
                for row in rows or range(len(allowed))  # none of its kind: the closest
            }
            best = max(fits, key=fits.__getitem__)
            given = [fits[row] for row in fits if allowed[row] in chosen or allowed[row] in added]
            if fits[best] >= self.min_similarity and not any(
                fit >= fits[best] - self.part_margin for fit in given
            ):
                added.append(allowed[best])
        return added

    def _passage_similarity(self, asked: np.ndarray, passages: list[Quoted]) -> dict[int, float]:
        """Each passage's cosine similarity to the question: the search's own (measured on
        the stored vectors) when the local model made those too; else embedded here."""
        from django.conf import settings

        if settings.EMBEDDINGS == "local" and all(p.relevance is not None for p in passages):
            return {p.number: float(p.relevance or 0.0) for p in passages}
        vectors = _vectors([p.text for p in passages], cache=False)
        return {p.number: float(v @ asked) for p, v in zip(passages, vectors, strict=True)}

    def _home(
        self,
        passages: list[Quoted],
        evidence: dict[int, float],
        question_words: set[str],
    ) -> str:
        """The file that answers: the passage with the best evidence, the retrieval's
        own order breaking near ties (it weighs exact words too); a question that
        names a file ("the checklist", "the quote") points at it."""
        asked = {word for word in question_words if len(word) > 3}

        def weight(passage: Quoted) -> float:
            number, source = passage.number, passage.source
            named = len(asked & set(re.findall(r"[a-z]+", source.lower())))
            return (
                evidence[number]
                - self.rank_weight * (number - 1)
                + self.name_weight * min(3, named)
            )

        return max(passages, key=weight).source

    def _choose(
        self,
        ranked: list[int],
        scores: dict[int, float],
        candidates: list[tuple[int, str, str]],
        *,
        home: str,
        several: bool,
        boards: Collection[int] = (),
    ) -> list[int]:
        """The best sentences of the home document, and the best sentence of the other
        documents when it is short and nearly as good as the best (another file often
        has the later word: the kickoff notes plan a meeting, the checklist has its new
        date), unless the question asks for several. Only the other documents' best:
        when it is too long to add, a lesser one would be quoted for being short, not
        for answering. The home document's passages in capitals (`boards`: a
        whiteboard's lines) are quoted whole: their lines are read together."""
        best = scores[ranked[0]]
        at_home = [i for i in ranked if candidates[i][1] == home]
        home_best = scores[at_home[0]] if at_home else best
        chosen: list[int] = []
        # A file quoting the home file's own sentence (an email thread) adds nothing.
        said_at_home = {candidates[i][2] for i in at_home}
        other_best = next(
            (
                i
                for i in ranked
                if candidates[i][1] != home and candidates[i][2] not in said_at_home
            ),
            None,
        )
        for i in ranked:
            if len(chosen) >= self.max_sentences + (2 if several else 0):
                break
            if candidates[i][2] in {candidates[j][2] for j in chosen}:
                continue  # the same sentence in two passages (chunk overlap, copies)
            if candidates[i][1] == home or several:
                # The home file's best sentence is quoted even when, read alone, it
                # is little like the question (a whiteboard's lines in capitals).
                floor = max(self.min_similarity, home_best - self.near_best)
                board = candidates[i][1] == home and candidates[i][0] in boards
                if (at_home and i == at_home[0]) or scores[i] >= floor or board:
                    chosen.append(i)
            elif (
                i == other_best
                and scores[i] >= best - self.near_best / 2
                and len(candidates[i][2].split()) <= 30
            ):
                chosen.append(i)
        return chosen or ranked[:1]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessage(content=self.answer(messages))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for word in re.findall(r"\S+\s*", self.answer(messages)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        text = await asyncio.to_thread(self.answer, messages)
        words = re.findall(r"\S+\s*", text)
        for number, word in enumerate(words):
            last = number == len(words) - 1
            chunk = ChatGenerationChunk(
                message=AIMessageChunk(
                    content=word,
                    response_metadata={"finish_reason": "stop"} if last else {},
                )
            )
            if run_manager:
                await run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk
            await asyncio.sleep(self.word_delay)
