"""Reviewers' comments on a PDF's pages: sticky notes, comments on highlighted or struck
text, typewriter text added over the page.

Like a filled form's answers, they lie over the page as annotations, outside the
text layer that pypdf reads; a review's questions and decisions are often only
there ("Nadia Rahimi: the date moved to 29 October"). Each is read as a line after
the page's text: "Comment by Nadia Rahimi: ...", a reply as "Reply by ...", text
typed on the page as it is.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

# Annotations a reviewer writes in (PDF 1.7, 12.5.6): their /Contents is the comment.
_COMMENTED = frozenset(
    {
        "/Text",
        "/Highlight",
        "/Underline",
        "/StrikeOut",
        "/Squiggly",
        "/Caret",
        "/Square",
        "/Circle",
        "/Line",
        "/Polygon",
        "/PolyLine",
        "/Ink",
        "/Stamp",
    }
)
_TYPED = "/FreeText"  # text typed over the page: read as the page's own words
MAX_COMMENTS = 200  # a page's comments read, at most


def page_comments(page: Any) -> list[str]:
    """A page's comments as lines, in the order the page lists them."""
    try:
        annotations = page.get("/Annots")
        if annotations is None:
            return []
        lines = []
        for reference in annotations.get_object()[: MAX_COMMENTS * 2]:
            note = reference.get_object()
            kind = note.get("/Subtype")
            text = " ".join(str(note.get("/Contents") or "").split())
            if not text or kind not in _COMMENTED | {_TYPED}:
                continue
            if kind == _TYPED:
                lines.append(text)
                continue
            author = " ".join(str(note.get("/T") or "").split())
            said = "Reply" if "/IRT" in note else "Comment"
            lines.append(f"{said} by {author}: {text}" if author else f"{said}: {text}")
            if len(lines) >= MAX_COMMENTS:
                break
        return lines
    except Exception as error:  # comments are a nicety: the page is read without them
        logger.info("PDF comments not read: %r", error)
        return []
