"""Run with Rasa's Python (tests/test_tracker_store.py does): exercises nlu/stores/windowed_sql.py on a real SQL
database and prints one JSON line of findings."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    AllSlotsReset,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from stores import windowed_sql
from stores.windowed_sql import WindowedSQLTrackerStore

replayed: list[list[str]] = []
"""The state events older than the window that each read replayed (their types)."""
_latest_state = windowed_sql._latest_state


def _recording(rows: list) -> list:
    kept = _latest_state(rows)
    replayed.append([row.type_name for row in kept])
    return kept


windowed_sql._latest_state = _recording

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
slots:
  last_location: {type: any, influence_conversation: false, mappings: [{type: custom}]}
  looking_for: {type: text, influence_conversation: false, mappings: [{type: custom}]}
"""
)


async def main(endpoint: dict[str, object], turns: int, window: int) -> dict[str, object]:
    """`endpoint`: the tracker_store section of the endpoints file, as bot/rasa/project.py writes it."""
    settings = {k: v for k, v in endpoint.items() if k not in {"type", "window", "url"}}
    store = WindowedSQLTrackerStore(domain=DOMAIN, host=endpoint.get("url"), window=window, **settings)
    tracker = await store.get_or_create_tracker("long")
    start = time.time() - 3600
    tracker.update(SessionStarted(timestamp=start))
    tracker.update(SlotSet("last_location", {"commune": "Lille"}, timestamp=start))
    for turn in range(turns):
        stamp = start + 1 + turn
        tracker.update(UserUttered(f"message {turn}", timestamp=stamp))
        tracker.update(ActionExecuted("action_answer_faq", timestamp=stamp))
        tracker.update(BotUttered(f"answer {turn}", timestamp=stamp))
        tracker.update(ActionExecuted("action_listen", timestamp=stamp))
        if turn < turns // 2:  # a slot set at every turn of the first half: only its last value counts
            tracker.update(SlotSet("looking_for", f"lieu {turn}", timestamp=stamp))
        if turn == turns // 2:
            tracker.update(SlotSet("looking_for", "atelier", timestamp=stamp))
    await store.save(tracker)
    stored = store.engine.execute("select count(*) from events where sender_id = 'long'").scalar()

    loaded = await store.retrieve("long")
    assert loaded is not None
    findings: dict[str, object] = {
        "stored_after_first_save": stored,
        "events_in_memory": len(loaded.events),
        "last_location": loaded.get_slot("last_location"),
        "looking_for": loaded.get_slot("looking_for"),
        "latest_message": loaded.latest_message.text if loaded.latest_message else None,
        "replayed_state": replayed[-1] if replayed else [],
    }
    # One more turn on the windowed tracker, saved twice as Rasa may do: stored once, in order.
    loaded.update(UserUttered("encore une question"))
    await store.save(loaded)
    loaded.update(ActionExecuted("action_listen"))
    await store.save(loaded)
    rows = store.engine.execute("select type_name, data from events where sender_id = 'long' order by id").fetchall()
    findings["stored_after_new_turn"] = len(rows)
    findings["last_two"] = [json.loads(data).get("text") or json.loads(data).get("name") for _, data in rows[-2:]]
    findings["new_sender_stored"] = await _new_sender(store)
    findings["after_reset"] = await _reset_before_the_window(store, turns)
    return findings


async def _reset_before_the_window(store: WindowedSQLTrackerStore, turns: int) -> dict[str, object]:
    """Slots reset long ago stay reset; a slot set after the reset keeps its value."""
    tracker = await store.get_or_create_tracker("reset")
    start = time.time() - 3600
    tracker.update(SessionStarted(timestamp=start))
    tracker.update(SlotSet("last_location", {"commune": "Lille"}, timestamp=start))
    tracker.update(AllSlotsReset(timestamp=start))
    tracker.update(SlotSet("looking_for", "atelier", timestamp=start))
    for turn in range(turns):
        tracker.update(UserUttered(f"message {turn}", timestamp=start + 1 + turn))
        tracker.update(ActionExecuted("action_listen", timestamp=start + 1 + turn))
    await store.save(tracker)
    reads = len(replayed)
    loaded = await store.retrieve("reset")
    assert loaded is not None
    return {
        "last_location": loaded.get_slot("last_location"),
        "looking_for": loaded.get_slot("looking_for"),
        "replayed_state": replayed[-1] if len(replayed) > reads else None,  # None: the window held it all
    }


async def _new_sender(store: WindowedSQLTrackerStore) -> int:
    tracker = await store.get_or_create_tracker("fresh")
    tracker.update(UserUttered("bonjour"))
    await store.save(tracker)
    return store.engine.execute("select count(*) from events where sender_id = 'fresh'").scalar()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))))
