"""Handoffs to a conseiller over a period: how many, how long citizens waited before someone took them, how they
ended, how citizens rated them, and how many came while the team was away."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.handoffs.tickets import OUTCOMES
from knowledge.indicators.figures import SMALL_COUNT
from knowledge.indicators.period import Period
from knowledge.models import Handoff
from knowledge.places.hours import hours_status
from knowledge.staff import accounts_of


@dataclass(frozen=True)
class HandoffIndicators:
    requests: int
    urgent: int
    claimed: int
    wait_median_minutes: float | None
    """From the request to « Prendre en charge », among those taken; None when fewer than SMALL_COUNT were."""
    wait_p90_minutes: float | None
    still_open: int
    """Waiting or being handled at the end of the period's data."""
    outcomes: dict[str, int] = field(default_factory=dict)
    """Closed requests by OUTCOMES key (a citizen who went back to the assistant: sans_suite); every key present."""
    ratings: dict[int, int] = field(default_factory=dict)
    """Citizens' ratings 1 to 5, every score present."""
    rating_mean: float | None = None
    """None under SMALL_COUNT ratings: a mean of one or two ratings would be those people's answers."""
    outside_hours: int | None = None
    """Requests made while the team was closed (STAFF_HOURS); None when the hours are unknown."""

    @property
    def outside_hours_share(self) -> float | None:
        """Their share of the requests; None without hours or requests, and for 1 to 4 (the share would tell)."""
        outside = self.outside_hours
        if outside is None or not self.requests or 0 < outside < SMALL_COUNT:
            return None
        return round(outside / self.requests, 3)


def handoff_indicators(
    session: Session, period: Period, staff_hours: str | None, structure_id: int | None = None
) -> HandoffIndicators:
    """The network's handoffs, or those a structure's conseillers took (a request nobody took belongs to none)."""
    query = select(Handoff).where(Handoff.created_at >= period.starts_at, Handoff.created_at < period.ends_before)
    if structure_id is not None:
        query = query.where(Handoff.claimed_by_id.in_(accounts_of(structure_id)))
    handoffs = session.scalars(query).all()
    waits = sorted((h.claimed_at - h.created_at).total_seconds() / 60 for h in handoffs if h.claimed_at is not None)
    enough = len(waits) >= SMALL_COUNT
    outcomes = Counter(h.outcome for h in handoffs if h.outcome)
    ratings = Counter(h.satisfaction for h in handoffs if h.satisfaction)
    statuses = [hours_status(staff_hours, h.created_at).open_now for h in handoffs] if staff_hours else []
    return HandoffIndicators(
        requests=len(handoffs),
        urgent=sum(1 for h in handoffs if h.urgent),
        claimed=len(waits),
        wait_median_minutes=round(statistics.median(waits), 1) if enough else None,
        wait_p90_minutes=round(statistics.quantiles(waits, n=10, method="inclusive")[-1], 1) if enough else None,
        still_open=sum(1 for h in handoffs if h.status != "closed"),
        outcomes={key: outcomes.get(key, 0) for key in OUTCOMES},
        ratings={score: ratings.get(score, 0) for score in range(1, 6)},
        rating_mean=round(statistics.fmean(ratings.elements()), 2) if ratings.total() >= SMALL_COUNT else None,
        outside_hours=sum(1 for open_now in statuses if open_now is False) if staff_hours else None,
    )
