"""Loans of the shared equipment over a period, for the lending convention's indicators: loans per kit and per
structure, days lent and occupancy, refusals by reason, items missing or damaged, and the borrowers' bilans."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.french import PARIS
from knowledge.indicators.figures import SMALL_COUNT
from knowledge.indicators.period import Period
from knowledge.models import Booking, Incident, Inspection, Kit, Structure
from knowledge.staff import accounts_of

LENT = ("approved", "checked_out", "returned")


@dataclass(frozen=True)
class KitUse:
    kit: str
    loans: int
    days_lent: int
    occupancy: float
    """Days lent over the days of the period."""


@dataclass(frozen=True)
class LoanIndicators:
    loans: int
    kits: list[KitUse] = field(default_factory=list)
    by_structure: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    """Refused requests by reason, the most frequent first."""
    missing_items: int = 0
    damaged_items: int = 0
    breakdowns: int = 0
    """Breakdowns reported by borrowers during the period."""
    bilans: int = 0
    reached: int = 0
    """Participants the borrowers say they reached."""
    by_nature: dict[str, int] = field(default_factory=dict)
    by_public: dict[str, int] = field(default_factory=dict)
    rating_mean: float | None = None
    """The borrowers' appréciation (1 to 5); None under SMALL_COUNT bilans."""


def loan_indicators(session: Session, period: Period, structure_id: int | None = None) -> LoanIndicators:
    """The network's loans, or those a structure borrowed (its kits' occupancy then counts its own loans)."""
    overlapping = [Booking.kind == "loan", Booking.starts_at < period.ends_before, Booking.ends_at > period.starts_at]
    if structure_id is not None:
        overlapping.append(Booking.structure_id == structure_id)
    loans = session.scalars(select(Booking).where(*overlapping, Booking.status.in_(LENT))).all()
    refused = session.scalars(select(Booking).where(*overlapping, Booking.status == "refused")).all()
    kits = session.scalars(select(Kit).order_by(Kit.name)).all()
    structures = {s.id: s.name for s in session.scalars(select(Structure))}
    days_in_period = (period.last - period.first).days + 1
    uses = []
    for kit in kits:
        own = [loan for loan in loans if loan.kit_id == kit.id]
        days = len(set().union(*(_days(loan, period) for loan in own))) if own else 0
        uses.append(KitUse(kit.name, len(own), days, round(days / days_in_period, 2)))
    loan_ids = [loan.id for loan in loans]
    states = (
        Counter(
            session.scalars(
                select(Inspection.state).where(Inspection.booking_id.in_(loan_ids), Inspection.phase == "check_in")
            )
        )
        if loan_ids
        else Counter[str]()
    )
    bilans = [loan for loan in loans if loan.bilan_at is not None]
    ratings = [loan.rating for loan in bilans if loan.rating]
    reported = select(Incident.id).where(
        Incident.created_at >= period.starts_at, Incident.created_at < period.ends_before
    )
    if structure_id is not None:
        reported = reported.where(Incident.reported_by_id.in_(accounts_of(structure_id)))
    breakdowns = session.scalars(reported).all()
    return LoanIndicators(
        loans=len(loans),
        kits=uses,
        by_structure=dict(Counter(structures.get(loan.structure_id, "autre") for loan in loans).most_common()),
        refusals=dict(Counter((loan.reason or "sans motif").strip() for loan in refused).most_common()),
        missing_items=states["missing"],
        damaged_items=states["damaged"],
        breakdowns=len(breakdowns),
        bilans=len(bilans),
        reached=sum(loan.reached or 0 for loan in bilans),
        by_nature=dict(Counter(loan.nature or "autre" for loan in loans).most_common()),
        by_public=dict(Counter(loan.reached_public or loan.public or "autre" for loan in bilans).most_common()),
        rating_mean=round(statistics.fmean(ratings), 2) if len(ratings) >= SMALL_COUNT else None,
    )


def _days(loan: Booking, period: Period) -> set[date]:
    """The calendar days (Paris) a loan holds within the period, from its pickup to its return."""
    first = max(_date(loan.starts_at), period.first)
    last = min(_date(loan.ends_at - timedelta(microseconds=1)), period.last)
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def _date(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()
