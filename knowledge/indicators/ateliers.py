"""Ateliers over a period: held and cancelled, by theme; sign-ups, waiting lists, cancellations by citizens, and
attendance as the conseillers marked it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from knowledge.indicators.period import Period
from knowledge.models import Atelier, Structure
from knowledge.staff import accounts_of


@dataclass(frozen=True)
class AtelierIndicators:
    held: int
    cancelled: int
    seats: int
    """Seats offered by the ateliers held."""
    confirmed: int
    waiting: int
    """Still on a waiting list when the atelier took place."""
    cancelled_by_citizens: int
    present: int
    absent: int
    unmarked: int
    by_theme: dict[str, int] = field(default_factory=dict)
    """Ateliers held per theme (« autre » when the source gives none), most frequent first."""

    @property
    def fill_rate(self) -> float | None:
        return round(self.confirmed / self.seats, 2) if self.seats else None


def atelier_indicators(session: Session, period: Period, structure_id: int | None = None) -> AtelierIndicators:
    """The network's ateliers, or a structure's: run by one of its accounts, or held at its place."""
    query = (
        select(Atelier)
        .where(Atelier.start >= period.starts_at, Atelier.start < period.ends_before)
        .options(selectinload(Atelier.registrations))
    )
    if structure_id is not None:
        own_place = select(Structure.place_source_id).where(Structure.id == structure_id).scalar_subquery()
        query = query.where(
            or_(Atelier.staff_member_id.in_(accounts_of(structure_id)), Atelier.place_source_id == own_place)
        )
    ateliers = session.scalars(query).all()
    held = [a for a in ateliers if not a.cancelled]
    registrations = [r for a in held for r in a.registrations]
    statuses = Counter(r.status for r in registrations)
    confirmed = [r for r in registrations if r.status == "confirmed"]
    themes = Counter((a.theme or "").strip() or "autre" for a in held)
    return AtelierIndicators(
        held=len(held),
        cancelled=len(ateliers) - len(held),
        seats=sum(a.capacity for a in held),
        confirmed=statuses["confirmed"],
        waiting=statuses["waiting"],
        cancelled_by_citizens=statuses["cancelled"],
        present=sum(1 for r in confirmed if r.attended is True),
        absent=sum(1 for r in confirmed if r.attended is False),
        unmarked=sum(1 for r in confirmed if r.attended is None),
        by_theme=dict(themes.most_common()),
    )
