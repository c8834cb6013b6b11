"""Read atelier (workshop) schedules from the files producers send: YAML, CSV or iCalendar feeds.

This module only turns bytes into records; storing them is someone else's job. A record is identified by
(uid, start): for iCalendar the UID of the event (every occurrence of a recurring event shares it), for YAML
and CSV the `id` field.

- Bad entries (a row without a start date, an event ending before it starts...) are rejected one by one,
  with a reason, and the others kept.
- A source that cannot be read at all (not UTF-8, malformed iCalendar or YAML, unknown format, missing CSV
  column) raises AtelierSourceError before any record is returned.
- Only ateliers starting in [window_start, window_end) are returned; bad entries are reported wherever they
  are (for iCalendar: the events of the window, plus series whose recurrence cannot be computed at all).
- Times are returned in Europe/Paris; a time without a zone (YAML/CSV, floating iCalendar times) is Paris
  time.

YAML: a list of mappings, or a mapping with an `ateliers` list. CSV: a header row then one atelier a row,
separated by `,` or `;`. Fields and columns: id, lieu, titre, theme, description, conseiller, debut, fin
(ISO 8601: 2026-09-08T14:00 or 2026-09-08 14:00, optionally with an offset), capacite, public,
accessibilite, annule (oui/non). Accents and case in field names do not matter ("Début" = "debut").

iCalendar: VEVENTs, recurring ones expanded (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides). SUMMARY is the
title, DESCRIPTION the description, the first of CATEGORIES the theme, the CN of ORGANIZER the conseiller,
STATUS:CANCELLED marks a cancelled atelier, and X-PASSERELLE-LIEU, X-PASSERELLE-CAPACITE,
X-PASSERELLE-PUBLIC and X-PASSERELLE-ACCESSIBILITE give the place, capacity, public and accessibility. An
override (a moved or cancelled occurrence) that omits one of these properties keeps the series' value.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import yaml

from knowledge.sources import Rejected

PARIS = ZoneInfo("Europe/Paris")

ICAL_SUFFIXES = (".ics", ".ical", ".icalendar")
YAML_SUFFIXES = (".yml", ".yaml")
CSV_SUFFIXES = (".csv",)
FIELDS = (
    "id",
    "lieu",
    "titre",
    "theme",
    "description",
    "conseiller",
    "debut",
    "fin",
    "capacite",
    "public",
    "accessibilite",
    "annule",
)
REQUIRED_COLUMNS = ("id", "titre", "debut", "fin")
TRUE_WORDS = frozenset({"oui", "o", "true", "vrai", "yes", "y", "1", "x", "annule"})
FALSE_WORDS = frozenset({"non", "n", "false", "faux", "no", "0", ""})
_ICAL_TEXT_ESCAPE = re.compile(r"\\([\\;,nN])")
_EMAIL = re.compile(r"@|^mailto:", re.IGNORECASE)
_WHERE_TIME = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class AtelierRecord:
    uid: str  # for iCal: the event UID; for YAML/CSV: the `id` column/field
    start: datetime  # aware, Europe/Paris
    end: datetime  # aware
    title: str
    place_id: str | None  # national place id ("lieu" field / X-PASSERELLE-LIEU / default given by caller)
    theme: str = ""
    description: str = ""
    conseiller: str = ""
    capacity: int | None = None
    public: str = ""
    accessibility: str = ""
    cancelled: bool = False


@dataclass(frozen=True)
class ParsedAteliers:
    records: list[AtelierRecord]
    rejected: list[Rejected]


class AtelierSourceError(Exception):
    """Whole source unusable: clear English message (malformed iCalendar, not UTF-8, unknown format)."""


class _RowError(ValueError):
    """One entry is unusable; the message is the reason given in Rejected."""


_Located = tuple[str, AtelierRecord]  # (where, record), to report duplicates


# --- entry point -------------------------------------------------------------------------------------------


def parse_ateliers(
    data: bytes,
    name: str,
    *,
    default_place: str | None = None,
    window_start: datetime,
    window_end: datetime,
) -> ParsedAteliers:
    """Parse one source file (or feed) into the ateliers starting in [window_start, window_end)."""
    window = (_aware(window_start, "window_start"), _aware(window_end, "window_end"))
    if window[1] <= window[0]:
        raise ValueError(f"empty window: {window_start.isoformat()} to {window_end.isoformat()}")
    display = _display_name(name)
    text = _decode(data, display)
    kind = _detect_format(text, display)
    default_place = (default_place or "").strip() or None
    if kind == "ical":
        records, rejected = _parse_ical(text, display, default_place, window)
    else:
        rows = _yaml_rows(text, display) if kind == "yaml" else _csv_rows(text, display)
        records, rejected = _parse_rows(rows, default_place, window)
    kept, duplicates = _drop_duplicates(records)
    kept.sort(key=lambda r: (r.start, r.uid))
    return ParsedAteliers(records=kept, rejected=rejected + duplicates)


def _aware(moment: datetime, label: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{label} must be an aware datetime, got {moment!r}")
    return moment.astimezone(PARIS)


def _display_name(name: str) -> str:
    """The file name without a URL's query string or fragment (which may hold a token)."""
    return name.split("#", 1)[0].split("?", 1)[0]


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise AtelierSourceError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line} is invalid; the file is "
            "probably in Windows-1252/Latin-1), so no atelier was read from it. Save it again as UTF-8: "
            "in LibreOffice Calc, 'Save As' > 'Text CSV' > character set 'Unicode (UTF-8)'; "
            "in Excel, 'Save As' > 'CSV UTF-8 (Comma delimited)'"
        ) from None


def _detect_format(text: str, name: str) -> str:
    if text.lstrip()[:15].upper() == "BEGIN:VCALENDAR":
        return "ical"
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if suffix in ICAL_SUFFIXES:
        return "ical"
    if suffix in YAML_SUFFIXES:
        return "yaml"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise AtelierSourceError(
        f"unknown format for {name}: expected a .ics/.ical (iCalendar), .yml/.yaml or .csv file, "
        "or iCalendar content starting with BEGIN:VCALENDAR"
    )


def _drop_duplicates(records: list[_Located]) -> tuple[list[AtelierRecord], list[Rejected]]:
    """Keep the first of records sharing (uid, start): that pair identifies an atelier."""
    first: dict[tuple[str, datetime], str] = {}
    kept: list[AtelierRecord] = []
    rejected: list[Rejected] = []
    for where, record in records:
        key = (record.uid, record.start)
        if key in first:
            rejected.append(Rejected(where, f"duplicate: same id and start as {first[key]}"))
            continue
        first[key] = where
        kept.append(record)
    return kept, rejected


# --- YAML and CSV ------------------------------------------------------------------------------------------


def _field_key(key: object) -> str:
    """'Début ' -> 'debut', 'Capacité' -> 'capacite'."""
    text = unicodedata.normalize("NFKD", str(key)).encode("ascii", "ignore").decode("ascii")
    return text.strip().lower().replace(" ", "_")


def _yaml_rows(text: str, name: str) -> list[tuple[str, Mapping[str, Any] | None]]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AtelierSourceError(f"malformed YAML in {name}: {exc}") from None
    if isinstance(document, dict):
        keys = {_field_key(k): v for k, v in document.items()}
        if "ateliers" not in keys:
            raise AtelierSourceError(f"{name}: expected a list of ateliers, or a mapping with an 'ateliers' list")
        document = keys["ateliers"]
    if document is None:
        document = []
    if not isinstance(document, list):
        raise AtelierSourceError(f"{name}: expected a list of ateliers, got {type(document).__name__}")
    rows: list[tuple[str, Mapping[str, Any] | None]] = []
    for index, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            rows.append((f"entry {index}", None))
            continue
        fields = {_field_key(k): v for k, v in item.items()}
        ident = _text(fields.get("id"))
        rows.append((f"entry {index}" + (f" (id={ident})" if ident else ""), fields))
    return rows


def _csv_rows(text: str, name: str) -> list[tuple[str, Mapping[str, Any] | None]]:
    lines = text.splitlines()
    header = next((line for line in lines if line.strip()), "")
    if not header:
        return []
    delimiter = max((";", ",", "\t"), key=header.count)
    if header.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        table = list(reader)
    except csv.Error as exc:
        raise AtelierSourceError(f"malformed CSV in {name} (line {reader.line_num}): {exc}") from None
    # Keep spreadsheet row numbers: the header is row 1 (blank lines before it included).
    numbered = [(number, cells) for number, cells in enumerate(table, start=1)]
    while numbered and not any(cell.strip() for cell in numbered[0][1]):
        numbered.pop(0)
    if not numbered:
        return []
    columns = [_field_key(cell) for cell in numbered[0][1]]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise AtelierSourceError(
            f"{name}: missing column(s) {', '.join(missing)} in the header "
            f"(found: {', '.join(c for c in columns if c) or 'nothing'}; separator {delimiter!r})"
        )
    rows: list[tuple[str, Mapping[str, Any] | None]] = []
    for number, cells in numbered[1:]:
        if not any(cell.strip() for cell in cells):
            continue
        where = f"row {number}"
        if len(cells) > len(columns):  # most often a separator inside an unquoted field: values are shifted
            error = (
                f"{len(cells)} cells but {len(columns)} columns in the header (quote fields containing {delimiter!r})"
            )
            rows.append((where, {"_error": error}))
            continue
        rows.append((where, {column: cell for column, cell in zip(columns, cells, strict=False) if column}))
    return rows


def _parse_rows(
    rows: Iterable[tuple[str, Mapping[str, Any] | None]],
    default_place: str | None,
    window: tuple[datetime, datetime],
) -> tuple[list[_Located], list[Rejected]]:
    records: list[_Located] = []
    rejected: list[Rejected] = []
    for where, fields in rows:
        try:
            record = _row_record(fields, default_place)
        except _RowError as exc:
            rejected.append(Rejected(where, str(exc)))
            continue
        if window[0] <= record.start < window[1]:
            records.append((where, record))
    return records, rejected


def _row_record(fields: Mapping[str, Any] | None, default_place: str | None) -> AtelierRecord:
    if fields is None:
        raise _RowError("entry is not a mapping of fields")
    if "_error" in fields:
        raise _RowError(str(fields["_error"]))
    uid = _text(fields.get("id"))
    if not uid:
        raise _RowError("no id")
    title = _text(fields.get("titre"))
    if not title:
        raise _RowError("no title (titre)")
    start = _row_datetime(fields.get("debut"), "start", "debut")
    end = _row_datetime(fields.get("fin"), "end", "fin")
    _check_span(start, end)
    return AtelierRecord(
        uid=uid,
        start=start,
        end=end,
        title=title,
        place_id=_text(fields.get("lieu")) or default_place,
        theme=_text(fields.get("theme")),
        description=_text(fields.get("description"), single_line=False),
        conseiller=_person(_text(fields.get("conseiller"))),
        capacity=_capacity(fields.get("capacite")),
        public=_text(fields.get("public")),
        accessibility=_text(fields.get("accessibilite")),
        cancelled=_yes_no(fields.get("annule")),
    )


def _text(value: object, *, single_line: bool = True) -> str:
    if value is None or isinstance(value, bool):
        return ""
    text = str(value).strip()
    return " ".join(text.split()) if single_line else text


def _row_datetime(value: object, what: str, field: str) -> datetime:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _RowError(f"no {what} date ({field})")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        raise _RowError(f"{field} has a date but no time")
    elif isinstance(value, str):
        raw = value.strip()
        try:
            date.fromisoformat(raw)
        except ValueError:
            pass
        else:
            raise _RowError(f"{field} has a date but no time")
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise _RowError(f"{field} is not an ISO 8601 date-time (e.g. 2026-09-08T14:00): {raw[:40]!r}") from None
    else:
        raise _RowError(f"{field} is not an ISO 8601 date-time (e.g. 2026-09-08T14:00): {value!r}")
    return _to_paris(moment)


def _to_paris(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=PARIS)
    return moment.astimezone(PARIS)


def _check_span(start: datetime, end: datetime) -> None:
    if end < start:
        raise _RowError("end before start")
    if end == start:
        raise _RowError("end equals start")


def _capacity(value: object) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number <= 0:
        raise _RowError(f"capacity is not a positive number: {str(value)[:40]!r}")
    return number


def _yes_no(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    word = _field_key(value)
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _RowError(f"annule is not yes/no (oui/non, true/false): {str(value)[:40]!r}")


def _person(name: str) -> str:
    """A conseiller's name, never an e-mail address (which is dropped)."""
    return "" if _EMAIL.search(name) else name


# --- iCalendar ---------------------------------------------------------------------------------------------

# Properties whose value the recurrence expansion needs; a broken one makes the whole series unusable.
_STRUCTURAL = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")
_TOO_FREQUENT = frozenset({"SECONDLY", "MINUTELY"})


def _parse_ical(
    text: str, name: str, default_place: str | None, window: tuple[datetime, datetime]
) -> tuple[list[_Located], list[Rejected]]:
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as exc:
        raise AtelierSourceError(f"malformed iCalendar in {name}: {_short(exc)}") from None
    if not calendars:
        raise AtelierSourceError(f"malformed iCalendar in {name}: no BEGIN:VCALENDAR ... END:VCALENDAR found")
    records: list[_Located] = []
    rejected: list[Rejected] = []
    for calendar in calendars:
        if calendar.name != "VCALENDAR":
            raise AtelierSourceError(
                f"malformed iCalendar in {name}: top-level {calendar.name} where a VCALENDAR is expected"
            )
        for series in _series(calendar, rejected):
            try:
                _expand_series(calendar, series, default_place, window, records, rejected)
            except Exception as exc:  # an odd event (a property given twice...) must not sink the others
                rejected.append(Rejected(f"event {series.uid}", f"unreadable event: {_short(exc)}"))
    return records, rejected


@dataclass
class _Series:
    uid: str
    master: icalendar.cal.Component | None
    overrides: list[icalendar.cal.Component]

    @property
    def components(self) -> list[icalendar.cal.Component]:
        return ([self.master] if self.master is not None else []) + self.overrides


def _series(calendar: icalendar.cal.Component, rejected: list[Rejected]) -> list[_Series]:
    """The calendar's VEVENTs grouped by UID: the master event and its RECURRENCE-ID overrides."""
    by_uid: dict[str, _Series] = {}
    for index, event in enumerate(calendar.walk("VEVENT"), start=1):
        uid = _text(event.get("UID"))
        if not uid:
            summary = _text(event.get("SUMMARY"))
            rejected.append(Rejected(f"event #{index}" + (f" ({summary[:60]})" if summary else ""), "no UID"))
            continue
        series = by_uid.setdefault(uid, _Series(uid, None, []))
        if "RECURRENCE-ID" in event:
            series.overrides.append(event)
        elif series.master is None:
            series.master = event
        else:
            rejected.append(Rejected(f"event {uid}", "several events share this UID (extra ones ignored)"))
    return list(by_uid.values())


def _expand_series(
    calendar: icalendar.cal.Component,
    series: _Series,
    default_place: str | None,
    window: tuple[datetime, datetime],
    records: list[_Located],
    rejected: list[Rejected],
) -> None:
    where = f"event {series.uid}"
    for component in series.components:
        reason = _structural_problem(component)
        if reason:
            rejected.append(Rejected(where, reason))
            return
    # Expand this series alone, so that one broken series does not take the others down.
    single = icalendar.Calendar()
    for key, value in calendar.items():
        single[key] = value
    for timezone in calendar.walk("VTIMEZONE"):
        single.add_component(timezone)
    for component in series.components:
        single.add_component(component)
    try:
        occurrences = recurring_ical_events.of(single).between(window[0], window[1])
    except Exception as exc:
        rejected.append(Rejected(where, f"cannot compute the occurrences: {_short(exc)}"))
        return
    overrides = {_recurrence_key(o.get("RECURRENCE-ID")): o for o in series.overrides}
    for occurrence in occurrences:
        source = overrides.get(_recurrence_key(occurrence.get("RECURRENCE-ID"))) or series.master
        if source is None:  # an override of an event that is not in the feed: it stands alone
            source = occurrence
        at = f"{where} at {_label(occurrence.get('DTSTART').dt)}"
        try:
            record = _occurrence_record(series, occurrence, source, default_place)
        except _RowError as exc:
            rejected.append(Rejected(at, str(exc)))
            continue
        except Exception as exc:
            rejected.append(Rejected(at, f"unreadable event: {_short(exc)}"))
            continue
        if window[0] <= record.start < window[1]:
            records.append((at, record))


def _label(moment: date) -> str:
    if isinstance(moment, datetime):
        return _to_paris(moment).strftime(_WHERE_TIME)
    return moment.isoformat()


def _recurrence_key(prop: Any) -> object:
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(PARIS)
    return value


def _structural_problem(event: icalendar.cal.Component) -> str | None:
    for prop, message in event.errors:
        if prop in _STRUCTURAL:
            return f"invalid {prop}: {_short(message)}"
    if "DTSTART" not in event:
        return "no start date (DTSTART)"
    for prop in ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID"):
        if isinstance(event.get(prop), list):
            return f"{prop} given more than once"
    if isinstance(event["DTSTART"].dt, datetime) and _has_date_only(event.get("RDATE")):
        return "RDATE has a date without time"
    if _too_frequent(event):
        return "recurrence more frequent than hourly: not an atelier schedule"
    return None


def _has_date_only(rdates: Any) -> bool:
    for group in rdates if isinstance(rdates, list) else [rdates]:
        for value in getattr(group, "dts", []):
            moment = getattr(value, "dt", None)
            if isinstance(moment, date) and not isinstance(moment, datetime):
                return True
    return False


def _too_frequent(event: icalendar.cal.Component) -> bool:
    """A rule repeating every minute or second would take minutes to expand over the window."""
    rules = event.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules]:
        if not isinstance(rule, Mapping):
            continue
        if any(str(freq).upper() in _TOO_FREQUENT for freq in rule.get("FREQ", [])):
            return True
        if len(rule.get("BYMINUTE", [])) > 4 or len(rule.get("BYSECOND", [])) > 1:
            return True
    return False


def _occurrence_record(
    series: _Series,
    occurrence: icalendar.cal.Component,
    source: icalendar.cal.Component,
    default_place: str | None,
) -> AtelierRecord:
    start_value = source.get("DTSTART").dt
    if not isinstance(start_value, datetime):
        raise _RowError("all-day event: no time")
    if "DTEND" not in source and "DURATION" not in source:
        raise _RowError("no end time (DTEND or DURATION)")
    if "DTEND" in source:
        end_value = source.get("DTEND").dt
        if not isinstance(end_value, datetime):
            raise _RowError("DTEND is a date without time")
        # recurring-ical-events silently swaps an end before the start: check the source event.
        if _comparable(end_value) < _comparable(start_value):
            raise _RowError("end before start")
    elif source.get("DURATION").dt < timedelta(0):
        raise _RowError("end before start (negative DURATION)")
    for prop in ("DTSTART", "DTEND"):
        if prop in source and "TZID" in source[prop].params and source[prop].dt.tzinfo is None:
            raise _RowError(f"unknown time zone {source[prop].params['TZID']!r} in {prop}")
    start = _to_paris(occurrence.get("DTSTART").dt)
    end = _to_paris(occurrence.get("DTEND").dt)
    _check_span(start, end)

    def get(prop: str) -> Any:
        value = occurrence.get(prop)
        if value is None and series.master is not None and source is not series.master:
            value = series.master.get(prop)
        return value

    title = _ical_text(get("SUMMARY"))
    if not title:
        raise _RowError("no title (SUMMARY)")
    return AtelierRecord(
        uid=series.uid,
        start=start,
        end=end,
        title=title,
        place_id=_ical_text(get("X-PASSERELLE-LIEU")) or default_place,
        theme=_first_category(get("CATEGORIES")),
        description=_ical_text(get("DESCRIPTION"), single_line=False),
        conseiller=_organizer_name(get("ORGANIZER")),
        capacity=_capacity(_ical_text(get("X-PASSERELLE-CAPACITE")) or None),
        public=_ical_text(get("X-PASSERELLE-PUBLIC")),
        accessibility=_ical_text(get("X-PASSERELLE-ACCESSIBILITE")),
        cancelled=_ical_text(get("STATUS")).upper() == "CANCELLED",
    )


def _comparable(moment: datetime) -> datetime:
    return moment.replace(tzinfo=PARIS) if moment.tzinfo is None else moment


def _ical_text(value: Any, *, single_line: bool = True) -> str:
    """A TEXT value. icalendar unescapes known properties but leaves X- properties escaped ("a\\, b")."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return ""
    text = str(value)
    if not isinstance(value, icalendar.vText):
        text = _ICAL_TEXT_ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)
    return _text(text, single_line=single_line)


def _first_category(value: Any) -> str:
    groups = value if isinstance(value, list) else [value]
    for group in groups:
        for category in getattr(group, "cats", []):
            text = _text(category)
            if text:
                return text
    return ""


def _organizer_name(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return ""
    params: Mapping[str, str] = getattr(value, "params", {})
    return _person(_text(params.get("CN")))


def _short(error: object, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
