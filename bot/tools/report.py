"""`passerelle report`: the steering committee's indicators over a period, as Markdown or CSV."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from bot.settings import Settings
from knowledge.db import Database
from knowledge.indicators.period import Period
from knowledge.indicators.report import build_report, to_csv, to_markdown

FORMATS = {"md": to_markdown, "csv": to_csv}


def day(value: str) -> date:
    """An argparse type: a date written YYYY-MM-DD."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def report(settings: Settings, first: date, last: date, fmt: str, output: Path | None) -> int:
    try:
        period = Period(first, last)
    except ValueError as error:
        print(f"passerelle report: {error}", file=sys.stderr)
        return 2
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            built = build_report(
                session,
                period,
                datetime.now(UTC),
                staff_hours=settings.staff_hours,
                retention_days=settings.retention_days,
            )
    finally:
        database.dispose()
    text = FORMATS[fmt](built)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"Report written to {output}", file=sys.stderr)
    return 0
