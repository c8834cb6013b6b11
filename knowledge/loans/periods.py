"""Loan periods written in French free text (« du 3 au 10 mars », « la semaine prochaine », « à partir du 12 pour
15 jours »), read relative to the day they are said and preferring the future.

Each date piece (« 10 mars », « 3/03 », « jeudi 10 », « demain », « dans 3 jours »…) is recognised by a small grammar
and read by `dateparser`; the grammar around the pieces gives ranges, durations and calendar spans (week, week-end,
month). Text is compared folded (lower case, no accents), so « A partir du 2 fevrier » reads like « à partir du 2
février ».

Choices where French is loose, in the order they are tried:

- ranges (« du X au Y », « le X au Y », « entre le X et le Y », « de demain à vendredi », « du 3 - 10 mars »): when
  the end names its month, the end is read first (the next such day, today included) and the start is the last such
  day on or before it; a start without a month takes the end's month and year (« du 10 au 3 mars » is an end before
  its start). Otherwise the start is read first and the end is the first such day after it (« du 28 au 3 »: the 28th,
  then the 3rd of the next month);
- durations (« pour|pendant N jours|semaines|mois » with « à partir du X », « dès le X », « X pour N jours »), N in
  digits or words up to « trente », « une quinzaine » being 15 days; N days count the start day (« pour 15 jours »
  from the 12th ends on the 26th);
- a start alone (« à partir du 12 ») is not enough: no end; an end alone (« jusqu'au 10 ») or a duration alone is
  unreadable (no pickup day);
- calendar spans: « la semaine prochaine » (Monday to Friday), « cette semaine » (today, or the coming Monday on a
  week-end, to Friday), « la semaine du 12 », « ce week-end », « le week-end prochain » (that of next week),
  « le week-end du 12 », « le mois prochain », « ce mois-ci », a month alone (« mars », « en mars 2027 »);
- single days: « le 12 » (a bare number needs « le », a weekday or a month to be a day), « 12 mars », « 3/03 »,
  « jeudi 10 » (the next 10th that is a Thursday), « mercredi » (strictly after today: said on a Wednesday, next
  week's), « lundi prochain » (the Monday of next week), « demain », « dans 3 jours ». A number followed by « h » or
  « heures » is an hour, not a day.

A period that has begun (this week, this month, « du 1er au 10 décembre » said on the 2nd) starts today; a period
entirely in the past is refused."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

import dateparser
from dateutil.relativedelta import FR, MO, SA, SU, relativedelta

from knowledge.french import MONTHS, WEEKDAYS, fold

Reason = Literal["unreadable", "end_before_start", "past", "no_end"]
UNREADABLE: Reason = "unreadable"
END_BEFORE_START: Reason = "end_before_start"
PAST: Reason = "past"
NO_END: Reason = "no_end"


@dataclass(frozen=True)
class Period:
    """Days of a loan: the pickup day to the return day, both included."""

    first_day: date
    last_day: date

    @property
    def days(self) -> int:
        """Number of days, the pickup and return days included."""
        return (self.last_day - self.first_day).days + 1


def parse_period(text: str, today: date) -> Period | None:
    """The period a French text names, read relative to `today` (the Paris calendar day), or None."""
    found = explain_period(text, today)
    return found if isinstance(found, Period) else None


def explain_period(text: str, today: date) -> Period | Reason:
    """The period a French text names, or why there is none: "unreadable", "end_before_start", "past", "no_end"."""
    words = _normalize(text)
    for reader in _READERS:
        found = reader(words, today)
        if found is None:
            continue
        if isinstance(found, str):
            return found
        first, last = found
        if last < first:
            return END_BEFORE_START
        if last < today:
            return PAST
        return Period(max(first, today), last)
    return UNREADABLE


# --- Words ----------------------------------------------------------------------------------------------------

_MONTH_NAMES = tuple(fold(name) for name in MONTHS)
_MONTH_WORDS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)} | {
    "janv": 1,
    "fev": 2,
    "fevr": 2,
    "avr": 4,
    "juil": 7,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_WEEKDAY_WORDS = {name: number for number, name in enumerate(WEEKDAYS)}
_SMALL_NUMBERS = ("un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze")
_SMALL_NUMBERS += ("treize", "quatorze", "quinze", "seize")
_NUMBER_WORDS = (
    {"une": 1}
    | {word: number for number, word in enumerate(_SMALL_NUMBERS, 1)}
    | {"dix sept": 17, "dix huit": 18, "dix neuf": 19, "vingt": 20, "vingt et un": 21, "vingt et une": 21}
    | {f"vingt {word}": 20 + number for number, word in enumerate(_SMALL_NUMBERS[1:9], 2)}
    | {"trente": 30}
)
_RELATIVE_DAYS = {
    "aujourd'hui": "aujourd'hui",
    "aujourdhui": "aujourd'hui",
    "aujourd hui": "aujourd'hui",
    # dateparser reads « apres demain » (no hyphen) as « demain » and does not know « avant hier »: hyphens given back.
    "apres demain": "après-demain",
    "avant hier": "avant-hier",
    "demain": "demain",
    "hier": "hier",
}
_UNITS = {"jour": "days", "jours": "days", "semaine": "weeks", "semaines": "weeks", "mois": "months"}


def _either(words: Iterable[str]) -> str:
    """A regex alternative of words, the longest first (« vingt deux » before « vingt »)."""
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


_WEEKDAY = _either(_WEEKDAY_WORDS)
_MONTH = _either(_MONTH_WORDS)
_NUMBER = rf"\d{{1,2}}|{_either(_NUMBER_WORDS)}"
_UNIT = _either(_UNITS)
_PIECE = (
    rf"\b(?:{_either(_RELATIVE_DAYS)}"
    rf"|dans (?:{_NUMBER}) (?:{_UNIT})"
    rf"|(?:(?:{_WEEKDAY}) )?\d{{1,2}}/\d{{1,2}}(?:/\d{{4}}|/\d{{2}})?"
    rf"|(?:(?:{_WEEKDAY}) )?(?:\d{{1,2}}(?:er)?|premier)(?! h\b| heures?\b)(?: (?:{_MONTH})(?: \d{{4}})?)?"
    rf"|(?:{_WEEKDAY})(?: prochain)?)\b"
)
"""One date: « demain », « dans 3 jours », « 3/03 », « jeudi 10 », « 1er mars 2027 », « lundi prochain »."""


def _normalize(text: str) -> str:
    """Folded words separated by single spaces, apostrophes kept; « / » between the numbers of a date."""
    words = re.sub(r"[’‘`´]", "'", fold(text))
    # A dash between two days is « au » (« du 3 - 10 mars », « 3-10 mars »); between the numbers of a date, « / ».
    words = re.sub(rf"\s+[-–—]\s+|(?<=\d)[-–—](?=\d{{1,2}} (?:{_MONTH})\b)", " au ", words)
    words = re.sub(r"(?<=\d)[.-](?=\d)", "/", words)
    words = re.sub(r"\b(?:une )?quinzaine(?: de jours)?\b", "15 jours", words)
    words = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", words)
    words = re.sub(r"\bweekend\b", "week end", words)
    return " ".join(re.sub(r"[^\w'/]+", " ", words).split())


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


# --- Date pieces ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Piece:
    """One date as written: relative words for dateparser, or the parts of a date."""

    relative: str | None = None
    weekday: int | None = None
    day: int | None = None
    month: int | None = None
    year: int | None = None
    next_week: bool = False

    @property
    def text(self) -> str:
        """What dateparser reads for a date with a day (and perhaps a month and a year)."""
        parts = [str(self.day)]
        if self.month is not None:
            parts.append(_MONTH_NAMES[self.month - 1])
        if self.year is not None:
            parts.append(str(self.year))
        return " ".join(parts)


def _piece(words: str) -> _Piece | None:
    """The parts of a text matched by _PIECE, or None for an impossible month (« 3/13 »)."""
    if words in _RELATIVE_DAYS:
        return _Piece(relative=_RELATIVE_DAYS[words])
    if found := re.fullmatch(rf"dans ({_NUMBER}) ({_UNIT})", words):
        return _Piece(relative=f"dans {_number(found[1])} {found[2]}")
    weekday = day = month = year = None
    for word in words.split():
        if word in _WEEKDAY_WORDS:
            weekday = _WEEKDAY_WORDS[word]
        elif word in _MONTH_WORDS:
            month = _MONTH_WORDS[word]
        elif word == "premier":
            day = 1
        elif numeric := re.fullmatch(r"(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?", word):
            day, month = int(numeric[1]), int(numeric[2])
            if numeric[3]:
                # dateparser moves a past two-digit year a century ahead when preferring the future.
                year = int(numeric[3]) + (2000 if len(numeric[3]) == 2 else 0)
        elif re.fullmatch(r"\d{4}", word):
            year = int(word)
        elif word != "prochain":
            day = int(word.removesuffix("er"))
    if month is not None and not 1 <= month <= 12:
        return None
    return _Piece(weekday=weekday, day=day, month=month, year=year, next_week=words.endswith(" prochain"))


def _read(text: str, base: datetime, prefer: str = "future") -> date | None:
    found = dateparser.parse(
        text,
        languages=["fr"],
        settings={
            "PREFER_DATES_FROM": prefer,
            "RELATIVE_BASE": base,
            "DATE_ORDER": "DMY",
            "PREFER_DAY_OF_MONTH": "first",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    return found.date() if found is not None else None


def _noon(day: date) -> datetime:
    """The base of relative words (« demain », « dans 3 jours ») and weekdays: a weekday is then strictly after."""
    return datetime.combine(day, time(12))


def _just_before(day: date) -> datetime:
    """The last instant before `day`: dateparser, preferring the future, moves a date equal to its base a year on."""
    return datetime.combine(day, time.min) - timedelta(microseconds=1)


def _resolve(piece: _Piece, since: date, today: date) -> date | None:
    """The first day on or after `since` that the piece names (a weekday alone: the first strictly after)."""
    if piece.relative is not None:
        return _read(piece.relative, _noon(today))
    if piece.day is None:
        if piece.next_week:  # the weekday in next week: the first one after this week's Sunday
            since = max(since, today + relativedelta(weekday=SU))
        return _read(WEEKDAYS[piece.weekday or 0], _noon(since))
    if piece.month is None:
        # dateparser reads a bare day in the month of its base, even in the past, and ignores a weekday given with it:
        # the first month from `since` where that day exists, is not past and is that weekday.
        for months in range(13):
            found = _read(piece.text, _noon(since + relativedelta(months=months, day=1)))
            if found is not None and found >= since and piece.weekday in (None, found.weekday()):
                return found
        return None
    return _read(piece.text, _just_before(since))


# --- Readers, in order: each gives (first day, last day), a reason, or None when the text is not of its kind ---

_Found = tuple[date, date] | Reason | None

_RANGES = (
    re.compile(
        rf"\b(?:du |de |d'|depuis )(?:le )?(?P<start>{_PIECE}) (?:(?:et )?jusqu'? ?(?:au|a) |au |a )"
        rf"(?:le )?(?P<end>{_PIECE})"
    ),
    re.compile(rf"\bentre (?:le )?(?P<start>{_PIECE}) et (?:le )?(?P<end>{_PIECE})"),
    re.compile(rf"(?P<start>{_PIECE}) (?:(?:et )?jusqu'? ?au |au )(?:le )?(?P<end>{_PIECE})"),  # « le 3 au 10 mars »
)


def _range(words: str, today: date) -> _Found:
    """« du 3 au 10 mars », « entre le 3 et le 10 mars », « du lundi au vendredi », « du 28 au 3 »."""
    found = next((m for pattern in _RANGES if (m := pattern.search(words))), None)
    if found is None:
        return None
    start, end = _piece(found["start"]), _piece(found["end"])
    if start is None or end is None:
        return UNREADABLE
    if end.month is not None and start.day is not None and start.relative is None and start.year is None:
        last = _resolve(end, today, today)
        if last is None:
            return UNREADABLE
        if start.month is None:  # « du 3 au 10 mars »: the start takes the end's month and year
            if start.day > last.day:
                return END_BEFORE_START  # « du 10 au 3 mars »
            try:
                return last.replace(day=start.day), last
            except ValueError:
                return UNREADABLE
        first = _read(start.text, datetime.combine(last, time.min), prefer="past")
        if first is not None and first.year < last.year and first.month == last.month:
            return END_BEFORE_START  # « du 10 mars au 3 mars »
        return (first, last) if first is not None else UNREADABLE
    first = _resolve(start, today, today)
    last = _resolve(end, first, today) if first is not None else None
    return (first, last) if first is not None and last is not None else UNREADABLE


_DURATION = re.compile(
    rf"(?<!dans )(?<!il y a )\b(?:(?:pour|pendant|durant|sur) (?:une duree de )?)?(?P<count>{_NUMBER}) "
    rf"(?P<unit>{_UNIT})\b"
)
_START = re.compile(rf"\b(?:a partir|a compter|des)(?: du | de | d'| )(?:le |l')?(?P<start>{_PIECE})")
_START_BEFORE_DURATION = re.compile(
    rf"(?P<start>{_PIECE}) (?:pour|pendant|durant|sur) (?:une duree de )?(?:{_NUMBER}) (?:{_UNIT})\b"
)


def _duration(words: str, today: date) -> _Found:
    """« à partir du 12 pour 15 jours », « pendant 2 semaines à partir du 5 janvier », « le 12 pour une semaine »."""
    duration = _DURATION.search(words)
    start_found = _START.search(words) or _START_BEFORE_DURATION.search(words)
    if duration is None or start_found is None:
        return None
    start, count = _piece(start_found["start"]), _number(duration["count"])
    first = _resolve(start, today, today) if start is not None else None
    if first is None or count < 1:
        return UNREADABLE
    return first, first + relativedelta(**{_UNITS[duration["unit"]]: count}) - timedelta(days=1)


_OPEN_START = re.compile(rf"\b(?:a partir|a compter)\b|\bdes (?:le |l')?{_PIECE}")


def _open_start(words: str, today: date) -> _Found:
    """« à partir du 12 », « dès lundi »: when the loan ends is not said."""
    return NO_END if _OPEN_START.search(words) else None


_WEEK_OF = re.compile(rf"\bsemaine du (?:le )?(?P<day>{_PIECE})")
_WEEKEND_OF = re.compile(rf"\bweek end du (?:le )?(?P<day>{_PIECE})")


def _span(words: str, today: date) -> _Found:
    """Calendar weeks, week-ends and months: « la semaine prochaine », « ce week-end », « le mois prochain »."""
    next_monday = today + relativedelta(days=1, weekday=MO)
    if re.search(r"\bsemaine (?:prochaine|suivante|d'apres)\b", words):
        return next_monday, next_monday + relativedelta(weekday=FR)
    if re.search(r"\b(?:cette semaine|semaine en cours)\b", words):
        friday = today + relativedelta(weekday=FR)  # on a week-end, the coming week
        return friday + relativedelta(weekday=MO(-1)), friday
    if re.search(r"\bsemaine (?:derniere|passee)\b", words):
        monday = today + relativedelta(weeks=-1, weekday=MO(-1))
        return monday, monday + relativedelta(weekday=FR)
    if found := _WEEK_OF.search(words) or _WEEKEND_OF.search(words):
        piece = _piece(found["day"])
        this_monday = today + relativedelta(weekday=MO(-1))
        day = _resolve(piece, this_monday, today) if piece is not None else None
        if day is None:
            return UNREADABLE
        if found.re is _WEEK_OF:
            monday = day + relativedelta(weekday=MO(-1))
            return monday, monday + relativedelta(weekday=FR)
        sunday = day + relativedelta(weekday=SU)
        return sunday + relativedelta(weekday=SA(-1)), sunday
    if re.search(r"\bweek end (?:prochain|suivant|d'apres)\b|\bprochain week end\b", words):
        return next_monday + relativedelta(weekday=SA), next_monday + relativedelta(weekday=SU)
    if re.search(r"\bweek end (?:dernier|passe)\b", words):
        sunday = today + relativedelta(days=-1, weekday=SU(-1))
        return sunday + relativedelta(weekday=SA(-1)), sunday
    if re.search(r"\bweek end\b", words):
        sunday = today + relativedelta(weekday=SU)
        return sunday + relativedelta(weekday=SA(-1)), sunday
    if re.search(r"\bmois (?:prochain|suivant)\b", words):
        first = today + relativedelta(months=1, day=1)
        return first, first + relativedelta(day=31)
    if re.search(r"\b(?:ce mois(?! de)|mois en cours)\b", words):
        return today, today + relativedelta(day=31)
    if re.search(r"\bmois (?:dernier|passe)\b", words):
        first = today + relativedelta(months=-1, day=1)
        return first, first + relativedelta(day=31)
    return None


_OPEN_END = re.compile(rf"\b(?:jusqu'? ?(?:au|a)|d'ici(?: au| a)?) (?:le )?{_PIECE}")


def _open_end(words: str, today: date) -> _Found:
    """« jusqu'au 10 »: when the loan starts is not said."""
    return UNREADABLE if _OPEN_END.search(words) else None


_SINGLE = re.compile(rf"(?P<article>\ble |\bl')?(?P<day>{_PIECE})")


def _single(words: str, today: date) -> _Found:
    """One day: « le 12 mars », « demain », « jeudi 10 », « lundi prochain », « dans 3 jours »."""
    for found in _SINGLE.finditer(words):
        piece = _piece(found["day"])
        if piece is None:
            return UNREADABLE
        if piece.relative is None and piece.weekday is None and piece.month is None and not found["article"]:
            continue  # a bare number (« 2 tablettes ») is not a day
        day = _resolve(piece, today, today)
        return (day, day) if day is not None else UNREADABLE
    return None


_WHOLE_MONTH = re.compile(rf"\b(?P<month>{_either(_MONTH_NAMES)})(?: (?P<year>\d{{4}}))?\b")


def _whole_month(words: str, today: date) -> _Found:
    """« mars », « en mars 2027 »: the whole month, its next occurrence (the current month from today)."""
    found = _WHOLE_MONTH.search(words)
    if found is None:
        return None
    first = _read(" ".join(filter(None, found.group("month", "year"))), _just_before(today + relativedelta(day=1)))
    return (first, first + relativedelta(day=31)) if first is not None else UNREADABLE


_READERS = (_range, _duration, _open_start, _span, _open_end, _single, _whole_month)
