"""Rasa's SQL tracker store, with a bounded cost per message.

Rasa's `SQLTrackerStore` reads back every event of the current session for each message, replays them, lets the
policies featurize them and sends them all to the action server: each message of a long conversation costs more
than the one before. This store reads only the last `window` events of the session, plus the few earlier
events the state still depends on (the latest value of each slot, the active loop, a pause), so that the slots
stay exact at a cost that does not grow with the conversation. It keeps only the window in memory (Rasa's own
`max_event_history`). Sessions themselves expire after the idle time of the domain's `session_config`.

Saving: Rasa finds the new events by counting the stored ones, which a window breaks; here they are the events
after the last one this store loaded or saved for that tracker object.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

log = logging.getLogger(__name__)

STATE_EVENTS = ("session_started", "slot", "reset_slots", "restart", "active_loop", "pause", "resume")
"""Event types whose effect outlives their turn: replayed even when they are older than the window."""
RESETS = ("session_started", "reset_slots", "restart")
"""State events that undo the ones before them."""
_MARK = "_passerelle_last_stored"


class WindowedSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, window: int = 200, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = int(window)
        if self.engine.dialect.name == "sqlite":  # PostgreSQL in deployments; SQLite for `make run` and the tests
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.engine.dispose()  # connections opened before the listener get the pragmas when opened again
        events = self.SQLEvent.__table__
        for index in (
            sa.Index("ix_events_sender_id_id", events.c.sender_id, events.c.id),
            sa.Index("ix_events_sender_type_time", events.c.sender_id, events.c.type_name, events.c.timestamp),
        ):
            index.create(self.engine, checkfirst=True)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions:  # the HTTP API's full history: rare, and never saved back
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            first_in_window = (
                query.with_entities(self.SQLEvent.id)
                .order_by(None)
                .order_by(self.SQLEvent.id.desc())
                .offset(self.window - 1)
                .limit(1)
                .scalar()
            )
            if first_in_window is None:
                rows = query.all()
            else:
                rows = _latest_state(self._latest_state_rows(session, query, first_in_window))
                rows += query.filter(self.SQLEvent.id >= first_in_window).all()
            events = [Event.from_parameters(json.loads(row.data)) for row in rows]
        if not events or not self.domain:
            return None
        tracker = DialogueStateTracker.from_events(
            sender_id, [e for e in events if e is not None], self.domain.slots, max_event_history=self.window
        )
        setattr(tracker, _MARK, tracker.events[-1] if tracker.events else None)
        return tracker

    def _latest_state_rows(self, session: Any, query: Any, before: int) -> list[Any]:
        """Newest first, the latest state event of each kind before the window: per slot (Rasa stores a slot event's
        name in `action_name`), per loop, per kind of reset. The database groups them, so their number is bounded by
        the domain, not by the conversation's length."""
        event = self.SQLEvent
        latest = (
            query.with_entities(sa.func.max(event.id))
            .order_by(None)
            .filter(event.id < before, event.type_name.in_(STATE_EVENTS))
            .group_by(event.type_name, event.action_name)
        )
        ids = [row[0] for row in latest.all()]
        return session.query(event).filter(event.id.in_(ids)).order_by(event.id.desc()).all() if ids else []

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        if not hasattr(tracker, _MARK):  # a tracker this store did not load: Rasa's own rule (a new one: all)
            new = list(super()._additional_events(session, tracker))
        else:
            new = _after(list(tracker.events), getattr(tracker, _MARK))
        setattr(tracker, _MARK, tracker.events[-1] if tracker.events else None)
        return iter(new)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Write-ahead log: readers never wait for a writer (several Rasa workers share the file), and a commit needs no
    sync of the whole file (synchronous=NORMAL is durable with WAL except on power loss)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _latest_state(newest_first: list[Any]) -> list[Any]:
    """Of the state events older than the window (newest first; at least the latest of each kind), those the
    tracker's state still depends on, oldest first: the latest value of each slot, the latest active loop and pause
    or resume, back to the latest reset (a restart, a reset of the slots or the session's start, which is kept).
    Replaying them gives the same state as replaying them all."""
    kept, seen = [], set()
    for row in newest_first:
        if row.type_name in RESETS:
            kept.append(row)
            break
        key = (row.type_name, row.action_name) if row.type_name == "slot" else row.type_name  # action_name: the slot
        key = "pause" if key == "resume" else key
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept[::-1]


def _after(events: list[Event], last_stored: Event | None) -> list[Event]:
    """The events after `last_stored` (by identity)."""
    if last_stored is None:
        return events
    for position in range(len(events) - 1, -1, -1):
        if events[position] is last_stored:
            return events[position + 1 :]
    log.warning("The last stored event left the window: storing the %d events of the window", len(events))
    return events
