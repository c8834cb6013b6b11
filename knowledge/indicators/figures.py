"""How the report writes its figures: counts that single nobody out, and numbers the French way."""

from __future__ import annotations

SMALL_COUNT = 5
"""A count of people from 1 to 4 is shown as « < 5 »: too few to stay anonymous."""


def shown(count: int) -> str:
    """A count for the report: « < 5 » from 1 to 4, the number otherwise (0 names nobody)."""
    return "< 5" if 0 < count < SMALL_COUNT else str(count)


def percent(rate: float | None) -> str:
    """« 21,4 % », « 20 % » (French: decimal comma, a space before %); « — » when there is no rate."""
    if rate is None:
        return "—"
    return f"{rate * 100:.1f}".removesuffix(".0").replace(".", ",") + " %"


def counted(count: int, singular: str, plural: str, *, people: bool = False) -> str:
    """« 0 jour prêté », « 12 jours prêtés », « < 5 conversations » (a count of people from 1 to 4)."""
    if people and 0 < count < SMALL_COUNT:
        return f"{shown(count)} {plural}"
    return f"{integer(count)} {singular if count < 2 else plural}"


def integer(count: int) -> str:
    """« 1 234 » (a narrow no-break space between thousands)."""
    return f"{count:,}".replace(",", "\u202f")


def decimal(value: float | None) -> str:
    """« 12,5 », « 12 »: a decimal comma, one decimal at most; « — » when there is no value."""
    if value is None:
        return "—"
    return f"{value:.1f}".removesuffix(".0").replace(".", ",")
