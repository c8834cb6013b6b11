"""`passerelle report`: the same figures as the indicators, in Markdown and CSV, small counts hidden, and a valid
report for a period with no data (knowledge/indicators/report.py, bot/tools/report.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from knowledge.db import Database
from knowledge.indicators.period import Period
from knowledge.indicators.report import build_report, to_csv, to_markdown
from tests.test_indicators import MARCH, MONDAY, _handoff

NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def _figures(text: str) -> dict[tuple[str, str], str]:
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["section", "indicateur", "valeur"]
    return {(section, indicator): value for section, indicator, value in rows[1:]}


def test_the_csv_gives_each_figure_once_with_small_counts_hidden(database: Database) -> None:
    for n in range(6):  # six requests, five of them taken after 10 minutes and resolved
        created = MONDAY + timedelta(hours=n)
        taken = created + timedelta(minutes=10)
        values = {"status": "closed", "claimed_at": taken, "closed_at": taken, "outcome": "resolu"} if n else {}
        _handoff(database, 300 + n, created, urgent=n == 1, **values)
    with database.session() as session:
        report = build_report(session, MARCH, NOW, staff_hours=None, retention_days=90)
    figures = _figures(to_csv(report))
    assert figures[("Conseillers", "demandes")] == "6"
    assert figures[("Conseillers", "dont urgentes")] == "< 5"  # one person: not shown
    assert figures[("Conseillers", "issue : résolu")] == "5"
    assert figures[("Conseillers", "attente médiane (min)")] == "10"
    assert figures[("Conseillers", "encore ouvertes")] == "< 5"
    assert figures[("Conseillers", "demandes hors horaires")] == "—"  # STAFF_HOURS unknown
    assert figures[("Citoyens", "conversations, semaine du 02/03/2026")] == "6"
    assert figures[("Citoyens", "conversations, semaine du 23/02/2026")] == "0"
    markdown = to_markdown(report)
    assert markdown.startswith("# Bilan Passerelle du 01/03/2026 au 31/03/2026\n")
    assert "effacées après 90 jours" in markdown and "| dont urgentes | < 5 |" in markdown
    assert "Produit le 01/04/2026 à 10:00." in markdown  # Paris time
    assert str(300) not in markdown  # never a chat id


def test_an_empty_period_gives_a_valid_report(database: Database) -> None:
    with database.session() as session:
        report = build_report(
            session, Period(date(2020, 1, 6), date(2020, 1, 12)), NOW, staff_hours=None, retention_days=90
        )
    figures = _figures(to_csv(report))
    assert figures[("Conseillers", "demandes")] == "0" and figures[("Prêts", "prêts")] == "0"
    assert [key for key in figures if key[0] == "Fiches"] == []
    assert "## Ateliers" in to_markdown(report)


def test_the_command_writes_the_report_and_refuses_a_reversed_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'report.db'}"
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["db", "upgrade"]) == 0
    _handoff(Database(database_url), 400, MONDAY)
    output = tmp_path / "bilan.csv"
    assert (
        main(["report", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "csv", "--output", str(output)]) == 0
    )
    assert _figures(output.read_text(encoding="utf-8"))[("Conseillers", "demandes")] == "< 5"
    assert main(["report", "--from", "2026-03-31", "--to", "2026-03-01"]) == 2
    assert "ends (2026-03-01) before it starts (2026-03-31)" in capsys.readouterr().err
