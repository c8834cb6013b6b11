"""/bilan's service layer (knowledge/indicators/bilan.py): who sees which report, the periods offered and typed, and
the short text sent first. The Telegram side is tested end to end in tests/e2e/test_bilan.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from knowledge.db import Database
from knowledge.indicators.bilan import audience, periods_offered, summary_text, typed_period
from knowledge.indicators.period import Period
from knowledge.indicators.report import build_report
from knowledge.staff import COORDINATEUR
from tests.loan_network import COORD, MEDIA, join
from tests.test_indicators import MARCH, MONDAY, _handoff

EPN_COORD = 7105


def test_the_lenders_coordinator_sees_the_network_and_others_their_structure(network: Database) -> None:
    join(network, EPN_COORD, COORDINATEUR, "EPN de démonstration")
    with network.session() as session:
        lead, epn_lead = audience(session, COORD), audience(session, EPN_COORD)
        assert lead is not None and lead.structure is None
        assert epn_lead is not None and epn_lead.structure is not None
        assert epn_lead.structure.name == "EPN de démonstration"
        assert audience(session, MEDIA) is None  # a médiateur
        assert audience(session, 424242) is None  # a citizen


@pytest.mark.parametrize(
    ("today", "this_half", "previous_half", "twelve_months"),
    [
        (date(2026, 12, 3), (date(2026, 7, 1), date(2026, 12, 3)), (date(2026, 1, 1), date(2026, 6, 30)), 2025),
        (date(2026, 3, 15), (date(2026, 1, 1), date(2026, 3, 15)), (date(2025, 7, 1), date(2025, 12, 31)), 2025),
        (date(2028, 2, 29), (date(2028, 1, 1), date(2028, 2, 29)), (date(2027, 7, 1), date(2027, 12, 31)), 2027),
    ],
)
def test_the_periods_offered_are_this_half_year_the_previous_one_and_twelve_months(
    today: date, this_half: tuple[date, date], previous_half: tuple[date, date], twelve_months: int
) -> None:
    offered = periods_offered(today)
    assert [label for label, _ in offered] == ["Ce semestre", "Le semestre précédent", "Les 12 derniers mois"]
    assert (offered[0][1].first, offered[0][1].last) == this_half
    assert (offered[1][1].first, offered[1][1].last) == previous_half
    year = offered[2][1]
    assert year.last == today and year.first.year == twelve_months
    assert 365 <= (year.last - year.first).days + 1 <= 366


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01/01/2026 30/06/2026", Period(date(2026, 1, 1), date(2026, 6, 30))),
        ("du 1/1/2026 au 30.6.2026", Period(date(2026, 1, 1), date(2026, 6, 30))),
        ("2026-01-01 2026-06-30", Period(date(2026, 1, 1), date(2026, 6, 30))),
        ("30/06/2026 01/01/2026", None),  # reversed
        ("31/02/2026 30/06/2026", None),  # no such day
        ("01/01/2026", None),
        ("le premier semestre", None),
    ],
)
def test_a_typed_period_is_two_dates_in_order(text: str, expected: Period | None) -> None:
    assert typed_period(text) == expected


def test_the_summary_gives_the_first_figures_with_small_counts_hidden(database: Database, tmp_path) -> None:
    for n in range(6):
        created = MONDAY + timedelta(hours=n)
        taken = created + timedelta(minutes=4)
        _handoff(database, 600 + n, created, status="closed", claimed_at=taken, outcome="resolu", satisfaction=4)
    with database.session() as session:
        report = build_report(
            session,
            MARCH,
            datetime(2026, 4, 1, tzinfo=UTC),
            staff_hours=None,
            retention_days=90,
            tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        )
    text = summary_text(report)
    assert text.splitlines() == [
        "Bilan du 01/03/2026 au 31/03/2026, pour le réseau.",
        "• Citoyens : 6 conversations, 6 messages.",
        "• Conseillers : 6 demandes, prises en charge en 4 min (médiane), satisfaction 4/5.",
        "• Ateliers : 0 tenu, 0 inscrit, 0 présent.",
        "• Matériel : 0 prêt, 0 participant touché d'après les bilans.",
        "Un nombre inférieur à 5 est noté « < 5 ». Les graphiques et le tableau complet suivent.",
    ]
