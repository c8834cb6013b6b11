"""An editor's report on the fiches: every checkable claim a citizen reads, and the source that backs it.

For each fiche, `audit_fiche` finds in the text a citizen reads (title, En bref, steps, what to prepare,
pitfalls, link labels and URLs) the phone numbers, e-mail addresses, prices, deadlines and durations, opening
hours and web addresses, and looks for a source of the front matter whose `fact` (or `url`, for a web address)
contains the same item. An item with no such source is UNBACKED: an editor re-checks it on the official page
and adds the source, or fixes the fiche. Fiches whose `reviewed` date is older than a number of months are
flagged too.

This is a report for people, not a test: it depends on the date it is given (`today`), and the extraction is a
heuristic tuned to the way the fiches are written (French, short sentences). Items are compared normalised:
phone numbers as digits, web addresses without scheme nor "www.", durations as number and unit, dates by day,
month and year.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from knowledge.fiches import Fiche, FicheError, Source, load_fiches

DEFAULT_MAX_AGE_MONTHS = 12


class Kind(StrEnum):
    """What a claim is about."""

    PHONE = "phone"
    EMAIL = "email"
    PRICE = "price"
    DEADLINE = "deadline"
    HOURS = "hours"
    WEB = "web"


@dataclass(frozen=True)
class Item:
    """A checkable item found in a text: its kind, its normalised key, the text as written and where it is."""

    kind: Kind
    key: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Claim:
    """One distinct item of a fiche, the places where it is written, and the URLs of the sources that back it."""

    kind: Kind
    key: str
    text: str
    where: tuple[str, ...]
    backed_by: tuple[str, ...]

    @property
    def backed(self) -> bool:
        return bool(self.backed_by)


@dataclass(frozen=True)
class FicheAudit:
    id: str
    reviewed: date
    stale: bool
    claims: tuple[Claim, ...]

    @property
    def unbacked(self) -> tuple[Claim, ...]:
        return tuple(claim for claim in self.claims if not claim.backed)


@dataclass(frozen=True)
class AuditReport:
    today: date
    max_age_months: int
    stale_before: date
    fiches: tuple[FicheAudit, ...]

    @property
    def claim_count(self) -> int:
        return sum(len(fiche.claims) for fiche in self.fiches)

    @property
    def unbacked_count(self) -> int:
        return sum(len(fiche.unbacked) for fiche in self.fiches)

    @property
    def stale_ids(self) -> tuple[str, ...]:
        return tuple(fiche.id for fiche in self.fiches if fiche.stale)


# --- Extraction -------------------------------------------------------------------------------------------------

_MONTHS = {
    "janvier": 1,
    "février": 2,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "août": 8,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "décembre": 12,
    "decembre": 12,
}
_MONTH = "|".join(_MONTHS)
_WEEKDAY = "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
_NUMBER_WORDS = {
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "quinze": 15,
    "vingt": 20,
    "trente": 30,
    "quarante-huit": 48,
    "quarante": 40,
    "soixante": 60,
}
_UNIT_PREFIXES = (
    ("min", ("min", "min")),
    ("mo", ("mois", "mois")),
    ("an", ("an", "ans")),
    ("h", ("h", "h")),
    ("j", ("jour", "jours")),
    ("s", ("semaine", "semaines")),
)
"""The unit of a duration as written ("heures", "h", "années"...), by its first letters: its canonical names."""
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_TLD = r"(?:fr|com|org|net|eu|info)"

_EMAIL = re.compile(rf"(?<![\w.+-])[\w.+-]+@(?:{_LABEL}\.)+{_TLD}(?![\w-])", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>()\"«»]+", re.IGNORECASE)
_DOMAIN = re.compile(
    rf"(?<![\w@/.-])\.?(?:{_LABEL}\.)+{_TLD}(?:/[\w\-./%]*)?(?![\w@-])",
    re.IGNORECASE,
)
_LONG_PHONE = re.compile(r"(?<![\w+])(?:\+33[ .]?(?:\(0\)[ .]?)?|0[ .-]?)[1-9](?:[ .-]?\d){8}(?!\d)")
_TIME = r"(\d{1,2})\s?h\s?(\d{2})?"
_HOURS_RANGE = re.compile(rf"\bde\s+{_TIME}\s*à\s+{_TIME}(?!\w)", re.IGNORECASE)
_ROUND_THE_CLOCK = re.compile(r"(?<!\w)(\d{1,2})\s?(h|heures?|j|jours?)\s?(?:/|sur)\s?(\d{1,2})(?!\w)", re.IGNORECASE)
_DAY_RANGE = re.compile(rf"\bdu\s+({_WEEKDAY})\s+au\s+({_WEEKDAY})\b", re.IGNORECASE)
_CLOCK = re.compile(r"(?<!\w)\d{1,2}\s?h\s?\d{2}(?!\w)|\bà\s+\d{1,2}\s?h(?!\w)", re.IGNORECASE)
_FULL_DATE = re.compile(rf"(?<!\w)(1er|\d{{1,2}})\s+({_MONTH})(?:\s+(\d{{4}}))?(?!\w)", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"(?<![\w/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\w/])")
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\s+(\d{{4}})(?!\w)", re.IGNORECASE)
_DAY_DEADLINE = re.compile(
    r"\b(?:avant|après|jusqu'au|au plus tard|dès|à partir du)\s+(?:le\s+)?(1er|\d{1,2})"
    r"(?!\w|\s*(?:h\b|heures?|jours?|semaines?|mois|ans?\b|années?|€|%|euros?))",
    re.IGNORECASE,
)
_YEAR_DEADLINE = re.compile(
    r"\b(?:depuis|dès|avant|après|jusqu'en|à partir de|en)\s+((?:19|20)\d{2})(?!\w)", re.IGNORECASE
)
_AMOUNT = re.compile(r"(?<![\w,.])(\d{1,3}(?:[ .]\d{3})+|\d+)(?:,(\d{1,2}))?\s?(?:€|euros?\b|EUR\b)", re.IGNORECASE)
_PERCENT = re.compile(r"(?<![\w,.])(\d+(?:,\d+)?)\s?%")
_FREE = re.compile(r"\bgratuit(?:e|s|es|ement)?\b", re.IGNORECASE)
_CALL_PRICE = re.compile(r"\bprix\s+(?:d'un|de l')\s*appel(?:\s+local)?\b", re.IGNORECASE)
_NOT_SURCHARGED = re.compile(r"\bnon[\s-]surtax[ée]e?s?\b", re.IGNORECASE)
_NUMBER_WORD = "|".join(_NUMBER_WORDS)
_DURATION = re.compile(
    rf"(?<!\w)(\d+|{_NUMBER_WORD})\s?(minutes?|min|heures?|h|jours?|j|semaines?|mois|ans?|années?)(?![\w/])",
    re.IGNORECASE,
)
_DURATION_CUE = re.compile(
    r"\b(?:sous|dans|en|entre|pendant|durant|moins d'|plus d'|au bout d'|après|avant|depuis|d'|pour|il y a)\s*$",
    re.IGNORECASE,
)
_SHORT_NUMBER = re.compile(r"(?<![\w.,/+-])(?:\d{2} \d{2,3}|\d{2,6})(?![\w/@-]|[.,]\d|\.[a-z])", re.IGNORECASE)
_SHORT_NUMBER_PLAN = re.compile(r"1\d|1\d\d|10\d\d|3\d{3}|[3-8]\d{4}|11[68]\d{3}")
"""The French short numbers: emergency and social numbers (15, 17, 112, 119, 116 000), 3BPQ and 10XY services,
and the 5-digit SMS short codes (33700)."""
_PHONE_CUE_BEFORE = re.compile(
    r"(?:\b(?:appel\w*|compos\w*|contact\w*|joindre|joignable|rappel\w*|sms|num[ée]ros?|t[ée]l[ée]phone|t[ée]l)"
    r"\s*(?:le|au|du|:)?|\b(?:le|au|du))\s*$",
    re.IGNORECASE,
)
_PHONE_CUE_AFTER = re.compile(r"^(?:\s*(?:,|et|ou)\s*(?:le\s+)?\d{2,6})*\s*:\s*num[ée]ros?\b", re.IGNORECASE)
_DATE_CUE_BEFORE = re.compile(
    r"\b(?:avant|après|jusqu'au|depuis|dès|à partir du|entre|au plus tard)\s+(?:le\s+)?$", re.IGNORECASE
)
_NOT_A_PHONE_AFTER = re.compile(
    rf"^\s*(?:€|%|/|euros?\b|h\b|heures?\b|min\b|minutes?\b|jours?\b|j\b|semaines?\b|mois\b|ans?\b|années?\b"
    rf"|km\b|kg\b|go\b|mo\b|caractères\b|chiffres\b|pages?\b|fois\b|personnes\b|(?:{_MONTH})\b"
    rf"|(?:de|du)\s+(?:chaque\s+|ce\s+)?mois\b|(?:au|à)\s+\d)",
    re.IGNORECASE,
)
_POSTCODE_AFTER = re.compile(r"^\s+[A-ZÀ-Ý][a-zà-ÿ-]+")


def normalise_text(text: str) -> str:
    """Unify the spaces and apostrophes of typeset French so that the patterns see one form."""
    for char in "\u00a0\u202f\u2009":
        text = text.replace(char, " ")
    return text.replace("\u2019", "'")


def web_key(address: str) -> str:
    """A web address without scheme, "www.", query, fragment or trailing slash; the host in lower case."""
    address = address.strip().rstrip(".,;:!?")
    if "://" not in address:
        address = f"https://{address.lstrip('.')}"
    parts = urlsplit(address)
    host = (parts.hostname or "").lower().rstrip(".")
    host = host.removeprefix("www.")
    return f"{host}{parts.path.rstrip('/.')}"


def _emails(text: str) -> Iterator[Item]:
    for match in _EMAIL.finditer(text):
        yield Item(Kind.EMAIL, match[0].lower(), match[0], match.start(), match.end())


def _web(text: str) -> Iterator[Item]:
    for pattern in (_URL, _DOMAIN):
        for match in pattern.finditer(text):
            written = match[0].rstrip(".,;:!?")
            yield Item(Kind.WEB, web_key(written), written, match.start(), match.start() + len(written))


def _long_phones(text: str) -> Iterator[Item]:
    for match in _LONG_PHONE.finditer(text):
        digits = re.sub(r"\D", "", match[0])
        key = f"0{digits[-9:]}" if match[0].startswith("+") else digits
        yield Item(Kind.PHONE, key, match[0], match.start(), match.end())


def _hours(text: str) -> Iterator[Item]:
    for match in _HOURS_RANGE.finditer(text):
        key = f"{_clock(match[1], match[2])}-{_clock(match[3], match[4])}"
        yield Item(Kind.HOURS, key, match[0], match.start(), match.end())
    for match in _ROUND_THE_CLOCK.finditer(text):
        unit = "h" if match[2].lower().startswith("h") else "j"
        yield Item(Kind.HOURS, f"{match[1]}{unit}/{match[3]}", match[0], match.start(), match.end())
    for match in _DAY_RANGE.finditer(text):
        yield Item(Kind.HOURS, f"{match[1].lower()}-{match[2].lower()}", match[0], match.start(), match.end())


def _clock(hour: str, minutes: str | None) -> str:
    return f"{int(hour)}h{minutes}" if minutes and minutes != "00" else f"{int(hour)}h"


def _clock_times(text: str) -> Iterator[Item]:
    """Times of day outside a range ("8h30", "à 19h"): not durations, and not reported."""
    for match in _CLOCK.finditer(text):
        yield Item(Kind.HOURS, "", match[0], match.start(), match.end())


def date_key(day: int | None, month: int | None, year: int | None) -> str:
    """A date, or a part of one, as "date:D/M/Y" with "-" for an unknown part."""
    parts = (str(part) if part else "-" for part in (day, month, year))
    return "date:" + "/".join(parts)


def _dates(text: str) -> Iterator[Item]:
    for match in _FULL_DATE.finditer(text):
        year = int(match[3]) if match[3] else None
        key = date_key(_day(match[1]), _MONTHS[match[2].lower()], year)
        yield Item(Kind.DEADLINE, key, match[0], match.start(), match.end())
    for match in _NUMERIC_DATE.finditer(text):
        key = date_key(int(match[1]), int(match[2]), int(match[3]))
        yield Item(Kind.DEADLINE, key, match[0], match.start(), match.end())
    for match in _MONTH_YEAR.finditer(text):
        key = date_key(None, _MONTHS[match[1].lower()], int(match[2]))
        yield Item(Kind.DEADLINE, key, match[0], match.start(), match.end())
    for match in _DAY_DEADLINE.finditer(text):
        yield Item(Kind.DEADLINE, date_key(_day(match[1]), None, None), match[0], match.start(), match.end())
    for match in _YEAR_DEADLINE.finditer(text):
        yield Item(Kind.DEADLINE, date_key(None, None, int(match[1])), match[0], match.start(), match.end())


def _day(text: str) -> int:
    return 1 if text.lower() == "1er" else int(text)


def _prices(text: str) -> Iterator[Item]:
    for match in _AMOUNT.finditer(text):
        units = re.sub(r"\D", "", match[1])
        cents = (match[2] or "").rstrip("0")
        key = f"{int(units)},{cents} €" if cents else f"{int(units)} €"
        yield Item(Kind.PRICE, key, match[0], match.start(), match.end())
    for match in _PERCENT.finditer(text):
        yield Item(Kind.PRICE, f"{match[1]} %", match[0], match.start(), match.end())
    for pattern, key in ((_FREE, "gratuit"), (_CALL_PRICE, "prix d'un appel"), (_NOT_SURCHARGED, "non surtaxé")):
        for match in pattern.finditer(text):
            yield Item(Kind.PRICE, key, match[0], match.start(), match.end())


def _durations(text: str) -> Iterator[Item]:
    for match in _DURATION.finditer(text):
        number = match[1].lower()
        if number in ("un", "une") and not _DURATION_CUE.search(text[: match.start()]):
            continue  # "un jour", "une semaine de plus": not a stated duration
        count = int(number) if number.isdigit() else _NUMBER_WORDS[number]
        singular, plural = _duration_unit(match[2])
        key = f"{count} {singular if count == 1 else plural}"
        yield Item(Kind.DEADLINE, key, match[0], match.start(), match.end())


def _duration_unit(written: str) -> tuple[str, str]:
    word = written.lower()
    return next(names for prefix, names in _UNIT_PREFIXES if word.startswith(prefix))


def _short_phones(text: str) -> Iterator[Item]:
    for match in _SHORT_NUMBER.finditer(text):
        digits = match[0].replace(" ", "")
        if _is_short_phone(text, match.start(), match.end(), digits):
            yield Item(Kind.PHONE, digits, match[0], match.start(), match.end())


def _is_short_phone(text: str, start: int, end: int, digits: str) -> bool:
    """A short number is a phone number when the numbering plan allows it and the words around introduce it."""
    before, after = text[max(0, start - 40) : start], text[end:]
    if not _SHORT_NUMBER_PLAN.fullmatch(digits) or _NOT_A_PHONE_AFTER.match(after):
        return False
    if _DATE_CUE_BEFORE.search(before) or (len(digits) == 5 and _POSTCODE_AFTER.match(after)):
        return False
    return bool(_PHONE_CUE_BEFORE.search(before) or _PHONE_CUE_AFTER.match(after))


_EXTRACTORS: tuple[Callable[[str], Iterable[Item]], ...] = (
    _emails,
    _web,
    _long_phones,
    _hours,
    _clock_times,
    _dates,
    _prices,
    _durations,
    _short_phones,
)
"""In order of precedence: an item never overlaps one found by an earlier extractor ("3018.fr" is an address,
not a phone number; "avant le 15" a deadline; "de 9 h à 23 h" opening hours, not two durations)."""


def extract_items(text: str) -> list[Item]:
    """Every checkable item of a text, in the order they are written."""
    text = normalise_text(text)
    taken: list[Item] = []
    for extract in _EXTRACTORS:
        for item in extract(text):
            if not any(item.start < other.end and other.start < item.end for other in taken):
                taken.append(item)
    return sorted((item for item in taken if item.key), key=lambda item: item.start)


# --- Sources ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SourceIndex:
    """The items of one source, ready to be compared with a claim."""

    url: str
    url_key: str
    keys: dict[Kind, frozenset[str]] = field(default_factory=dict)
    digit_runs: frozenset[str] = frozenset()


def _index_source(source: Source) -> _SourceIndex:
    fact = normalise_text(source.fact)
    keys: dict[Kind, set[str]] = {kind: set() for kind in Kind}
    for item in extract_items(fact):
        keys[item.kind].add(item.key)
    return _SourceIndex(
        url=source.url,
        url_key=web_key(source.url),
        keys={kind: frozenset(found) for kind, found in keys.items()},
        digit_runs=_digit_runs(fact),
    )


def _digit_runs(text: str) -> frozenset[str]:
    """Every number of a text, alone and joined to its neighbours across single separators ("33 700", "36 46")."""
    runs = {re.sub(r"\D", "", run) for run in re.findall(r"\d+(?:[ .-]\d+)*", text)}
    return frozenset(runs | set(re.findall(r"\d+", text)))


def _backs(source: _SourceIndex, kind: Kind, key: str) -> bool:
    if kind is Kind.PHONE:
        return key in source.digit_runs or key in source.keys[kind]
    if kind is Kind.WEB:
        return _backs_address(source, key)
    if kind is Kind.DEADLINE and key.startswith("date:"):
        return any(_same_date(key, other) for other in source.keys[kind] if other.startswith("date:"))
    return key in source.keys[kind]


def _backs_address(source: _SourceIndex, key: str) -> bool:
    """The source page is the address, or is on that site (for a bare domain), or its fact writes the address."""
    host, slash, _path = key.partition("/")
    if source.url_key == key or source.url_key.startswith(f"{key}/"):
        return True
    source_host = source.url_key.partition("/")[0]
    if not slash and (source_host == host or source_host.endswith(f".{host}")):
        return True
    return any(other == key or (not slash and other.partition("/")[0] == host) for other in source.keys[Kind.WEB])


def _same_date(claim: str, source: str) -> bool:
    """Whether every part of the claimed date (day, month, year) is the same in the source's date."""
    claimed, found = claim[5:].split("/"), source[5:].split("/")
    return all(part == "-" or part == other for part, other in zip(claimed, found, strict=True))


# --- Audit ------------------------------------------------------------------------------------------------------


def reader_texts(fiche: Fiche) -> list[tuple[str, str]]:
    """The texts a citizen reads, each with the place an editor finds it in the file."""
    texts = [("title", fiche.title), ("En bref", fiche.short_answer)]
    for section, items in (("Étapes", fiche.steps), ("À préparer", fiche.prepare), ("Pièges à éviter", fiche.pitfalls)):
        texts.extend((f"{section} {number}", item) for number, item in enumerate(items, start=1))
    for number, link in enumerate(fiche.links, start=1):
        texts.extend(((f"link {number}", link.label), (f"link {number}", link.url)))
    return texts


def months_before(day: date, months: int) -> date:
    """The same day `months` months earlier (the last day of the month when it is shorter)."""
    year, month_index = divmod(day.year * 12 + day.month - 1 - months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def audit_fiche(fiche: Fiche, today: date, max_age_months: int = DEFAULT_MAX_AGE_MONTHS) -> FicheAudit:
    """The claims of one fiche, backed or not, and whether its review is older than `max_age_months`."""
    sources = [_index_source(source) for source in fiche.sources]
    found: dict[tuple[Kind, str], tuple[str, list[str]]] = {}
    for where, text in reader_texts(fiche):
        for item in extract_items(text):
            _written, places = found.setdefault((item.kind, item.key), (item.text, []))
            if where not in places:
                places.append(where)
    claims = tuple(
        Claim(
            kind=kind,
            key=key,
            text=written,
            where=tuple(places),
            backed_by=tuple(dict.fromkeys(source.url for source in sources if _backs(source, kind, key))),
        )
        for (kind, key), (written, places) in found.items()
    )
    stale = fiche.reviewed < months_before(today, max_age_months)
    return FicheAudit(id=fiche.id, reviewed=fiche.reviewed, stale=stale, claims=claims)


def audit_fiches(fiches: Iterable[Fiche], today: date, max_age_months: int = DEFAULT_MAX_AGE_MONTHS) -> AuditReport:
    audits = tuple(audit_fiche(fiche, today, max_age_months) for fiche in fiches)
    return AuditReport(today, max_age_months, months_before(today, max_age_months), audits)


def audit_directory(directory: Path, today: date, max_age_months: int = DEFAULT_MAX_AGE_MONTHS) -> AuditReport:
    if not directory.is_dir():
        raise FicheError(f"{directory}: not a folder of fiches")
    return audit_fiches(load_fiches(directory).values(), today, max_age_months)


# --- Output -----------------------------------------------------------------------------------------------------


def render_text(report: AuditReport) -> str:
    """One block per fiche, one line per claim, and a summary line."""
    lines = [
        f"Fiche audit of {report.today.isoformat()}: fiches reviewed before {report.stale_before.isoformat()} "
        f"(over {report.max_age_months} months) are à revoir / STALE",
        "",
    ]
    for fiche in report.fiches:
        lines.extend(_fiche_lines(fiche))
        lines.append("")
    lines.append(summary_line(report))
    return "\n".join(lines)


def _fiche_lines(fiche: FicheAudit) -> list[str]:
    flag = " — à revoir (STALE)" if fiche.stale else ""
    lines = [f"{fiche.id} — reviewed {fiche.reviewed.isoformat()}{flag}"]
    if not fiche.claims:
        lines.append("  (no checkable claim)")
    for claim in fiche.claims:
        if claim.backed:
            more = f" (+{len(claim.backed_by) - 1})" if len(claim.backed_by) > 1 else ""
            status = f"{claim.backed_by[0]}{more}"
        else:
            status = "UNBACKED"
        lines.append(f"  {claim.kind:<8} {claim.text:<28} {status}  [{', '.join(claim.where)}]")
    return lines


def summary_line(report: AuditReport) -> str:
    stale = f" ({', '.join(report.stale_ids)})" if report.stale_ids else ""
    return (
        f"Summary: {len(report.fiches)} fiches, {report.claim_count} claims, "
        f"{report.unbacked_count} unbacked claims, {len(report.stale_ids)} stale fiches{stale}"
    )


def report_dict(report: AuditReport) -> dict[str, object]:
    """The report as plain data (the JSON format)."""
    return {
        "today": report.today.isoformat(),
        "max_age_months": report.max_age_months,
        "stale_before": report.stale_before.isoformat(),
        "fiches": [
            {
                "id": fiche.id,
                "reviewed": fiche.reviewed.isoformat(),
                "stale": fiche.stale,
                "claims": [
                    {
                        "kind": str(claim.kind),
                        "text": claim.text,
                        "key": claim.key,
                        "where": list(claim.where),
                        "status": "backed" if claim.backed else "UNBACKED",
                        "backed_by": list(claim.backed_by),
                    }
                    for claim in fiche.claims
                ],
            }
            for fiche in report.fiches
        ],
        "summary": {
            "fiches": len(report.fiches),
            "claims": report.claim_count,
            "unbacked_claims": report.unbacked_count,
            "stale_fiches": len(report.stale_ids),
            "stale_ids": list(report.stale_ids),
        },
    }


def render_json(report: AuditReport) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2)
