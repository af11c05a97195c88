"""A filled PDF form's answers: what was typed, ticked or chosen in its fields.

A form's fields lie over the page as annotations, outside its text: the text
layer of a filled change request says "Requested by:" and nothing after it.
Each filled field is read as a line "label: answer", its label the words
printed just before it on its line (or just above it), else the field's own
description (its tooltip, then its name).
"""

from __future__ import annotations

import io
import logging
from typing import Any, NamedTuple

logger = logging.getLogger(__name__)

MAX_FIELDS = 1000  # a document's filled fields read, at most
_RADIO = 1 << 15  # the field flag (Ff) of a set of radio buttons
_NEAR = 3.0  # points: a label ends this close to its field, or sits this close above it
_ABOVE = 14.0  # points above a field a label over it may start


class Answer(NamedTuple):
    box: tuple[float, float, float, float]  # x0, top, x1, bottom, from the page's top
    own_label: str  # the field's tooltip or name
    value: str


def form_answers(reader: Any, data: bytes) -> dict[int, list[tuple[str, str]]]:
    """Each page's filled fields as (label, answer), by page number."""
    try:
        found = _filled_fields(reader)
        if not found:
            return {}
        return _labelled(found, data)
    except Exception as error:  # a form's answers are a nicety: the text is read without them
        logger.info("PDF form fields not read: %r", error)
        return {}


def _filled_fields(reader: Any) -> dict[int, list[Answer]]:
    found: dict[int, list[Answer]] = {}
    seen: set[int] = set()  # a field shown by several widgets (a set of radio buttons)
    count = 0
    for number, page in enumerate(reader.pages, start=1):
        annotations = page.get("/Annots")
        if annotations is None:
            continue
        height = float(page.mediabox.top)
        for reference in annotations.get_object():
            widget = reference.get_object()
            if widget.get("/Subtype") != "/Widget":
                continue
            field = _field_of(widget)
            value = _shown(field, _inherited(field, "/V"))
            if not value or id(field) in seen:
                continue
            seen.add(id(field))
            x0, y0, x1, y1 = _sorted_box(widget.get("/Rect"))
            label = str(_inherited(field, "/TU") or _inherited(field, "/T") or "").strip()
            found.setdefault(number, []).append(
                Answer((x0, height - y1, x1, height - y0), label, value)
            )
            count += 1
            if count >= MAX_FIELDS:
                return found
    return found


def _sorted_box(rect: Any) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in (rect or [0, 0, 0, 0]))
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _field_of(widget: Any) -> Any:
    """The field a widget shows: itself, or its parent when the widget has no name
    (a radio button, one of the widgets of a field shown twice)."""
    parent = widget.get("/Parent")
    if "/T" not in widget and parent is not None:
        return parent.get_object()
    return widget


def _inherited(field: Any, key: str) -> Any:
    """A field's attribute, its own or its nearest parent's (fields inherit them)."""
    for _ in range(10):  # a form's tree is shallow; a loop in a broken one is not followed
        if key in field:
            return field[key].get_object() if hasattr(field[key], "get_object") else field[key]
        parent = field.get("/Parent")
        if parent is None:
            return None
        field = parent.get_object()
    return None


def _shown(field: Any, value: Any) -> str:
    """A field's value as a reader of the form sees it; "" when it is empty."""
    if value is None:
        return ""
    kind = _inherited(field, "/FT")
    if kind == "/Btn":
        chosen = str(value).lstrip("/")
        if chosen in ("", "Off"):
            return ""
        radio = int(_inherited(field, "/Ff") or 0) & _RADIO
        return chosen if radio else "yes"
    if isinstance(value, list):  # a list that allows several choices
        return ", ".join(str(item) for item in value)
    return " ".join(str(value).split())


def with_answers(text: str, answers: list[tuple[str, str]]) -> str:
    """A page's text with each answer after its label: in place of the label's own
    line when the text has it alone ("Requested by:"), else at the page's end."""
    lines = text.split("\n")
    alone = {line.strip().rstrip(" :"): n for n, line in reversed(list(enumerate(lines)))}
    added = []
    for label, value in answers:
        at = alone.pop(label, None)
        if at is None:
            added.append(f"{label}: {value}")
        else:
            lines[at] = f"{label}: {value}"
    return "\n".join(lines + added).strip()


def _labelled(found: dict[int, list[Answer]], data: bytes) -> dict[int, list[tuple[str, str]]]:
    import pdfplumber

    lines: dict[int, list[tuple[str, str]]] = {}
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, answers in found.items():
            page = pdf.pages[number - 1]
            words = page.extract_words()
            page.close()
            lines[number] = [
                (_label(answer, words, answers) or answer.own_label, answer.value)
                for answer in sorted(answers, key=lambda a: (round(a.box[1]), a.box[0]))
            ]
    return lines


def _label(answer: Answer, words: list[dict[str, Any]], answers: list[Answer]) -> str:
    """The words printed just before a field on its line, back to the field before it
    ("Name: [ ]  Date: [ ]"), else those printed just above it."""
    x0, top, x1, bottom = answer.box
    middle = (top + bottom) / 2
    before = [
        other.box[2]
        for other in answers
        if other.box[2] <= x0 + _NEAR and other.box[1] <= middle <= other.box[3]
    ]
    start = max(before, default=0.0)
    on_line = [
        word
        for word in words
        if word["top"] <= middle <= word["bottom"]
        and word["x1"] <= x0 + _NEAR
        and word["x0"] >= start - _NEAR
    ]
    if not on_line:
        on_line = [
            word
            for word in words
            if top - _ABOVE <= word["bottom"] <= top + _NEAR and word["x0"] < x1 and word["x1"] > x0
        ]
    label = " ".join(word["text"] for word in sorted(on_line, key=lambda w: w["x0"]))
    return label.rstrip(" :")
