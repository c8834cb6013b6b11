"""What citizens asked over a period, from the minimal records Passerelle keeps (no id, no text): conversations
and messages per week, and the « Ça a marché ? » answers per fiche, the fiches to improve first."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.french import PARIS
from knowledge.indicators.figures import SMALL_COUNT
from knowledge.indicators.period import Period
from knowledge.models import Conversation, FicheFeedback


@dataclass(frozen=True)
class Week:
    monday: date
    conversations: int
    messages: int


@dataclass(frozen=True)
class FicheScore:
    topic: str
    worked: int
    did_not: int

    @property
    def answers(self) -> int:
        return self.worked + self.did_not

    @property
    def success_rate(self) -> float | None:
        """Share of « oui »; None under SMALL_COUNT answers (too few to judge a fiche, or to stay anonymous)."""
        return round(self.worked / self.answers, 2) if self.answers >= SMALL_COUNT else None


def weeks(session: Session, period: Period) -> list[Week]:
    """Every week the period touches (Monday first, empty weeks included): conversations started, their messages."""
    rows = session.execute(
        select(Conversation.started_at, Conversation.message_count).where(
            Conversation.started_at >= period.starts_at, Conversation.started_at < period.ends_before
        )
    ).all()
    conversations, messages = Counter[date](), Counter[date]()
    for started_at, count in rows:
        monday = _monday(started_at.astimezone(PARIS).date())
        conversations[monday] += 1
        messages[monday] += count
    first, last = _monday(period.first), _monday(period.last)
    mondays = [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
    return [Week(monday, conversations[monday], messages[monday]) for monday in mondays]


def fiche_scores(session: Session, period: Period) -> list[FicheScore]:
    """Each fiche answered in the period, the ones that helped least first (those judged on enough answers)."""
    rows = session.execute(
        select(FicheFeedback.topic, FicheFeedback.worked, func.count())
        .where(FicheFeedback.created_at >= period.starts_at, FicheFeedback.created_at < period.ends_before)
        .group_by(FicheFeedback.topic, FicheFeedback.worked)
    ).all()
    worked, did_not = Counter[str](), Counter[str]()
    for topic, yes, count in rows:
        (worked if yes else did_not)[topic] += count
    scores = [FicheScore(topic, worked[topic], did_not[topic]) for topic in worked.keys() | did_not.keys()]
    return sorted(scores, key=lambda s: (s.success_rate is None, s.success_rate or 0.0, -s.answers, s.topic))


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
