"""Meeting invitations (.ics files, and the invitation inside an email): what, when,
where and who, as lines a person reads.

An invitation's facts are in its calendar data, not always in the text around it:
an email from a calendar may say only "Nadia Rahimi has invited you". Each event
is read as one record, as a sheet's row is ("Meeting: Go / no-go for Kite 3.0;
When: Wednesday 22 October 2025, 14:00 to 15:00 BST; Where: ...; Organiser: ...;
Invited: ..."), its description on the lines after; a cancellation says so.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from retrieval.errors import IngestionError
from retrieval.parsing.segments import ParsedDocument, Segment
from retrieval.parsing.text import decode_text

logger = logging.getLogger(__name__)

MAX_EVENTS = 500  # a calendar export read this far
_REPEATS = {"DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly", "YEARLY": "yearly"}


def parse_calendar(data: bytes) -> ParsedDocument:
    """An .ics file: its events, one paragraph each."""
    try:
        events = invitation_lines(decode_text(data))
    except Exception as error:  # icalendar raises many kinds on broken data
        logger.info("unreadable calendar: %r", error)
        raise IngestionError(
            "The calendar file is damaged and could not be read.", code="corrupt_file"
        ) from None
    if not events:
        raise IngestionError("This calendar file holds no events.", code="no_text")
    return ParsedDocument(segments=[Segment(text="\n\n".join(events))], pages=None)


def invitation_lines(ics: str) -> list[str]:
    """Each event of calendar data as its lines (one string per event)."""
    from icalendar import Calendar

    calendar = Calendar.from_ical(ics)
    cancelled_all = str(calendar.get("METHOD", "")).upper() == "CANCEL"
    events = []
    for event in calendar.walk("VEVENT")[:MAX_EVENTS]:
        cancelled = cancelled_all or str(event.get("STATUS", "")).upper() == "CANCELLED"
        title = _text(event.get("SUMMARY")) or "(no title)"
        lines = [f"Meeting: {title}{' (cancelled)' if cancelled else ''}"]
        start = _decoded(event, "DTSTART")
        if start is not None:
            lines.append(f"When: {_when(start, _decoded(event, 'DTEND'))}")
        repeats = event.get("RRULE")
        if repeats:
            frequency = (repeats.get("FREQ") or [""])[0]
            lines.append(f"Repeats: {_REPEATS.get(str(frequency).upper(), str(frequency).lower())}")
        where = _text(event.get("LOCATION"))
        if where:
            lines.append(f"Where: {where}")
        if "ORGANIZER" in event:
            lines.append(f"Organiser: {_person(event['ORGANIZER'])}")
        invited = event.get("ATTENDEE")
        invited = invited if isinstance(invited, list) else [invited] if invited else []
        if invited:
            lines.append("Invited: " + ", ".join(_person(person) for person in invited))
        # One record, as a sheet's row is written: its facts are quoted together.
        record = "; ".join(line.replace(";", ",") for line in lines)
        description = str(event.get("DESCRIPTION") or "").replace("\r\n", "\n").strip()
        events.append(f"{record}\n{description}" if description else record)
    return events


def _decoded(event: Any, key: str) -> date | datetime | None:
    try:
        return event.decoded(key) if key in event else None
    except Exception:  # a date the calendar wrote wrongly: left out
        return None


def _when(start: date | datetime, end: date | datetime | None) -> str:
    """ "Wednesday 22 October 2025, 14:00 to 15:00 BST", as people write a meeting's time."""
    said = f"{start:%A} {start.day} {start:%B %Y}"
    if not isinstance(start, datetime):  # an all-day event
        return said
    said += f", {start:%H:%M}"
    if isinstance(end, datetime):
        said += f" to {end:%H:%M}" if end.date() == start.date() else f" to {_when(end, None)}"
    zone = start.tzname()
    return f"{said} {zone}" if zone else said


def _person(address: Any) -> str:
    """ "Nadia Rahimi", or the address when the invitation names no one."""
    name = getattr(address, "params", {}).get("CN")
    return _text(name) or str(address).removeprefix("mailto:").removeprefix("MAILTO:")


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""
