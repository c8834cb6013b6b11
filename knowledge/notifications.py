"""The outbox of timed messages: rows with a due time and a sent mark, delivered by the bot's scheduler.

Delivery claims a row with one atomic UPDATE (`… WHERE sent_at IS NULL AND claim is free`), sends, then marks it
sent: two bot processes never send the same row, a restart re-reads what is still due, and a row claimed by a
process that died is claimed again once its lease has passed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from knowledge.db import Database
from knowledge.models import Notification

CLAIM_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Outgoing:
    """A message ready to send: text, rows of buttons ({"title", "payload"} or {"title", "url"})."""

    chat_id: int
    text: str
    buttons: list[list[dict[str, str]]] = field(default_factory=list)


Renderer = Callable[[Session, Notification, datetime], Outgoing | None]
"""Builds the message of a notification kind at send time; None when it is no longer relevant (skipped)."""


def add_notification(
    session: Session, kind: str, ref_id: int, chat_id: int | None, due_at: datetime, now: datetime
) -> None:
    """Schedule a message (idempotent per kind and row: a second call re-arms the unsent one)."""
    existing = session.scalars(
        select(Notification).where(Notification.kind == kind, Notification.ref_id == ref_id)
    ).first()
    if existing is None:
        session.add(Notification(kind=kind, ref_id=ref_id, chat_id=chat_id, due_at=due_at, attempts=0, created_at=now))
    elif existing.sent_at is None:  # a row being sent keeps its claim: re-arming it must not send it twice
        existing.due_at, existing.chat_id = due_at, chat_id
    session.flush()


def due_ids(session: Session, now: datetime, limit: int = 100) -> list[int]:
    return list(
        session.scalars(
            select(Notification.id)
            .where(
                Notification.sent_at.is_(None),
                Notification.due_at <= now,
                or_(Notification.claimed_at.is_(None), Notification.claimed_at < now - CLAIM_LEASE),
            )
            .order_by(Notification.due_at, Notification.id)
            .limit(limit)
        )
    )


def claim(database: Database, notification_id: int, now: datetime) -> bool:
    """Take a due row for sending; False when another process has it or it was sent."""
    with database.session() as session:
        claimed = session.execute(
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.sent_at.is_(None),
                or_(Notification.claimed_at.is_(None), Notification.claimed_at < now - CLAIM_LEASE),
            )
            .values(claimed_at=now, attempts=Notification.attempts + 1)
        ).rowcount
    return claimed == 1


def prepare(database: Database, notification_id: int, now: datetime, renderers: dict[str, Renderer]) -> Outgoing | None:
    """The message of a claimed row, or None after marking it skipped (sign-up cancelled, unknown kind…)."""
    with database.session() as session:
        notification = session.get(Notification, notification_id)
        if notification is None:
            return None
        renderer = renderers.get(notification.kind.split(":")[0])  # "handoff_new:12": one per recipient
        outgoing = renderer(session, notification, now) if renderer and notification.chat_id is not None else None
        if outgoing is None:
            notification.sent_at, notification.outcome = now, "skipped"
        return outgoing


def mark_sent(database: Database, notification_id: int, now: datetime) -> None:
    with database.session() as session:
        session.execute(
            update(Notification).where(Notification.id == notification_id).values(sent_at=now, outcome="sent")
        )


def release(database: Database, notification_id: int, now: datetime, retry_in: timedelta) -> None:
    """Sending failed: try again later, or give up after MAX_ATTEMPTS."""
    with database.session() as session:
        notification = session.get(Notification, notification_id)
        if notification is None:
            return
        if notification.attempts >= MAX_ATTEMPTS:
            notification.sent_at, notification.outcome = now, "failed"
        else:
            notification.claimed_at, notification.due_at = None, now + retry_in


def purge_notifications(session: Session, now: datetime, retention: timedelta) -> int:
    """Delivered (or skipped, or failed) messages hold a chat id: deleted `retention` after they were done."""
    done = Notification.sent_at.is_not(None) & (Notification.sent_at < now - retention)
    return session.execute(delete(Notification).where(done)).rowcount or 0
