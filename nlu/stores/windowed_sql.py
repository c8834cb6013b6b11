"""Rasa's SQL tracker store, with a bounded cost per message.

Rasa's `SQLTrackerStore` reads back every event of the current session for each message, replays them, lets the
policies featurize them and sends them all to the action server: each message of a long conversation costs more
than the one before. This store reads only the last `window` events of the session, plus the session's earlier
events that carry state (slots, active loop, pause, restart), so that the tracker's slots stay exact, and keeps
only the window in memory (Rasa's own `max_event_history`). Sessions themselves expire after the idle time of the
domain's `session_config`.

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
_MARK = "_passerelle_last_stored"


class WindowedSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, window: int = 200, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = int(window)
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
            if first_in_window is not None:
                query = query.filter(
                    sa.or_(self.SQLEvent.id >= first_in_window, self.SQLEvent.type_name.in_(STATE_EVENTS))
                )
            events = [Event.from_parameters(json.loads(row.data)) for row in query.all()]
        if not events or not self.domain:
            return None
        tracker = DialogueStateTracker.from_events(
            sender_id, [e for e in events if e is not None], self.domain.slots, max_event_history=self.window
        )
        setattr(tracker, _MARK, tracker.events[-1] if tracker.events else None)
        return tracker

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        if not hasattr(tracker, _MARK):  # a tracker this store did not load: Rasa's own rule (a new one: all)
            new = list(super()._additional_events(session, tracker))
        else:
            new = _after(list(tracker.events), getattr(tracker, _MARK))
        setattr(tracker, _MARK, tracker.events[-1] if tracker.events else None)
        return iter(new)


def _after(events: list[Event], last_stored: Event | None) -> list[Event]:
    """The events after `last_stored` (by identity)."""
    if last_stored is None:
        return events
    for position in range(len(events) - 1, -1, -1):
        if events[position] is last_stored:
            return events[position + 1 :]
    log.warning("The last stored event left the window: storing the %d events of the window", len(events))
    return events
