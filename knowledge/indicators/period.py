"""The period a report covers: whole days in Paris time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from knowledge.french import PARIS


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
