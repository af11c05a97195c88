"""Entities found in a document: proper names, acronyms and key phrases.

The local extractor needs no model: it reads capitalisation and repetition,
which is enough to link chunks that talk about the same people, places,
organisations and recurring terms. When a chat model is configured the LLM
extractor (entities_llm) names and types entities instead.

Extraction runs over the whole document, then every chunk is linked to the
entities whose name it contains, so a key phrase that recurs across chunks
links them even when one chunk mentions it only once.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from retrieval.parsing.sheets import COLUMNS, SHEET_TAG
from retrieval.words import STOPWORDS

MAX_ENTITIES_PER_DOCUMENT = 400
MAX_ENTITIES_PER_CHUNK = 25


@dataclass(frozen=True)
class Entity:
    name: str
    type: str
    # Shorter names the document also uses for it ("Owen" for "Owen Castillo").
    aliases: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Case- and spacing-insensitive identity used to merge entities; a company's
        legal form is left out ("Pixelforge Studio Ltd" is "pixelforge studio")."""
        return _LEGAL_FORM.sub("", normalise(self.name)) or normalise(self.name)

    @property
    def spellings(self) -> list[str]:
        """Every normalised way a chunk may name it."""
        names = [normalise(self.name), self.key, *(normalise(a) for a in self.aliases)]
        return list(dict.fromkeys(names))


# A company's legal form at the end of its name.
_LEGAL_FORM = re.compile(
    r"(?:\s+(?:ltd|limited|inc|incorporated|llc|llp|plc|gmbh|ag|sa|s\.a|sarl|bv|b\.v|nv"
    r"|pty|co|corp|corporation|company))+$"
)


def normalise(name: str) -> str:
    text = re.sub(r"[^\w&+#.-]+", " ", name.lower())
    # Dots and hyphens count inside a token (u.s., covid-19), not around it.
    text = re.sub(r"(?<![\w])[.-]+|[.-]+(?![\w])", " ", text)
    return " ".join(text.split())


# Capitalised words that open sentences or headings, or label an email's header
# lines, and name nothing.
_NOISE_WORDS = (
    "chapter section figure table page note notes example introduction conclusion summary "
    "abstract appendix january february march april may june july august september "
    "october november december monday tuesday wednesday thursday friday saturday sunday "
    "cc bcc subject attachment attachments yes ok okay"
)
_CAPITAL_NOISE = STOPWORDS | frozenset(_NOISE_WORDS.split())
# Greetings and sign-offs, where they open a sentence ("Hi Nadia,", "Best,"; not
# "Best Buy" inside one).
_OPENERS = frozenset(
    {"hi", "hello", "hey", "dear", "thanks", "thank", "regards", "cheers", "best", "kind"}
    | {"warm", "sincerely", "greetings"}
)
# Days and months said short, beside a number: "Fri, 12 Sep 2025" (not "Jan Koum").
_SHORT_DATES = frozenset(
    {"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
    | {"mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun"}
)
# A word the document also writes in small letters is a word, not a name, where it
# stands alone in capitals: "Launch", "Budget", "Users" at the start of a line, or
# "PROJECT" and "NOTES" in a heading (an acronym of 4 letters or more).
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z][a-z'’-]*")

_CONNECTORS = frozenset({"of", "de", "da", "del", "der", "van", "von", "la", "le", "du", "y", "&"})

_WORD = re.compile(r"[A-Za-z\u00c0-\u024f0-9][\w'’\-]*|&")
# A sentence ends at a stop, a line's end or a table's cell border ("Owner | Due").
_SENTENCE_END = re.compile(r"([.!?:;]\s|\n| \| )")  # kept: a label ends in a colon
# How retrieval.parsing writes tables: a sheet's rows start with its name ("[Risks] "),
# and a line lists the columns ("Columns: Risk, Impact, Owner"). Column names are
# the table's words, not names, and its rows name what their cells do.
_SHEET_NAME = re.compile(f"^{SHEET_TAG}", re.M)
_COLUMNS_LINE = re.compile(f"^{COLUMNS}: .*$", re.M)
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]*[A-Z0-9](?:-\d+)?s?\b")


def extract(text: str) -> list[Entity]:
    """Entities of a whole document, most salient first."""
    text = _COLUMNS_LINE.sub("", _SHEET_NAME.sub("", text))
    words = set(_LOWER_WORD.findall(text))
    names = Counter(
        {name: n for name, n in _proper_names(text).items() if " " in name or _not_a(name, words)}
    )
    acronyms = _acronyms(text, words)
    phrases = _key_phrases(text)

    found: dict[str, tuple[Entity, int]] = {}

    def add(name: str, kind: str, count: int) -> None:
        entity = Entity(name=name, type=kind)
        key = entity.key
        if len(key) < 2 or key in STOPWORDS:
            return
        if key not in found or found[key][1] < count:
            found[key] = (entity, count)

    for name, count in acronyms.items():
        add(name, "acronym", count + 1)
    for name, count in names.items():
        add(name, "name", count + 1)
    for phrase, count in phrases.items():
        add(phrase, "phrase", count)
    ranked = sorted(found.values(), key=lambda pair: (-pair[1], pair[0].name))
    return merge_aliases([entity for entity, _ in ranked[:MAX_ENTITIES_PER_DOCUMENT]])


def _acronyms(text: str, words: set[str]) -> Counter[str]:
    """Words in capitals that stand for something ("SAML", "NPS"), counted. Not the
    words of a heading, which the document writes only in lines all in capitals
    ("PROJECT KITE — WEEKLY STATUS UPDATE"; an acronym also stands in an ordinary
    line: "the SSO fix"), nor, from 4 letters, a word it also writes in small letters."""
    seen: list[str] = []
    shouted: set[str] = set()
    said: set[str] = set()
    for line in text.splitlines():
        found = [
            word
            for word in _ACRONYM.findall(line)
            if 2 <= len(word) <= 10
            and sum(ch.isupper() for ch in word) >= 2
            and (len(word) < 4 or _not_a(word, words))
        ]
        capitals = len(line.split()) > 1 and not any(ch.islower() for ch in line)
        (shouted if capitals else said).update(found)
        seen += found
    headings = shouted - said
    return Counter(
        word.removesuffix("s") if word[-2:-1].isupper() else word
        for word in seen
        if word not in headings
    )


def _not_a(name: str, words: set[str]) -> bool:
    """Whether a one-word name is not one of the document's words in capitals."""
    return name.lower() not in words and name.lower() not in _CAPITAL_NOISE


def merge_aliases(found: list[Entity]) -> list[Entity]:
    """A one-word name that starts exactly one longer name of the document is that
    name said short ("Owen" for "Owen Castillo", "Pixelforge" for "Pixelforge Studio
    Ltd"): one entity, which chunks that use either name link to."""
    longer: dict[str, list[Entity]] = {}
    for entity in found:
        words = entity.key.split()
        if entity.type == "name" and len(words) > 1:
            longer.setdefault(words[0], []).append(entity)
    merged: dict[str, list[str]] = {}
    kept = []
    for entity in found:
        owners = longer.get(entity.key, [])
        if entity.type in ("name", "acronym") and " " not in entity.key and len(owners) == 1:
            merged.setdefault(owners[0].key, []).append(entity.name)
        else:
            kept.append(entity)
    return [Entity(e.name, e.type, tuple(merged[e.key])) if e.key in merged else e for e in kept]


def _proper_names(text: str) -> Counter[str]:
    """Runs of capitalised words, counted. A one-word name is kept only where the
    document also writes it inside a sentence, or as the start of a longer name: a
    sentence's first word is capitalised whatever it is ("Happy to help", "Agreed.")."""
    names: Counter[str] = Counter()
    inside: set[str] = set()  # names seen other than as a sentence's first word
    pieces = _SENTENCE_END.split(text)
    for sentence, end in zip(pieces[::2], [*pieces[1::2], ""], strict=True):
        if end.startswith(":") and len(_WORD.findall(sentence)) == 1:
            continue  # a field's label: "Owner: Tom Berglund", "Scope: ..."
        run: list[str] = []
        opens = False  # the run is the sentence's first word
        previous_end = 0
        matches = [*_WORD.finditer(sentence), None]
        for position, match in enumerate(matches):
            word = match.group(0) if match else ""
            # Punctuation between two words ends a name: "Dan Aykroyd, John Candy".
            joined = match is not None and not sentence[previous_end : match.start()].strip()
            previous_end = match.end() if match else 0
            if run and not joined:
                _close(run, names, inside, opens)
            lower = word.lower()
            capital = word[:1].isupper() and not word.isupper()
            # "Saturn V", "Apollo 11": capitals and small numbers may continue a name.
            continues = bool(run) and (word.isupper() or (word.isdigit() and len(word) <= 3))
            noise = (
                lower in _CAPITAL_NOISE
                or (position == 0 and lower in _OPENERS)
                or (lower in _SHORT_DATES and _by_a_number(matches, position))
            )
            if ((capital or continues) and not noise) or (run and lower in _CONNECTORS):
                if not run:
                    opens = position == 0
                run.append(word)
            else:
                _close(run, names, inside, opens)
    # A longer name said short stays, wherever it stands ("Owen" for "Owen Castillo").
    inside |= {name.split()[0] for name in names if " " in name}
    return Counter({name: n for name, n in names.items() if " " in name or name in inside})


def _by_a_number(matches: list[re.Match[str] | None], position: int) -> bool:
    """Whether the word at `position` has a number next to it."""
    return any(
        0 <= n < len(matches) and (m := matches[n]) is not None and m.group(0).isdigit()
        for n in (position - 1, position + 1)
    )


def _close(run: list[str], names: Counter[str], inside: set[str], opens: bool) -> None:
    while run and run[-1].lower() in _CONNECTORS:
        run.pop()
    if run:
        name = " ".join(run).strip("'’-")
        names[name] += 1
        if not opens:  # a longer name is kept wherever it stands
            inside.add(name)
    run.clear()


def _key_phrases(text: str) -> Counter[str]:
    """Two- and three-word runs of content words that recur in the document."""
    counts: Counter[str] = Counter()
    for sentence in re.split(r"[.!?;:,()\[\]\"“”|\n]+", text.lower()):
        words = re.findall(r"[a-z\u00e0-\u024f][a-z\u00e0-\u024f0-9'\-]+", sentence)
        run: list[str] = []
        for word in [*words, ""]:
            if word and word not in STOPWORDS and len(word) > 2:
                run.append(word)
                continue
            for size in (2, 3):
                for start in range(len(run) - size + 1):
                    counts[" ".join(run[start : start + size])] += 1
            run = []
    return Counter({phrase: n for phrase, n in counts.items() if n >= 2})


def link(chunk_text: str, entities: list[Entity]) -> list[Entity]:
    """The document's entities that this chunk mentions."""
    haystack = f" {normalise(chunk_text)} "
    mentioned = [
        entity
        for entity in entities
        if any(f" {spelling} " in haystack for spelling in entity.spellings)
    ]
    return mentioned[:MAX_ENTITIES_PER_CHUNK]
