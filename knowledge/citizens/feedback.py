"""Anonymous feedback on the fiches: no sender is kept, only the fiche and whether it helped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from knowledge.models import FicheFeedback


@dataclass(frozen=True)
class FeedbackCount:
    topic: str
    worked: int
    failed: int


def record_feedback(session: Session, topic: str, worked: bool, now: datetime) -> None:
    session.add(FicheFeedback(topic=topic, worked=worked, created_at=now))


def feedback_by_topic(session: Session, since: datetime | None = None) -> list[FeedbackCount]:
    """Per fiche, how many said it worked and how many said it did not, most failures first."""
    failed = func.sum(case((FicheFeedback.worked.is_(False), 1), else_=0))
    query = select(FicheFeedback.topic, func.sum(case((FicheFeedback.worked, 1), else_=0)), failed).group_by(
        FicheFeedback.topic
    )
    if since is not None:
        query = query.where(FicheFeedback.created_at >= since)
    rows = session.execute(query.order_by(failed.desc(), FicheFeedback.topic)).all()
    return [FeedbackCount(topic, int(worked or 0), int(failed_ or 0)) for topic, worked, failed_ in rows]
