"""Rasa's tracker store reads back a bounded window of a long conversation, with exact slots, and stores each
event once, on SQLite and PostgreSQL (nlu/stores/windowed_sql.py, run in Rasa's own environment)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.rasa.project import NLU_DIR, rasa_env, write_endpoints
from knowledge.settings import PROJECT_ROOT

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
CHECK = Path(__file__).parent / "rasa_side" / "windowed_store_check.py"


def run_check(database_url: str, turns: int, window: int, tmp_path: Path) -> dict:
    if not RASA_PYTHON.exists():
        pytest.fail("Rasa's environment is missing: run `make setup`")
    endpoint = yaml.safe_load(
        write_endpoints("http://127.0.0.1:1/webhook", database_url, tmp_path / "e.yml").read_text()
    )
    result = subprocess.run(
        [str(RASA_PYTHON), str(CHECK), json.dumps(endpoint["tracker_store"]), str(turns), str(window)],
        cwd=NLU_DIR,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_long_conversation_is_read_back_as_a_window_with_its_slots(database_url: str, tmp_path: Path) -> None:
    turns, window = 1000, 200
    findings = run_check(database_url, turns, window, tmp_path)
    # The first action_listen, session start, slot, 4 events a turn, a slot at each turn of the first half and one
    # in the middle: each stored once.
    stored = 3 + 4 * turns + turns // 2 + 1
    assert findings["stored_after_first_save"] == stored
    assert findings["events_in_memory"] == window
    # Slots set long before the window are still known.
    assert findings["last_location"] == {"commune": "Lille"}
    assert findings["looking_for"] == "atelier"
    assert findings["latest_message"] == f"message {turns - 1}"
    # Of the 500 slot events before the window, only the state they leave is read back: the session's start and the
    # last value of each slot, whatever the conversation's length.
    assert findings["replayed_state"] == ["session_started", "slot", "slot"]
    # A reset long before the window still undoes the slots set before it, not those set after.
    assert findings["after_reset"] == {
        "last_location": None,
        "looking_for": "atelier",
        "replayed_state": ["reset_slots", "slot"],
    }
    # The new turn is stored once, after the others, though the tracker in memory held only a window.
    assert findings["stored_after_new_turn"] == stored + 2
    assert findings["last_two"] == ["encore une question", "action_listen"]
    assert findings["new_sender_stored"] == 2  # a new conversation: action_listen and its first message


def test_a_short_conversation_is_read_back_whole(tmp_path: Path) -> None:
    findings = run_check(f"sqlite:///{tmp_path / 'tracker.db'}", 10, 200, tmp_path)
    assert findings["events_in_memory"] == 3 + 4 * 10 + 10 // 2 + 1
    assert findings["looking_for"] == "atelier"
