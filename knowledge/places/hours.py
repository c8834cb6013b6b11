"""Opening hours of places, read from OpenStreetMap `opening_hours` expressions and told in French.

Places carry their hours in the OSM syntax (https://wiki.openstreetmap.org/wiki/Key:opening_hours), evaluated
with opening-hours-py in the Europe/Paris time zone with the French public holidays. About 8 % of the values
found in the wild are not valid expressions ("lundi 9h-12h", "sur rendez-vous"...): they are never evaluated,
only shown as written.

Public holidays: data producers rarely write "PH off", yet a médiathèque is closed on 25 December. An
expression that says nothing about public holidays (no `PH` rule) is therefore read as closed on them
('; PH off "jour férié"' is appended, so the text says why), except one open around the clock ("24/7").

A rule made of a comment only ('|| "sur rendez-vous"') means "unknown", not "open" as the library reads it.

Nothing raised by the library escapes from this module: parse errors, and Rust panics, which surface as
`pyo3_runtime.PanicException`, a subclass of BaseException, make the hours unknown (None).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TypeVar

from opening_hours import OpeningHours, State

from knowledge.french import PARIS, WEEKDAYS, clock
from knowledge.french import day as french_day

COUNTRY = "FR"
RAW_MAX_CHARS = 200
COMMENT_MAX_CHARS = 100
# How far ahead to look for the next opening. Also given to the library as `max_interval_days`: without it,
# an expression that never changes state again ("2020 Mo-Fr 09:00-12:00") is searched up to year 9999,
# which takes ~0.4 s.
LOOKAHEAD_DAYS = 400
# "Ouvert maintenant, jusqu'à ..." only when closing within this many days; further than that, just "Ouvert".
UNTIL_MAX_DAYS = 6
HOLIDAY_RULE = '; PH off "jour férié"'

MISSING_TEXT = "Horaires non communiqués"
ALWAYS_OPEN_TEXT = "Ouvert 24 h/24"

_COMMENT = re.compile(r'"[^"]*"')
# A rule that is only a comment ('Mo-Fr 09:00-12:00 || "sur rendez-vous"'): the first alternative, at the start
# of the expression or after a rule separator; the second skips other comments whole.
_COMMENT_ONLY_RULE = re.compile(r'(?P<before>(?:^|;|\|\||,)\s*)(?P<comment>"[^"]*")|"[^"]*"')
_PH_RULE = re.compile(r"\bPH\b")  # the library rejects a lower-case "ph", so no need to look for it
_BLANKS = re.compile(r"\s+")

T = TypeVar("T")


@dataclass(frozen=True)
class HoursStatus:
    open_now: bool | None  # None when hours are missing/unparsable/unknown
    text: str  # French, one line


def _guard(call: Callable[[], T]) -> T | None:
    """Run a call into opening-hours-py; None when it fails in any way, Rust panics included."""
    try:
        return call()
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:  # ParserError, ValueError..., and pyo3_runtime.PanicException (a BaseException)
        return None


def _build(expr: str) -> OpeningHours:
    return OpeningHours(expr, timezone=PARIS, country=COUNTRY, max_interval_days=LOOKAHEAD_DAYS)


def _with_holidays(expr: str) -> str:
    """The expression, closed on public holidays unless it has a rule of its own for them, or is 24/7."""
    if _PH_RULE.search(_COMMENT.sub("", expr)):
        return expr
    normalized = _guard(lambda: str(_build(expr).normalize()))
    if normalized == "24/7":
        return expr
    return expr + HOLIDAY_RULE


def _clean(expr: str | None) -> str:
    # Trailing rule separators ("Mo-Fr 09:00-12:00;") are a common slip that the library rejects.
    return (expr or "").strip().rstrip(";").rstrip()


def _comment_only_rules_unknown(expr: str) -> str:
    """'"sur rendez-vous"' -> 'unknown "sur rendez-vous"'.

    opening-hours-py reads a rule made of a comment alone as open around the clock ("24/7"): a place
    'Mo 09:00-12:00 || "sur rendez-vous"' would be "open" on Tuesday at 3 a.m. Such a rule says we do not know.
    """
    return _COMMENT_ONLY_RULE.sub(
        lambda m: f"{m['before']}unknown {m['comment']}" if m["comment"] else m[0],
        expr,
    )


@lru_cache(maxsize=4096)
def parse_hours(expr: str | None) -> OpeningHours | None:
    """The parsed expression, closed on public holidays unless it says otherwise; None when missing or invalid.

    Whitespace-only values count as missing: the library would read "   " as "24/7".
    """
    if not isinstance(expr, str):
        return None
    cleaned = _clean(expr)
    if not cleaned:
        return None
    cleaned = _comment_only_rules_unknown(cleaned)
    if _guard(lambda: _build(cleaned)) is None:
        return None
    return _guard(lambda: _build(_with_holidays(cleaned)))


def _raw_text(expr: str) -> str:
    raw = _BLANKS.sub(" ", expr.strip())
    if len(raw) > RAW_MAX_CHARS:
        raw = raw[: RAW_MAX_CHARS - 1] + "…"
    return f"Horaires : {raw}"


def _paris(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}")
    return moment.astimezone(PARIS)


def _long_date(day: date, today: date) -> str:
    text = french_day(day)
    if (day - today).days > 300:
        text += f" {day.year}"
    return text


def _when_opening(moment: datetime, now: datetime) -> str:
    """'à 14 h', 'demain à 9 h', 'mardi à 9 h', 'le lundi 4 janvier à 9 h'."""
    days = (moment.date() - now.date()).days
    at = clock(moment)
    if days == 0:
        return f"à {at}"
    if days == 1:
        return f"demain à {at}"
    if days <= UNTIL_MAX_DAYS:
        return f"{WEEKDAYS[moment.weekday()]} à {at}"
    return f"le {_long_date(moment.date(), now.date())} à {at}"


def _until(moment: datetime, now: datetime) -> str | None:
    """'jusqu'à 17 h 30', 'jusqu'à minuit', 'jusqu'à demain à 2 h', 'jusqu'à samedi minuit'; None when far off."""
    if moment.hour == 0 and moment.minute == 0:
        day, at, link = moment.date() - timedelta(days=1), "minuit", " "
    else:
        day, at, link = moment.date(), clock(moment), " à "
    days = (day - now.date()).days
    if days == 0:
        return f"jusqu'à {at}"
    if days == 1:
        return f"jusqu'à demain{link}{at}"
    if days <= UNTIL_MAX_DAYS:
        return f"jusqu'à {WEEKDAYS[day.weekday()]}{link}{at}"
    return None


def _comment(comment: str) -> str:
    comment = _BLANKS.sub(" ", comment).strip()
    if not comment:
        return ""
    if len(comment) > COMMENT_MAX_CHARS:
        comment = comment[: COMMENT_MAX_CHARS - 1] + "…"
    return f" ({comment})"


def _intervals(hours: OpeningHours, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime, State, str]]:
    """The library's intervals, stopping quietly (after what it could give) if it fails midway."""
    iterator = _guard(lambda: iter(hours.intervals(start, end)))
    if iterator is None:
        return
    while True:
        item = _guard(lambda: next(iterator, None))
        if item is None:
            return
        yield item


def _status(hours: OpeningHours, raw: str, now: datetime) -> HoursStatus:
    state, comment = hours.state(now)
    horizon = now + timedelta(days=LOOKAHEAD_DAYS)
    if state == State.OPEN:
        if hours.next_change(now) is None:
            return HoursStatus(True, ALWAYS_OPEN_TEXT + _comment(comment))
        closing = None
        for start, _end, interval_state, _ in _intervals(hours, now, horizon):
            if interval_state != State.OPEN:
                closing = start
                break
        until = _until(closing.astimezone(PARIS), now) if closing is not None else None
        text = "Ouvert maintenant" + (f", {until}" if until else "")
        return HoursStatus(True, text + _comment(comment))
    if state == State.CLOSED:
        opening = None
        for start, _end, interval_state, _ in _intervals(hours, now, horizon):
            if interval_state == State.OPEN:
                opening = start
            if interval_state != State.CLOSED:
                break  # an "unknown" stretch first: we cannot tell when it opens
        text = "Fermé" + _comment(comment)
        if opening is not None:
            text += f", ouvre {_when_opening(opening.astimezone(PARIS), now)}"
        return HoursStatus(False, text)
    return HoursStatus(None, _raw_text(raw))


def hours_status(expr: str | None, now: datetime) -> HoursStatus:
    """Whether a place is open at `now` (aware), with a one-line French sentence for the citizen."""
    now = _paris(now, "now")
    if not isinstance(expr, str) or not _clean(expr):
        return HoursStatus(None, MISSING_TEXT)
    hours = parse_hours(expr)
    if hours is None:
        return HoursStatus(None, _raw_text(expr))
    status = _guard(lambda: _status(hours, expr, now))
    return status if status is not None else HoursStatus(None, _raw_text(expr))


def is_open_between(expr: str | None, start: datetime, end: datetime) -> bool | None:
    """True when open during the whole of [start, end), False when closed at some point of it.

    None when the hours are missing, invalid, or unknown over part of the interval (and never closed).
    An empty interval (start == end) asks about the instant `start`.
    """
    start, end = _paris(start, "start"), _paris(end, "end")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    hours = parse_hours(expr)
    if hours is None:
        return None
    if end == start:
        state = _guard(lambda: hours.state(start))
        if state is None or state[0] == State.UNKNOWN:
            return None
        return state[0] == State.OPEN
    unknown = False
    covered = start
    for _start, interval_end, state, _ in _intervals(hours, start, end):
        if state == State.CLOSED:
            return False
        if state == State.UNKNOWN:
            unknown = True
        covered = max(covered, interval_end)
    if unknown or covered < end:  # covered < end: the library failed midway
        return None
    return True
