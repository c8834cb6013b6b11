"""The steering committee's report (knowledge/indicators/report.py, documents.py; bot/tools/report.py): the same
exact figures in every format (Markdown, CSV, HTML, ODS), small counts hidden, a valid report for a period with no
data, a structure's report, and the command's errors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from odf import teletype
from odf.opendocument import load
from odf.table import TableCell, TableRow

from bot.cli import main
from knowledge.db import Database
from knowledge.indicators.documents import render, to_csv, to_markdown
from knowledge.indicators.period import Period
from knowledge.indicators.report import Report, build_report, rows
from knowledge.models import StaffMember, Structure
from tests.test_indicators import MARCH, MONDAY, _handoff

NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
Figures = dict[tuple[str, str], str]


def csv_figures(text: str) -> Figures:
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[0] == ["section", "indicateur", "valeur"]
    return {(section, indicator): value for section, indicator, value in lines[1:]}


def markdown_figures(text: str) -> Figures:
    figures, section = {}, ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:]
        elif line.startswith("| ") and not line.startswith("| indicateur"):
            indicator, value = line[2:-2].split(" | ")
            figures[(section, indicator)] = value
    return figures


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.figures: Figures = {}
        self.section, self.cells, self.text, self.images = "", [], None, 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h2", "td"):
            self.text = ""
        self.images += tag == "img" and (dict(attrs).get("src") or "").startswith("data:image/png;base64,")

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self.section, self.text = self.text or "", None
        elif tag == "td":
            self.cells.append(self.text or "")
            self.text = None
        elif tag == "tr" and len(self.cells) == 2:
            self.figures[(self.section, self.cells[0])] = self.cells[1]
            self.cells = []


def html_figures(text: str) -> tuple[Figures, int]:
    parser = _Tables()
    parser.feed(text)
    return parser.figures, parser.images


def ods_figures(content: bytes) -> tuple[Figures, list[str]]:
    """The figures of the sheet, and the value type of each figure's cell (float for plain counts)."""
    document = load(io.BytesIO(content))
    figures: Figures = {}
    types: list[str] = []
    lines = [row.getElementsByType(TableCell) for row in document.spreadsheet.getElementsByType(TableRow)]
    header = next(n for n, cells in enumerate(lines) if [teletype.extractText(c) for c in cells][:1] == ["section"])
    for cells in lines[header + 1 :]:
        section, indicator, value = (teletype.extractText(cell) for cell in cells)
        figures[(section, indicator)] = value
        types.append(str(cells[2].getAttribute("valuetype")))
    return figures, types


def every_format(report: Report) -> dict[str, Figures]:
    html, _images = html_figures(render(report, "html").decode("utf-8"))
    ods, _ = ods_figures(render(report, "ods"))
    return {
        "md": markdown_figures(render(report, "md").decode("utf-8")),
        "csv": csv_figures(render(report, "csv").decode("utf-8")),
        "html": html,
        "ods": ods,
    }


def _tracker(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tracker.db'}"


def _six_requests(database: Database) -> None:
    for n in range(6):  # six requests, five of them taken after 10 minutes and resolved
        created = MONDAY + timedelta(hours=n)
        taken = created + timedelta(minutes=10)
        values = {"status": "closed", "claimed_at": taken, "closed_at": taken, "outcome": "resolu"} if n else {}
        _handoff(database, 300 + n, created, urgent=n == 1, **values)


def test_every_format_gives_the_same_figures_with_small_counts_hidden(database: Database, tmp_path: Path) -> None:
    _six_requests(database)
    with database.session() as session:
        report = build_report(
            session, MARCH, NOW, staff_hours=None, retention_days=90, tracker_store_url=_tracker(tmp_path)
        )
    expected = {(section, indicator): value for section, indicator, value in rows(report)}
    for fmt, figures in every_format(report).items():
        assert figures == expected, fmt
        assert figures[("Conseillers", "demandes")] == "6"
        assert figures[("Conseillers", "dont urgentes")] == "< 5"  # one person: not shown
        assert figures[("Conseillers", "issue : résolu")] == "5"
        assert figures[("Conseillers", "attente médiane (min)")] == "10"
        assert figures[("Conseillers", "encore ouvertes")] == "< 5"
        assert figures[("Conseillers", "demandes hors horaires")] == "—"  # STAFF_HOURS unknown
        assert figures[("Conseillers", "part des demandes hors horaires")] == "—"
        assert figures[("Citoyens", "conversations, semaine du 02/03/2026")] == "6"
        assert figures[("Citoyens", "conversations, semaine du 23/02/2026")] == "0"
    markdown = to_markdown(report)
    assert markdown.startswith("# Bilan Passerelle du 01/03/2026 au 31/03/2026\n")
    assert "effacées après 90 jours" in markdown
    assert "Produit le 01/04/2026 à 10:00." in markdown  # Paris time
    for fmt, figures in every_format(report).items():
        assert not [figure for figure in figures.items() if "300" in str(figure)], fmt  # never a chat id
    _, types = ods_figures(render(report, "ods"))
    assert "float" in types and "string" in types  # counts are numbers in the spreadsheet, « < 5 » stays text


def test_the_html_page_holds_its_charts(database: Database, tmp_path: Path) -> None:
    _six_requests(database)
    with database.session() as session:
        report = build_report(
            session, MARCH, NOW, staff_hours=None, retention_days=90, tracker_store_url=_tracker(tmp_path)
        )
    page = render(report, "html").decode("utf-8")
    _figures, images = html_figures(page)
    assert images >= 2  # conversations per week, handoffs: embedded, the page works offline
    assert page.startswith("<!DOCTYPE html>") and '<html lang="fr">' in page


def test_an_empty_period_gives_a_valid_report_in_every_format(database: Database, tmp_path: Path) -> None:
    with database.session() as session:
        report = build_report(
            session,
            Period(date(2020, 1, 6), date(2020, 1, 12)),
            NOW,
            staff_hours=None,
            retention_days=90,
            tracker_store_url=_tracker(tmp_path),
        )
    for fmt, figures in every_format(report).items():
        assert figures[("Conseillers", "demandes")] == "0" and figures[("Prêts", "prêts")] == "0", fmt
        assert figures[("Questions", "messages reçus")] == "0", fmt
        assert [key for key in figures if key[0] == "Fiches"] == [], fmt
    assert "## Ateliers" in to_markdown(report)


def test_a_structures_report_leaves_the_citizens_out(database: Database, tmp_path: Path) -> None:
    with database.session() as session:
        epn = Structure(name="EPN du Bourg", created_at=MONDAY)
        session.add(epn)
        session.flush()
        conseiller = StaffMember(telegram_user_id=9200, role="conseiller", structure_id=epn.id, joined_at=MONDAY)
        session.add(conseiller)
        session.flush()
        taker = conseiller.id
    _handoff(database, 500, MONDAY, status="claimed", claimed_at=MONDAY, claimed_by_id=taker)
    _handoff(database, 501, MONDAY)
    with database.session() as session:
        structure = session.get(Structure, epn.id)
        report = build_report(
            session,
            MARCH,
            NOW,
            staff_hours=None,
            retention_days=90,
            tracker_store_url=_tracker(tmp_path),
            structure=structure,
        )
    figures = csv_figures(to_csv(report))
    assert figures[("Conseillers", "demandes")] == "< 5"
    assert {section for section, _ in figures} == {"Conseillers", "Ateliers", "Prêts"}
    assert report.title.endswith("— EPN du Bourg")
    assert "rattachées à aucune structure" in to_markdown(report)


def test_the_command_writes_each_format_and_explains_its_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'report.db'}"
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("RASA_TRACKER_STORE_URL", _tracker(tmp_path))
    assert main(["db", "upgrade"]) == 0
    _handoff(Database(database_url), 400, MONDAY)
    period = ["--from", "2026-03-01", "--to", "2026-03-31"]
    output = tmp_path / "bilan.csv"
    assert main(["report", *period, "--format", "csv", "--output", str(output)]) == 0
    assert csv_figures(output.read_text(encoding="utf-8"))[("Conseillers", "demandes")] == "< 5"
    spreadsheet, charts = tmp_path / "bilan.ods", tmp_path / "graphiques"
    assert main(["report", *period, "--format", "ods", "--output", str(spreadsheet), "--charts", str(charts)]) == 0
    assert ods_figures(spreadsheet.read_bytes())[0][("Conseillers", "demandes")] == "< 5"
    assert sorted(path.suffix for path in charts.iterdir()) == [".png"] * len(list(charts.iterdir()))
    assert list(charts.iterdir())  # the week with its request at least

    assert main(["report", "--from", "2026-03-31", "--to", "2026-03-01"]) == 2
    assert "ends (2026-03-01) before it starts (2026-03-31)" in capsys.readouterr().err
    assert main(["report", *period, "--structure", "EPN inconnu"]) == 2
    assert "no structure named 'EPN inconnu'; known structures: none yet" in capsys.readouterr().err
