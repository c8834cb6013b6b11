"""The report's charts (knowledge/indicators/charts.py): each drawn when it has something to show, PNG of the size a
Telegram photo shows whole, the same bytes for the same report, small counts never drawn as their value."""

from __future__ import annotations

import io
import re
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import matplotlib

from knowledge.handoffs.tickets import OUTCOMES
from knowledge.indicators.ateliers import AtelierIndicators
from knowledge.indicators.charts import (
    HEIGHT_PX,
    HIDDEN_HATCH,
    LABEL_WIDTH,
    SUBTITLE_CHARACTERS,
    WIDTH_PX,
    bar_values,
    draw_charts,
    render_charts,
    week_labels,
)
from knowledge.indicators.citizens import Week
from knowledge.indicators.handoffs import HandoffIndicators
from knowledge.indicators.loans import KitUse, LoanIndicators
from knowledge.indicators.period import Period
from knowledge.indicators.questions import QuestionIndicators
from knowledge.indicators.report import Report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
MONDAYS = [date(2026, 2, 23) + timedelta(weeks=n) for n in range(6)]
LONG_TITLE = "Renouveler sa carte d'identité ou son passeport : la pré-demande en ligne sur le site de l'ANTS"
ALL_CHARTS = [
    "conversations-par-semaine",
    "questions-par-sujet",
    "fiches-les-plus-demandees",
    "conseillers",
    "ateliers",
    "occupation-du-materiel",
]


def _report(**changes: object) -> Report:
    """A month of the network with some of every figure, small counts among them."""
    report = Report(
        period=MARCH,
        generated_at=datetime(2026, 4, 1, 8, tzinfo=UTC),
        retention_days=90,
        structure=None,
        weeks=[Week(monday, count, count * 3) for monday, count in zip(MONDAYS, [0, 23, 41, 3, 57, 12], strict=True)],
        fiches=[],
        questions=QuestionIndicators(
            messages=43,
            typed=30,
            not_understood=2,
            human_requests=3,
            by_subject={"Trouver un lieu d'aide": 40, "Parler à une personne": 3},
            by_fiche={LONG_TITLE: 18, "Déclarer ses revenus en ligne": 9, "Payer une amende en ligne": 2},
        ),
        handoffs=HandoffIndicators(
            requests=30,
            urgent=2,
            claimed=28,
            wait_median_minutes=12.5,
            wait_p90_minutes=40.0,
            still_open=1,
            outcomes={"resolu": 20, "oriente": 6, "a_rappeler": 3, "sans_suite": 0},
            ratings={1: 0, 2: 1, 3: 5, 4: 9, 5: 12},
            rating_mean=4.2,
        ),
        ateliers=AtelierIndicators(
            held=4,
            cancelled=1,
            seats=40,
            confirmed=31,
            waiting=2,
            cancelled_by_citizens=3,
            present=25,
            absent=6,
            unmarked=0,
        ),
        loans=LoanIndicators(
            loans=6, kits=[KitUse("Valise tablettes", 4, 12, 0.39), KitUse("Vidéoprojecteur", 2, 4, 0.125)]
        ),
    )
    return replace(report, **changes)


def _empty(**changes: object) -> Report:
    """A period with no data, as build_report gives it: weeks at 0, every outcome and score at 0, kits never lent."""
    handoffs = HandoffIndicators(
        requests=0,
        urgent=0,
        claimed=0,
        wait_median_minutes=None,
        wait_p90_minutes=None,
        still_open=0,
        outcomes=dict.fromkeys(OUTCOMES, 0),
        ratings=dict.fromkeys(range(1, 6), 0),
    )
    empty: dict[str, object] = {
        "weeks": [Week(monday, 0, 0) for monday in MONDAYS],
        "questions": QuestionIndicators(0, 0, 0, 0),
        "handoffs": handoffs,
        "ateliers": AtelierIndicators(0, 0, 0, 0, 0, 0, 0, 0, 0),
        "loans": LoanIndicators(0, kits=[KitUse("Valise tablettes", 0, 0, 0.0)]),
    }
    return _report(**{**empty, **changes})


def _size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (big-endian, bytes 16 to 24)."""
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def _svg_texts(report: Report, name: str) -> list[str]:
    """Every text written on a chart, read from its SVG (text kept as text, not as glyph outlines)."""
    (drawing,) = [drawing for drawing in draw_charts(report) if drawing.name == name]
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        drawing.figure.savefig(buffer, format="svg", metadata={"Date": None})
    return re.findall(r"<text[^>]*>(.*?)</text>", buffer.getvalue(), re.S)


def test_a_report_gives_its_charts_in_reading_order_as_pngs_a_phone_shows_whole() -> None:
    charts = render_charts(_report())
    assert [chart.name for chart in charts] == ALL_CHARTS
    assert [chart.title for chart in charts] == [
        "Conversations par semaine",
        "Questions par sujet",
        "Fiches les plus demandées",
        "Demandes de conseiller : issue et satisfaction",
        "Ateliers : places, inscrits, présents",
        "Occupation du matériel prêté",
    ]
    for chart in charts:
        assert chart.png.startswith(PNG_SIGNATURE) and len(chart.png) > 10_000, chart.name
        assert _size(chart.png) == (WIDTH_PX, HEIGHT_PX) == (1200, 675), chart.name


def test_an_empty_period_gives_no_chart() -> None:
    assert render_charts(_empty()) == []
    assert render_charts(_empty(weeks=[], questions=None, structure="Médiathèque de Saint-Lô")) == []


def test_a_structure_has_no_citizens_charts() -> None:
    """Citizens' conversations belong to no structure: no weeks, no questions in its report."""
    charts = render_charts(_report(weeks=[], questions=None, structure="Médiathèque de Saint-Lô"))
    assert [chart.name for chart in charts] == ["conseillers", "ateliers", "occupation-du-materiel"]
    texts = _svg_texts(_report(weeks=[], questions=None, structure="Médiathèque de Saint-Lô"), "ateliers")
    assert "Du 1er mars au 31 mars 2026 · Médiathèque de Saint-Lô" in texts


def test_a_long_structure_name_is_shortened_to_stay_on_the_chart() -> None:
    name = "Espace public numérique de la communauté de communes Coutances Mer et Bocage, antenne de Gavray"
    texts = _svg_texts(_report(weeks=[], questions=None, structure=name), "ateliers")
    (subtitle,) = [text for text in texts if text.startswith("Du 1er mars au 31 mars 2026 · ")]
    assert subtitle.endswith("…") and len(subtitle) <= SUBTITLE_CHARACTERS


def test_a_chart_is_left_out_when_only_its_section_is_empty() -> None:
    report = _report(questions=QuestionIndicators(5, 5, 0, 0, by_subject={"Ateliers": 5}), loans=_empty().loans)
    assert [chart.name for chart in render_charts(report)] == [
        "conversations-par-semaine",
        "questions-par-sujet",
        "conseillers",
        "ateliers",
    ]


def test_a_count_from_1_to_4_is_drawn_at_5_labelled_below_5() -> None:
    assert bar_values([0, 1, 4, 5, 1234]) == [
        (0.0, "0", False),
        (5.0, "< 5", True),
        (5.0, "< 5", True),
        (5.0, "5", False),
        (1234.0, "1\u202f234", False),
    ]
    assert bar_values([3], people=False) == [(3.0, "3", False)]  # seats, days: not people


def test_a_hidden_count_is_written_nowhere_on_its_chart() -> None:
    texts = _svg_texts(_report(), "questions-par-sujet")  # « Parler à une personne »: 3 messages
    assert "&lt; 5" in texts and "40" in texts
    assert "3" not in texts
    assert any(text.startswith("Barre hachurée « &lt; 5 »") for text in texts)  # what the hatching means
    (drawing,) = [drawing for drawing in draw_charts(_report()) if drawing.name == "questions-par-sujet"]
    (ax,) = drawing.figure.axes
    assert [(patch.get_width(), patch.get_hatch()) for patch in ax.patches] == [(40, None), (5, HIDDEN_HATCH)]


def test_the_ateliers_fill_rate_is_left_out_when_it_would_tell_a_hidden_count() -> None:
    few = replace(_report().ateliers, confirmed=3, present=2, absent=1, waiting=0)
    texts = _svg_texts(_report(ateliers=few), "ateliers")
    assert "40" in texts  # seats are not people: drawn as they are
    assert texts.count("&lt; 5") == 3 and "0" in texts
    assert not any("remplissage" in text for text in texts)
    assert any("remplissage 78 %" in text for text in _svg_texts(_report(), "ateliers"))  # 31 of 40


def test_labels_are_french_with_a_decimal_comma() -> None:
    kits = _svg_texts(_report(), "occupation-du-materiel")
    assert "12,5 % · 4 jours prêtés" in kits and "39 % · 12 jours prêtés" in kits
    handoffs = _svg_texts(_report(), "conseillers")
    assert "30 demandes · attente médiane 12,5 min · note moyenne 4,2/5" in handoffs
    assert "Orienté vers un lieu" in handoffs and "Du 1er mars au 31 mars 2026 · ensemble du réseau" in handoffs


def test_weeks_are_named_by_their_monday_then_by_month_when_there_are_many() -> None:
    assert week_labels(MONDAYS) == ["23 février", "2 mars", "9 mars", "16 mars", "23 mars", "30 mars"]
    assert week_labels([date(2026, 6, 1)]) == ["1er juin"]
    year = [date(2025, 12, 1) + timedelta(weeks=n) for n in range(14)]  # 1 December 2025 to 2 March 2026
    labels = week_labels(year)
    assert [label for label in labels if label] == ["décembre 2025", "janvier 2026", "février", "mars"]
    assert labels[3] == "" and labels[4] == "janvier 2026"  # the week of 29 December is mostly January's


def test_a_long_fiche_title_is_wrapped_and_shortened() -> None:
    (drawing,) = [drawing for drawing in draw_charts(_report()) if drawing.name == "fiches-les-plus-demandees"]
    (ax,) = drawing.figure.axes
    first = ax.get_yticklabels()[0].get_text()
    lines = first.split("\n")
    assert len(lines) == 2 and all(len(line) <= LABEL_WIDTH for line in lines)
    assert first.startswith("Renouveler sa carte") and first.endswith("…")


def test_the_same_report_gives_the_same_bytes_from_any_thread() -> None:
    report = _report(weeks=[], questions=None)
    first = [chart.png for chart in render_charts(report)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        again = list(pool.map(lambda _: [chart.png for chart in render_charts(report)], range(2)))
    assert again == [first, first]
