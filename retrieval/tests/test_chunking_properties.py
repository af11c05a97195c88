"""Properties of the chunker, for any text: nothing lost or reordered, overlap kept, pages kept."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from retrieval.chunking import split
from retrieval.parsing import MARKDOWN, ParsedDocument, Segment

# Words made unique by their number, so each chunk has one place in its page.
WORD = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
BREAK = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". ", ", ", "? "])


@st.composite
def page_text(draw) -> str:
    words = draw(st.lists(WORD, min_size=1, max_size=150))
    breaks = draw(st.lists(BREAK, min_size=len(words), max_size=len(words)))
    return "".join(f"{w}{n}{b}" for n, (w, b) in enumerate(zip(words, breaks, strict=True)))


@settings(max_examples=200, deadline=None)
@example(pages=[" ".join(f"word{n}" for n in range(200))], size=100, share=0.3, markdown=False)
@given(
    pages=st.lists(page_text(), min_size=1, max_size=4),
    size=st.integers(min_value=40, max_value=200),
    share=st.floats(min_value=0, max_value=0.5),
    markdown=st.booleans(),
)
def test_chunks_cover_every_page_in_order_within_size_and_overlap(pages, size, share, markdown):
    overlap = int(size * share)
    parsed = ParsedDocument([Segment(text, page=n) for n, text in enumerate(pages, 1)], len(pages))

    chunks = split(parsed, MARKDOWN if markdown else "text/plain", size=size, overlap=overlap)

    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert [c.page for c in chunks] == sorted(c.page for c in chunks)  # pages in order
    for number, text in enumerate(pages, 1):
        mine = [c for c in chunks if c.page == number]
        covered = [False] * len(text)
        previous_start, previous_end = -1, -1
        for chunk in mine:
            assert 0 < len(chunk.text) <= size
            start = text.find(chunk.text, previous_start + 1)
            assert start > previous_start, "a chunk out of order, or not from its page"
            end = start + len(chunk.text)
            assert previous_end - start <= overlap, "more overlap than asked for"
            covered[start:end] = [True] * len(chunk.text)
            previous_start, previous_end = start, end
        lost = [ch for ch, seen in zip(text, covered, strict=True) if not seen and not ch.isspace()]
        assert not lost, f"text lost: {''.join(lost)[:40]!r}"
