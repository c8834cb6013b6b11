"""The period a report covers, and how its counts are shown without singling anyone out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from knowledge.french import PARIS

SMALL_COUNT = 5
"""A count of people from 1 to 4 is shown as « < 5 »: too few to stay anonymous."""


@dataclass(frozen=True)
class Period:
    """From `first` to `last`, both included, in Paris time."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"the period ends ({self.last}) before it starts ({self.first})")

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first, time(), PARIS)

    @property
    def ends_before(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), PARIS)

    def holds(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_before


def shown(count: int) -> str:
    """A count for the report: « < 5 » from 1 to 4, the number otherwise (0 names nobody)."""
    return "< 5" if 0 < count < SMALL_COUNT else str(count)
