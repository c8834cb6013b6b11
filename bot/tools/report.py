"""`passerelle report`: the steering committee's indicators over a period, for the network or one structure, in
Markdown, CSV, HTML or ODS, and optionally its charts as PNG files."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from bot.settings import Settings
from knowledge.db import Database
from knowledge.indicators.period import Period
from knowledge.indicators.report import Report, build_report, find_structure
from knowledge.models import Structure

BINARY = {"ods"}


def day(value: str) -> date:
    """An argparse type: a date written YYYY-MM-DD."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def configured_report(session: Session, settings: Settings, period: Period, structure: Structure | None) -> Report:
    """The report from the configured databases, hours and retention (the command and /bilan)."""
    return build_report(
        session,
        period,
        datetime.now(UTC),
        staff_hours=settings.staff_hours,
        retention_days=settings.retention_days,
        tracker_store_url=settings.tracker_store_url,
        structure=structure,
    )


def make_report(settings: Settings, period: Period, structure_name: str | None = None) -> Report:
    """ValueError (English) for a structure nobody knows."""
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            structure = find_structure(session, structure_name) if structure_name else None
            return configured_report(session, settings, period, structure)
    finally:
        database.dispose()


def report(
    settings: Settings,
    first: date,
    last: date,
    fmt: str,
    output: Path | None,
    structure: str | None = None,
    charts_dir: Path | None = None,
) -> int:
    try:
        built = make_report(settings, Period(first, last), structure)
    except ValueError as error:
        print(f"passerelle report: {error}", file=sys.stderr)
        return 2
    if fmt in BINARY and output is None and sys.stdout.isatty():
        print(f"passerelle report: --format {fmt} is a binary file: give --output FILE", file=sys.stderr)
        return 2
    from knowledge.indicators.charts import render_charts  # matplotlib: only where a report is written
    from knowledge.indicators.documents import render

    charts = render_charts(built) if fmt == "html" or charts_dir else None
    content = render(built, fmt, charts)
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        output.write_bytes(content)
        print(f"Report written to {output}", file=sys.stderr)
    if charts_dir is not None and charts:
        charts_dir.mkdir(parents=True, exist_ok=True)
        for chart in charts:
            (charts_dir / f"{chart.name}.png").write_bytes(chart.png)
        print(f"{len(charts)} charts written to {charts_dir}", file=sys.stderr)
    return 0
