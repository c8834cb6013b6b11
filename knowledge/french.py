"""French text: folded for matching (lower case, no accents), and dates and times written the French way for what
citizens read ("jeudi 10 décembre à 14 h 30")."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def fold(text: str) -> str:
    """Lower case, accents removed: what text is compared on."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def clock(moment: datetime) -> str:
    """'9 h', '17 h 30' (Paris time)."""
    local = moment.astimezone(PARIS)
    return f"{local.hour} h" if local.minute == 0 else f"{local.hour} h {local.minute:02d}"


def day(value: date | datetime) -> str:
    """'jeudi 10 décembre', '1er janvier' style: 'vendredi 1er janvier'."""
    local = value.astimezone(PARIS).date() if isinstance(value, datetime) else value
    return f"{WEEKDAYS[local.weekday()]} {day_and_month(local)}"


def day_and_month(value: date, *, year: bool = False) -> str:
    """'2 mars', '1er mars', '2 mars 2026'."""
    number = "1er" if value.day == 1 else str(value.day)
    return f"{number} {MONTHS[value.month - 1]}" + (f" {value.year}" if year else "")


def relative_day(value: datetime, now: datetime) -> str:
    """'aujourd'hui', 'demain', 'mardi' (within a week) or 'le lundi 4 janvier'."""
    target, today = value.astimezone(PARIS).date(), now.astimezone(PARIS).date()
    gap = (target - today).days
    if gap == 0:
        return "aujourd'hui"
    if gap == 1:
        return "demain"
    if 1 < gap < 7:
        return WEEKDAYS[target.weekday()]
    return f"le {day(target)}"


def when(start: datetime, end: datetime | None = None) -> str:
    """'jeudi 10 décembre, de 14 h à 16 h' or 'jeudi 10 décembre à 14 h'."""
    if end is None:
        return f"{day(start)} à {clock(start)}"
    return f"{day(start)}, de {clock(start)} à {clock(end)}"


def short_day(moment: datetime) -> str:
    """'mar. 8' (for buttons)."""
    local = moment.astimezone(PARIS)
    return f"{WEEKDAYS[local.weekday()][:3]}. {local.day}"
