"""Loan periods in French free text: ranges, durations, weeks, week-ends, months and single days, read relative to
the day they are said and preferring the future; reasons when there is no period."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from knowledge.loans.periods import Period, explain_period, parse_period

WEDNESDAY = date(2026, 12, 2)
"""Wednesday 2 December 2026: most phrasings are read on this day."""
END_OF_FEBRUARY = date(2027, 2, 25)
"""Thursday 25 February 2027: months and years to cross."""


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


PERIODS = [
    # Ranges
    ("du 3 au 10 mars", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("du 28 décembre au 4 janvier", WEDNESDAY, d(12, 28), d(1, 4, 2027)),
    ("du lundi au vendredi", WEDNESDAY, d(12, 7), d(12, 11)),
    ("du 3/03 au 10/03", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("du 3.03 au 10.03", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("du 3/03/27 au 10/03/27", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("entre le 3 et le 10 mars", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("du 5 au 12", WEDNESDAY, d(12, 5), d(12, 12)),
    ("du 28 au 3", WEDNESDAY, d(12, 28), d(1, 3, 2027)),
    ("du 3 jusqu'au 10 mars", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("à partir du 3 jusqu'au 10 mars", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("de demain à vendredi", WEDNESDAY, d(12, 3), d(12, 4)),
    ("du lundi 7 au vendredi 11 décembre", WEDNESDAY, d(12, 7), d(12, 11)),
    ("du 15/12 au 2/01", WEDNESDAY, d(12, 15), d(1, 2, 2027)),
    ("du 28 décembre 2026 au 4 janvier 2027", WEDNESDAY, d(12, 28), d(1, 4, 2027)),
    ("entre lundi et mercredi", WEDNESDAY, d(12, 7), d(12, 9)),
    ("le 3 au 10 mars", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("du 3 - 10 mars", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("3-10 mars", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("du 3-03 au 10-03", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    # A range that has begun starts today
    ("du 1er au 10 décembre", WEDNESDAY, d(12, 2), d(12, 10)),
    # Durations
    ("à partir du 12 pour 15 jours", WEDNESDAY, d(12, 12), d(12, 26)),
    ("pendant 2 semaines à partir du 5 janvier", WEDNESDAY, d(1, 5, 2027), d(1, 18, 2027)),
    ("3 jours à partir de demain", WEDNESDAY, d(12, 3), d(12, 5)),
    ("pour 10 jours à partir du 2 février", WEDNESDAY, d(2, 2, 2027), d(2, 11, 2027)),
    ("deux semaines à partir du 5 janvier", WEDNESDAY, d(1, 5, 2027), d(1, 18, 2027)),
    ("une semaine à partir de lundi", WEDNESDAY, d(12, 7), d(12, 13)),
    ("le 12 pour une semaine", WEDNESDAY, d(12, 12), d(12, 18)),
    ("dès le 5 pour 3 jours", WEDNESDAY, d(12, 5), d(12, 7)),
    ("demain pour vingt et un jours", WEDNESDAY, d(12, 3), d(12, 23)),
    ("dans 3 jours pour une semaine", WEDNESDAY, d(12, 5), d(12, 11)),
    ("pour un mois à partir du 5 janvier", WEDNESDAY, d(1, 5, 2027), d(2, 4, 2027)),
    ("une quinzaine de jours à partir du 7", WEDNESDAY, d(12, 7), d(12, 21)),
    # Weeks, week-ends, months
    ("la semaine prochaine", WEDNESDAY, d(12, 7), d(12, 11)),
    ("cette semaine", WEDNESDAY, d(12, 2), d(12, 4)),
    ("la semaine du 12", WEDNESDAY, d(12, 7), d(12, 11)),
    ("la semaine du 14 décembre", WEDNESDAY, d(12, 14), d(12, 18)),
    ("la semaine du 30 novembre", WEDNESDAY, d(12, 2), d(12, 4)),
    ("ce week-end", WEDNESDAY, d(12, 5), d(12, 6)),
    ("le week-end prochain", WEDNESDAY, d(12, 12), d(12, 13)),
    ("le weekend du 12", WEDNESDAY, d(12, 12), d(12, 13)),
    ("le mois prochain", WEDNESDAY, d(1, 1, 2027), d(1, 31, 2027)),
    ("ce mois-ci", WEDNESDAY, d(12, 2), d(12, 31)),
    ("mars", WEDNESDAY, d(3, 1, 2027), d(3, 31, 2027)),
    ("en mars", WEDNESDAY, d(3, 1, 2027), d(3, 31, 2027)),
    ("en décembre", WEDNESDAY, d(12, 2), d(12, 31)),
    ("novembre", WEDNESDAY, d(11, 1, 2027), d(11, 30, 2027)),
    # Single days
    ("demain", WEDNESDAY, d(12, 3), d(12, 3)),
    ("le 12 mars", WEDNESDAY, d(3, 12, 2027), d(3, 12, 2027)),
    ("mercredi", WEDNESDAY, d(12, 9), d(12, 9)),
    ("vendredi", WEDNESDAY, d(12, 4), d(12, 4)),
    ("lundi prochain", WEDNESDAY, d(12, 7), d(12, 7)),
    ("samedi prochain", WEDNESDAY, d(12, 12), d(12, 12)),
    ("jeudi 10", WEDNESDAY, d(12, 10), d(12, 10)),
    ("lundi 1er", WEDNESDAY, d(2, 1, 2027), d(2, 1, 2027)),
    ("dans 3 jours", WEDNESDAY, d(12, 5), d(12, 5)),
    ("dans 2 semaines", WEDNESDAY, d(12, 16), d(12, 16)),
    ("aujourd'hui", WEDNESDAY, d(12, 2), d(12, 2)),
    ("le 2 décembre", WEDNESDAY, d(12, 2), d(12, 2)),
    ("le 1er", WEDNESDAY, d(1, 1, 2027), d(1, 1, 2027)),
    ("le 31", WEDNESDAY, d(12, 31), d(12, 31)),
    ("le premier mars", WEDNESDAY, d(3, 1, 2027), d(3, 1, 2027)),
    ("2 tablettes le 12", WEDNESDAY, d(12, 12), d(12, 12)),
    ("vendredi à 14 h", WEDNESDAY, d(12, 4), d(12, 4)),
    ("le 3 mars de 9h à 17h", WEDNESDAY, d(3, 3, 2027), d(3, 3, 2027)),
    # Capitals, no accents, typed apostrophes, extra words
    ("Du 3 Au 10 MARS", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("A PARTIR DU 12 POUR QUINZE JOURS", WEDNESDAY, d(12, 12), d(12, 26)),
    ("pour 10 jours a partir du 2 fevrier", WEDNESDAY, d(2, 2, 2027), d(2, 11, 2027)),
    ("du 28 decembre au 4 janvier", WEDNESDAY, d(12, 28), d(1, 4, 2027)),
    ("apres demain", WEDNESDAY, d(12, 4), d(12, 4)),
    ("Après-demain", WEDNESDAY, d(12, 4), d(12, 4)),
    ("aujourdhui", WEDNESDAY, d(12, 2), d(12, 2)),
    ("du 3 jusqu’au 10 mars", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("LA SEMAINE PROCHAINE", WEDNESDAY, d(12, 7), d(12, 11)),
    ("Le Week End Prochain", WEDNESDAY, d(12, 12), d(12, 13)),
    ("je voudrais le kit du 3 au 10 mars svp", WEDNESDAY, d(3, 3, 2027), d(3, 10, 2027)),
    ("Bonjour, possible d'avoir les tablettes la semaine prochaine ? Merci !", WEDNESDAY, d(12, 7), d(12, 11)),
    ("on en aurait besoin à partir du 12, pendant quinze jours", WEDNESDAY, d(12, 12), d(12, 26)),
    # Months and years to cross
    ("du 28 au 3", END_OF_FEBRUARY, d(2, 28, 2027), d(3, 3, 2027)),
    ("du 28 février au 3 mars", END_OF_FEBRUARY, d(2, 28, 2027), d(3, 3, 2027)),
    ("du 28 décembre au 4 janvier", END_OF_FEBRUARY, d(12, 28, 2027), d(1, 4, 2028)),
    ("du 20 février au 3 mars", END_OF_FEBRUARY, d(2, 25, 2027), d(3, 3, 2027)),
    ("le mois prochain", END_OF_FEBRUARY, d(3, 1, 2027), d(3, 31, 2027)),
    ("janvier", END_OF_FEBRUARY, d(1, 1, 2028), d(1, 31, 2028)),
    ("le 1er", END_OF_FEBRUARY, d(3, 1, 2027), d(3, 1, 2027)),
    ("le 29 février", END_OF_FEBRUARY, d(2, 29, 2028), d(2, 29, 2028)),
    ("à partir du 27 pour une semaine", END_OF_FEBRUARY, d(2, 27, 2027), d(3, 5, 2027)),
    ("la semaine du 1er", END_OF_FEBRUARY, d(3, 1, 2027), d(3, 5, 2027)),
    ("le week-end prochain", END_OF_FEBRUARY, d(3, 6, 2027), d(3, 7, 2027)),
    # On a week-end, this week is the coming one; on a Sunday, this week-end is today
    ("cette semaine", d(12, 5), d(12, 7), d(12, 11)),
    ("ce week-end", d(12, 6), d(12, 6), d(12, 6)),
    ("lundi prochain", d(12, 6), d(12, 7), d(12, 7)),
]


@pytest.mark.parametrize(("text", "today", "first_day", "last_day"), PERIODS)
def test_period(text: str, today: date, first_day: date, last_day: date) -> None:
    assert parse_period(text, today) == Period(first_day, last_day)
    assert explain_period(text, today) == Period(first_day, last_day)


REASONS = [
    ("bientôt", "unreadable"),
    ("asap", "unreadable"),
    ("dès que possible", "unreadable"),
    ("", "unreadable"),
    ("pour 15 jours", "unreadable"),
    ("jusqu'au 10", "unreadable"),
    ("le 30 février", "unreadable"),
    ("le 31/11", "unreadable"),
    ("le 3/13", "unreadable"),
    ("pour 0 jours à partir de demain", "unreadable"),
    ("du 10 au 3 mars", "end_before_start"),
    ("du 10 mars au 3 mars", "end_before_start"),
    ("du 31 au 3 avril", "end_before_start"),
    ("du 4 janvier 2027 au 28 décembre 2026", "end_before_start"),
    ("hier", "past"),
    ("avant-hier", "past"),
    ("le 12 mars 2026", "past"),
    ("du 3 au 10 mars 2026", "past"),
    ("la semaine dernière", "past"),
    ("le mois dernier", "past"),
    ("le week-end dernier", "past"),
    ("à partir du 12", "no_end"),
    ("a partir de demain", "no_end"),
    ("dès lundi", "no_end"),
    ("à compter du 5 janvier", "no_end"),
    ("à partir de la semaine prochaine", "no_end"),
]


@pytest.mark.parametrize(("text", "reason"), REASONS)
def test_reason(text: str, reason: str) -> None:
    assert explain_period(text, WEDNESDAY) == reason
    assert parse_period(text, WEDNESDAY) is None


def test_days_counts_pickup_and_return_days() -> None:
    assert Period(d(12, 12), d(12, 26)).days == 15
    assert Period(d(12, 3), d(12, 3)).days == 1
    assert parse_period("le mois prochain", WEDNESDAY) == Period(d(1, 1, 2027), d(1, 31, 2027))
    found = parse_period("du 28 décembre au 4 janvier", WEDNESDAY)
    assert found is not None and found.days == 8


def test_no_period_starts_before_today() -> None:
    for text, today, _, _ in PERIODS:
        found = parse_period(text, today)
        assert found is not None and today <= found.first_day <= found.last_day, text


def test_imports_neither_telegram_nor_rasa() -> None:
    code = (
        "import sys, knowledge.loans.periods\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('telegram', 'rasa', 'rasa_sdk')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
