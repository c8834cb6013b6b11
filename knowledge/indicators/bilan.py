"""The /bilan a coordinateur asks for in Telegram: which report they may see, the periods offered, the period they
type, and the short text sent before the charts and the file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session

from knowledge.indicators.figures import counted, decimal, percent, shown
from knowledge.indicators.period import Period
from knowledge.indicators.report import Report
from knowledge.loans.bookings import coordinated_lender
from knowledge.models import Structure
from knowledge.staff import COORDINATEUR, member_of

_DATE = r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})|(\d{4})-(\d{2})-(\d{2})"


@dataclass(frozen=True)
class Audience:
    """What a coordinateur's /bilan covers: the whole network for the lender's coordinateurs (the network's leads),
    their own structure for the others."""

    structure: Structure | None


def audience(session: Session, user_id: int) -> Audience | None:
    """None unless the sender is a coordinateur (looked up by their Telegram id, never a name or a button)."""
    member = member_of(session, user_id)
    if member is None or member.role != COORDINATEUR:
        return None
    return Audience(None if coordinated_lender(session, user_id) is not None else member.structure)


def periods_offered(today: date) -> list[tuple[str, Period]]:
    """The buttons of /bilan: this half-year so far, the previous one (a comité de pilotage meets twice a year), and
    the last twelve months."""
    half = date(today.year, 1 if today.month <= 6 else 7, 1)
    previous = date(half.year - 1, 7, 1) if half.month == 1 else date(half.year, 1, 1)
    return [
        ("Ce semestre", Period(half, today)),
        ("Le semestre précédent", Period(previous, half - timedelta(days=1))),
        ("Les 12 derniers mois", Period(today - relativedelta(years=1) + timedelta(days=1), today)),
    ]


def typed_period(text: str) -> Period | None:
    """« 01/01/2026 30/06/2026 » or « 2026-01-01 2026-06-30 » (« du … au … » too); None when it is not two dates
    in order."""
    found = []
    for match in re.finditer(_DATE, text):
        day, month, year, iso_year, iso_month, iso_day = match.groups()
        try:
            found.append(
                date(int(year), int(month), int(day)) if year else date(int(iso_year), int(iso_month), int(iso_day))
            )
        except ValueError:
            return None
    if len(found) != 2 or found[1] < found[0]:
        return None
    return Period(found[0], found[1])


def summary_text(report: Report) -> str:
    """The figures a comité asks first, in a few short lines; the charts and the file carry the rest."""
    period = report.period
    about = f"« {report.structure} »" if report.structure else "le réseau"
    lines = [f"Bilan du {period.first:%d/%m/%Y} au {period.last:%d/%m/%Y}, pour {about}."]
    if report.weeks:
        conversations = sum(week.conversations for week in report.weeks)
        messages = sum(week.messages for week in report.weeks)
        lines.append(
            f"• Citoyens : {counted(conversations, 'conversation', 'conversations', people=True)}, "
            f"{counted(messages, 'message', 'messages', people=True)}."
        )
    if (questions := report.questions) is not None and questions.messages:
        rate = questions.not_understood_rate
        if rate is not None:
            lines.append(f"• Messages écrits non compris : {percent(rate)}.")
        top = [f"{title} ({shown(count)})" for title, count in list(questions.by_fiche.items())[:3]]
        if top:
            lines.append(f"• Fiches les plus demandées : {', '.join(top)}.")
    h = report.handoffs
    handoffs = f"• Conseillers : {counted(h.requests, 'demande', 'demandes', people=True)}"
    if h.wait_median_minutes is not None:
        handoffs += f", prises en charge en {decimal(h.wait_median_minutes)} min (médiane)"
    if h.rating_mean is not None:
        handoffs += f", satisfaction {decimal(h.rating_mean)}/5"
    lines.append(handoffs + ".")
    a = report.ateliers
    ateliers = (
        f"• Ateliers : {counted(a.held, 'tenu', 'tenus')}, {counted(a.confirmed, 'inscrit', 'inscrits', people=True)}, "
        f"{counted(a.present, 'présent', 'présents', people=True)}"
    )
    if a.fill_rate is not None:
        ateliers += f", {percent(a.fill_rate)} des places prises"
    lines.append(ateliers + ".")
    loans = report.loans
    reached = counted(loans.reached, "participant touché", "participants touchés")
    lines.append(f"• Matériel : {counted(loans.loans, 'prêt', 'prêts')}, {reached} d'après les bilans.")
    lines.append("Un nombre inférieur à 5 est noté « < 5 ». Les graphiques et le tableau complet suivent.")
    return "\n".join(lines)
