"""Opening hours of places: OSM expressions evaluated in Europe/Paris and told in French."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from knowledge.places import hours
from knowledge.places.hours import HoursStatus, hours_status, is_open_between, parse_hours

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")
# A typical espace public numérique: closed at lunch, Saturday morning only.
EPN = "Mo-Fr 09:00-12:00,14:00-17:30; Sa 09:00-12:00"
# Values seen in real place files that are not opening_hours expressions.
INVALID = [
    "lundi 9h-12h",
    "Mo-Fr 09h00-12h00",
    "sur rendez-vous",
    "Lu-Ve 9:00-17:00",
    "Mo-Fr 25:00-26:00",
    "Du lundi au vendredi de 9h à 12h",
    "Du lundi au vendredi : 9h-12h / 14h-17h",
    "9h-12h et 14h-17h",
    "Mo-Fr 09:00-12:00 14:00-17:00 sauf jours fériés",
    "Mo-Fr 9-12",
    "Tous les jours",
    "lun, mar, jeu : 09:00-12:00",
    "Mo-Fr 09:00-12:00 / 14:00-17:00",
    "Mo-Fr: 08:30-12:00;;",
    "fermé",
    "Voir site internet",
]


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    parse_hours.cache_clear()
    yield
    parse_hours.cache_clear()


# --- open / closed, in the week ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(2026, 6, 10, 10), HoursStatus(True, "Ouvert maintenant, jusqu'à 12 h")),  # Wednesday morning
        (at(2026, 6, 10, 15), HoursStatus(True, "Ouvert maintenant, jusqu'à 17 h 30")),
        (at(2026, 6, 10, 17, 29), HoursStatus(True, "Ouvert maintenant, jusqu'à 17 h 30")),  # closing soon
        (at(2026, 6, 10, 9), HoursStatus(True, "Ouvert maintenant, jusqu'à 12 h")),  # opening minute
        (at(2026, 6, 10, 7), HoursStatus(False, "Fermé, ouvre à 9 h")),  # early morning
        (at(2026, 6, 10, 12), HoursStatus(False, "Fermé, ouvre à 14 h")),  # closing minute
        (at(2026, 6, 10, 12, 30), HoursStatus(False, "Fermé, ouvre à 14 h")),  # lunch
        (at(2026, 6, 10, 17, 30), HoursStatus(False, "Fermé, ouvre demain à 9 h")),
        (at(2026, 6, 10, 23, 59), HoursStatus(False, "Fermé, ouvre demain à 9 h")),
        (at(2026, 6, 12, 18), HoursStatus(False, "Fermé, ouvre demain à 9 h")),  # Friday evening: Saturday
        (at(2026, 6, 13, 13), HoursStatus(False, "Fermé, ouvre lundi à 9 h")),  # Saturday afternoon
        (at(2026, 6, 14, 11), HoursStatus(False, "Fermé, ouvre demain à 9 h")),  # Sunday
    ],
)
def test_week(now: datetime, expected: HoursStatus) -> None:
    assert hours_status(EPN, now) == expected


def test_now_in_another_zone_is_read_in_paris_time() -> None:
    # 08:30 UTC is 10:30 in Paris in June.
    assert hours_status(EPN, datetime(2026, 6, 10, 8, 30, tzinfo=UTC)).text == "Ouvert maintenant, jusqu'à 12 h"
    assert hours_status(EPN, datetime(2026, 6, 10, 10, 30, tzinfo=UTC)).text == "Fermé, ouvre à 14 h"


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        hours_status(EPN, datetime(2026, 6, 10, 10))


@pytest.mark.parametrize(
    ("expr", "now", "text"),
    [
        # Within six days: the weekday.
        ("Tu 09:00-12:00", at(2026, 6, 10, 10), "Fermé, ouvre mardi à 9 h"),
        ("Th 14:00-16:00", at(2026, 6, 10, 10), "Fermé, ouvre demain à 14 h"),
        # A week or more: the date.
        ("We 09:00-12:00", at(2026, 6, 10, 13), "Fermé, ouvre le mercredi 17 juin à 9 h"),
        ("Oct 01 09:00-12:00", at(2026, 9, 20, 10), "Fermé, ouvre le jeudi 1er octobre à 9 h"),
        ("Mo-Fr 09:00-12:00; Dec 19-Jan 03 off", at(2026, 12, 18, 13), "Fermé, ouvre le lundi 4 janvier à 9 h"),
        ("Jan 04 09:00-12:00", at(2026, 1, 5, 10), "Fermé, ouvre le lundi 4 janvier 2027 à 9 h"),
        # Minutes.
        ("Mo-Fr 08:45-12:15", at(2026, 6, 10, 8), "Fermé, ouvre à 8 h 45"),
        ("Mo-Fr 08:45-12:15", at(2026, 6, 10, 9), "Ouvert maintenant, jusqu'à 12 h 15"),
    ],
)
def test_next_opening(expr: str, now: datetime, text: str) -> None:
    assert hours_status(expr, now).text == text


@pytest.mark.parametrize(
    ("expr", "now", "text"),
    [
        ("Mo-Fr 18:00-24:00", at(2026, 6, 10, 19), "Ouvert maintenant, jusqu'à minuit"),
        ("Mo-Fr 20:00-02:00", at(2026, 6, 10, 21), "Ouvert maintenant, jusqu'à demain à 2 h"),
        ("Fr 20:00-24:00; Sa 00:00-24:00", at(2026, 6, 12, 21), "Ouvert maintenant, jusqu'à demain minuit"),
        ("Mo-Fr 00:00-24:00; Sa 00:00-12:00", at(2026, 6, 10, 10), "Ouvert maintenant, jusqu'à samedi à 12 h"),
        # Open more than a week ahead (until 14 July, a public holiday): no closing time.
        ("Mo-Su 00:00-24:00; PH 10:00-12:00", at(2026, 6, 10, 10), "Ouvert maintenant"),
        ("Jun-Aug Mo-Su 00:00-24:00", at(2026, 6, 10, 10), "Ouvert maintenant"),
    ],
)
def test_closing_time(expr: str, now: datetime, text: str) -> None:
    assert hours_status(expr, now) == HoursStatus(True, text)


@pytest.mark.parametrize("expr", ["24/7", "Mo-Su 00:00-24:00", "00:00-24:00"])
def test_always_open(expr: str) -> None:
    assert hours_status(expr, at(2026, 6, 10, 3)) == HoursStatus(True, "Ouvert 24 h/24")
    # Around the clock means on public holidays too.
    assert hours_status(expr, at(2026, 12, 25, 3)) == HoursStatus(True, "Ouvert 24 h/24")


@pytest.mark.parametrize("expr", ["off", "closed", "2020 Mo-Fr 09:00-12:00"])
def test_closed_for_good(expr: str) -> None:
    assert hours_status(expr, at(2026, 6, 10, 10)) == HoursStatus(False, "Fermé")


def test_comments_are_appended() -> None:
    expr = 'Mo-Fr 09:00-12:00 "sur rendez-vous"'
    assert hours_status(expr, at(2026, 6, 10, 10)) == HoursStatus(
        True, "Ouvert maintenant, jusqu'à 12 h (sur rendez-vous)"
    )
    assert hours_status(expr, at(2026, 6, 10, 13)) == HoursStatus(False, "Fermé, ouvre demain à 9 h")
    assert hours_status('Mo-Fr off "travaux"', at(2026, 6, 10, 13)) == HoursStatus(False, "Fermé (travaux)")


@pytest.mark.parametrize("expr", ["unknown", "Mo-Fr 09:00-12:00 unknown", 'Mo-Fr 09:00-12:00 unknown "appeler avant"'])
def test_unknown_state(expr: str) -> None:
    assert hours_status(expr, at(2026, 6, 10, 10)) == HoursStatus(None, f"Horaires : {expr}")


def test_a_rule_made_of_a_comment_only_is_unknown_not_open() -> None:
    # The library would read these as open around the clock.
    expr = 'Mo 09:00-12:00 || "sur rendez-vous"'
    assert hours_status(expr, at(2026, 6, 8, 10)) == HoursStatus(True, "Ouvert maintenant, jusqu'à 12 h")
    assert hours_status(expr, at(2026, 6, 9, 3)) == HoursStatus(None, f"Horaires : {expr}")
    assert hours_status('"sur rendez-vous"', at(2026, 6, 9, 10)) == HoursStatus(None, 'Horaires : "sur rendez-vous"')
    assert is_open_between('"sur rendez-vous"', at(2026, 6, 9, 10), at(2026, 6, 9, 11)) is None
    # A comment attached to hours, or containing a separator, is left alone.
    expr = 'Mo-Fr 09:00-12:00 "accueil; sans rendez-vous"'
    assert hours_status(expr, at(2026, 6, 9, 10)) == HoursStatus(
        True, "Ouvert maintenant, jusqu'à 12 h (accueil; sans rendez-vous)"
    )


def test_closed_before_an_unknown_stretch_does_not_promise_an_opening() -> None:
    assert hours_status("Mo-Fr 09:00-12:00 unknown", at(2026, 6, 10, 8)) == HoursStatus(False, "Fermé")


# --- public holidays ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "text"),
    [
        (at(2026, 12, 24, 10), "Ouvert maintenant, jusqu'à 12 h"),  # Christmas Eve is a working day
        (at(2026, 12, 24, 18), "Fermé, ouvre samedi à 9 h"),
        (at(2026, 12, 25, 10), "Fermé (jour férié), ouvre demain à 9 h"),  # Friday 25 December
        (at(2027, 5, 1, 10), "Fermé (jour férié), ouvre lundi à 9 h"),  # Saturday 1 May
        (at(2026, 7, 14, 10), "Fermé (jour férié), ouvre demain à 9 h"),  # Tuesday 14 July
        (at(2026, 7, 13, 18), "Fermé, ouvre mercredi à 9 h"),
        (at(2027, 3, 29, 10), "Fermé (jour férié), ouvre demain à 9 h"),  # Easter Monday 2027
        (at(2027, 3, 27, 13), "Fermé, ouvre mardi à 9 h"),  # the Saturday before
        (at(2026, 12, 31, 18), "Fermé, ouvre samedi à 9 h"),  # 1 January is a Friday
    ],
)
def test_public_holidays_closed_unless_said(now: datetime, text: str) -> None:
    status = hours_status(EPN, now)
    assert status.text == text
    assert status.open_now is text.startswith("Ouvert")


def test_an_explicit_holiday_rule_is_kept() -> None:
    expr = "Mo-Fr 09:00-12:00; PH 10:00-11:00"
    assert hours_status(expr, at(2026, 12, 25, 10, 30)) == HoursStatus(True, "Ouvert maintenant, jusqu'à 11 h")
    assert hours_status(expr, at(2026, 12, 25, 9, 30)).text == "Fermé, ouvre à 10 h"
    assert hours_status("Mo-Su 10:00-18:00; PH open", at(2026, 12, 25, 11)).open_now is True
    assert hours_status("Mo-Fr 09:00-12:00; PH off", at(2026, 12, 25, 10)) == HoursStatus(
        False, "Fermé, ouvre lundi à 9 h"
    )
    # "PH" inside a comment is not a rule.
    assert hours_status('Mo-Fr 09:00-12:00 "PH sur demande"', at(2026, 12, 25, 10)).open_now is False


# --- summer and winter time -----------------------------------------------------------------------------------


def test_spring_forward_week() -> None:
    # Sunday 29 March 2026, 02:00 CET -> 03:00 CEST.
    assert hours_status("Mo-Sa 09:00-12:00", at(2026, 3, 28, 13)).text == "Fermé, ouvre lundi à 9 h"
    monday = datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # 09:30 in Paris (it was 08:30 the week before)
    assert hours_status("Mo-Sa 09:00-12:00", monday).text == "Ouvert maintenant, jusqu'à 12 h"
    assert hours_status("Mo-Sa 09:00-12:00", monday - timedelta(days=7)).text == "Fermé, ouvre à 9 h"
    night = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET, just before the change
    assert hours_status("Su 01:00-04:00", night).text == "Ouvert maintenant, jusqu'à 4 h"
    assert is_open_between("Su 01:00-04:00", night, night + timedelta(hours=1)) is True  # until 04:00 CEST
    assert is_open_between("Su 01:00-04:00", night, night + timedelta(hours=2)) is False


def test_fall_back_week() -> None:
    # Sunday 25 October 2026, 03:00 CEST -> 02:00 CET.
    assert hours_status("Mo-Fr 09:00-12:00", at(2026, 10, 24, 12)).text == "Fermé, ouvre lundi à 9 h"
    assert hours_status("Mo-Fr 09:00-12:00", datetime(2026, 10, 26, 8, 30, tzinfo=UTC)).text == (
        "Ouvert maintenant, jusqu'à 12 h"  # 09:30 CET
    )
    assert hours_status("Mo-Fr 09:00-12:00", datetime(2026, 10, 26, 11, 30, tzinfo=UTC)).text == (
        "Fermé, ouvre demain à 9 h"  # 12:30 CET, though 11:30 UTC was open the week before
    )
    assert hours_status("Mo-Fr 09:00-12:00", datetime(2026, 10, 19, 9, 30, tzinfo=UTC)).open_now is True
    assert hours_status("Su 01:00-04:00", datetime(2026, 10, 25, 2, 30, tzinfo=UTC)).text == (
        "Ouvert maintenant, jusqu'à 4 h"  # the second 03:30 of the night, CET
    )


# --- missing and invalid values -------------------------------------------------------------------------------


@pytest.mark.parametrize("expr", [None, "", "   ", "\n\t "])
def test_missing(expr: str | None) -> None:
    assert parse_hours(expr) is None
    assert hours_status(expr, at(2026, 6, 10, 10)) == HoursStatus(None, "Horaires non communiqués")
    assert is_open_between(expr, at(2026, 6, 10, 10), at(2026, 6, 10, 11)) is None


def test_a_value_that_is_not_text_counts_as_missing() -> None:
    for value in (12.5, 0, False):
        assert parse_hours(value) is None  # type: ignore[arg-type]
        assert hours_status(value, at(2026, 6, 10, 10)) == HoursStatus(None, "Horaires non communiqués")  # type: ignore[arg-type]


@pytest.mark.parametrize("expr", INVALID)
def test_invalid_values_are_shown_as_written(expr: str) -> None:
    assert parse_hours(expr) is None
    assert hours_status(f"  {expr} ", at(2026, 6, 10, 10)) == HoursStatus(None, f"Horaires : {expr}")
    assert is_open_between(expr, at(2026, 6, 10, 10), at(2026, 6, 10, 11)) is None


def test_invalid_values_are_shown_on_one_line_and_truncated() -> None:
    status = hours_status("lundi : 9h-12h\nmardi : 14h-17h", at(2026, 6, 10, 10))
    assert status == HoursStatus(None, "Horaires : lundi : 9h-12h mardi : 14h-17h")
    long = "Ouvert du lundi au vendredi, " * 20
    text = hours_status(long, at(2026, 6, 10, 10)).text
    assert text.startswith("Horaires : Ouvert du lundi")
    assert len(text) == len("Horaires : ") + 200
    assert text.endswith("…")


def test_small_slips_are_tolerated() -> None:
    # Trailing separator and lower-case days: the library (or we) accept them.
    assert hours_status("Mo-Fr 09:00-12:00;", at(2026, 6, 10, 10)).open_now is True
    assert hours_status("Mo-Fr 09:00-12:00 ; ", at(2026, 6, 10, 10)).open_now is True
    assert hours_status("mo-fr 9:00-12:00", at(2026, 6, 10, 10)).open_now is True


def test_garbage_of_5000_characters_is_fast_and_harmless() -> None:
    rng = random.Random(5000)
    alphabet = "abcdefghijklmnopqrstuvwxyzéèàMoTuWeThFrSaSuPH0123456789:;,-+/\"' []()|\n"
    garbage = "".join(rng.choice(alphabet) for _ in range(5000))
    started = time.perf_counter()
    status = hours_status(garbage, at(2026, 6, 10, 10))
    elapsed = time.perf_counter() - started
    assert status.open_now is None
    assert status.text.startswith("Horaires : ")
    assert len(status.text) == len("Horaires : ") + 200
    assert "\n" not in status.text
    assert elapsed < 1.0
    # A long but valid expression is evaluated, quickly too.
    valid = ", ".join([f"Mo-Fr {h:02d}:00-{h:02d}:30" for h in range(8, 20)] * 25)  # "," adds, ";" overrides
    assert len(valid) > 5000
    started = time.perf_counter()
    assert hours_status(valid, at(2026, 6, 10, 10, 15)) == HoursStatus(True, "Ouvert maintenant, jusqu'à 10 h 30")
    assert time.perf_counter() - started < 1.0


# --- nothing escapes from the library -------------------------------------------------------------------------


class FakePanic(BaseException):
    """Stands for pyo3_runtime.PanicException, which derives from BaseException."""


def test_a_panic_while_parsing_means_unparsable(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise FakePanic("rust panicked")

    monkeypatch.setattr(hours, "OpeningHours", explode)
    assert parse_hours(EPN) is None
    assert hours_status(EPN, at(2026, 6, 10, 10)) == HoursStatus(None, f"Horaires : {EPN}")
    assert is_open_between(EPN, at(2026, 6, 10, 10), at(2026, 6, 10, 11)) is None


def test_a_panic_while_evaluating_means_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    class Exploding:
        def __getattr__(self, name: str) -> object:
            def explode(*args: object, **kwargs: object) -> None:
                raise FakePanic(name)

            return explode

    monkeypatch.setattr(hours, "parse_hours", lambda expr: Exploding())
    assert hours_status(EPN, at(2026, 6, 10, 10)) == HoursStatus(None, f"Horaires : {EPN}")
    assert is_open_between(EPN, at(2026, 6, 10, 10), at(2026, 6, 10, 11)) is None


def test_keyboard_interrupt_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(hours, "OpeningHours", interrupt)
    with pytest.raises(KeyboardInterrupt):
        parse_hours(EPN)


# --- parse_hours and is_open_between --------------------------------------------------------------------------


def test_parse_hours_is_cached() -> None:
    first = parse_hours(EPN)
    assert first is not None
    assert parse_hours(EPN) is first
    assert parse_hours("lundi 9h-12h") is None
    assert parse_hours.cache_info().hits == 1


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(2026, 6, 10, 10), at(2026, 6, 10, 11), True),
        (at(2026, 6, 10, 9), at(2026, 6, 10, 12), True),  # exactly the morning
        (at(2026, 6, 10, 11, 30), at(2026, 6, 10, 12, 30), False),  # runs into lunch
        (at(2026, 6, 10, 11), at(2026, 6, 10, 15), False),  # across lunch
        (at(2026, 6, 10, 8, 30), at(2026, 6, 10, 9, 30), False),
        (at(2026, 6, 13, 10), at(2026, 6, 13, 11), True),  # Saturday morning
        (at(2026, 6, 14, 10), at(2026, 6, 14, 11), False),  # Sunday
        (at(2026, 12, 25, 10), at(2026, 12, 25, 11), False),  # Christmas
        (at(2027, 3, 29, 10), at(2027, 3, 29, 11), False),  # Easter Monday
        (at(2026, 6, 10, 10), at(2026, 6, 10, 10), True),  # an instant
        (at(2026, 6, 10, 13), at(2026, 6, 10, 13), False),
    ],
)
def test_is_open_between(start: datetime, end: datetime, expected: bool) -> None:
    assert is_open_between(EPN, start, end) is expected


def test_is_open_between_unknown_and_errors() -> None:
    assert is_open_between("Mo-Fr 09:00-12:00 unknown", at(2026, 6, 10, 10), at(2026, 6, 10, 11)) is None
    assert is_open_between("Mo-Fr 09:00-12:00 unknown", at(2026, 6, 10, 10), at(2026, 6, 10, 10)) is None
    # Closed at some point wins over unknown.
    assert is_open_between("Mo-Fr 09:00-12:00 unknown", at(2026, 6, 10, 11), at(2026, 6, 10, 13)) is False
    assert is_open_between("24/7", at(2026, 12, 24, 20), at(2026, 12, 25, 8)) is True
    with pytest.raises(ValueError, match="before start"):
        is_open_between(EPN, at(2026, 6, 10, 11), at(2026, 6, 10, 10))
    with pytest.raises(ValueError, match="aware"):
        is_open_between(EPN, datetime(2026, 6, 10, 10), at(2026, 6, 10, 11))


# --- micro-benchmark (printed, not asserted) ------------------------------------------------------------------


def test_benchmark_parse_and_status(capsys: pytest.CaptureFixture[str]) -> None:
    expressions = [
        EPN,
        "Mo-Fr 08:30-12:00,13:30-17:00; Sa 09:00-12:00; PH off",
        'Tu,Th 14:00-17:00 "sur rendez-vous"',
        "Mo-We 09:00-12:00; Th 14:00-18:00; Fr 09:00-12:00,14:00-16:30; Jul-Aug off",
        "24/7",
        *INVALID,
    ]
    moments = [at(2026, 6, 10, 10) + timedelta(hours=7 * i) for i in range(40)]
    started = time.perf_counter()
    for expr in expressions:
        parse_hours.cache_clear()
        for now in moments:
            hours_status(expr, now)
    elapsed = time.perf_counter() - started
    calls = len(expressions) * len(moments)
    cold_started = time.perf_counter()
    for index, expr in enumerate(expressions):
        parse_hours.cache_clear()
        parse_hours(expr + " " * index)
    cold = (time.perf_counter() - cold_started) / len(expressions)
    with capsys.disabled():
        print(
            f"\n[hours benchmark] {calls} statuses: {elapsed / calls * 1e6:.0f} µs each "
            f"(parse cached); parse alone: {cold * 1e6:.0f} µs each"
        )
