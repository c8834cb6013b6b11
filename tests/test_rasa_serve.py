"""nlu/serve.py runs Rasa's command without two per-message costs: the action server's answers are checked by a
validator compiled once (a good answer passes, a bad one is refused with Rasa's own error), and event classes are
found as Rasa finds them, once."""

from __future__ import annotations

import json
import subprocess

from bot.rasa.project import NLU_DIR, rasa_env
from tests.test_tracker_store import RASA_PYTHON

CHECK = """
import json
from unittest import mock

import jsonschema.validators
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import serve

action = RemoteAction("action_answer_faq", None)
good = {"events": [{"event": "slot", "name": "commune", "value": "Lille"}], "responses": [{"text": "Bonjour"}]}
findings = {}
with mock.patch.object(jsonschema.validators.Draft202012Validator, "check_schema",) as check:
    findings["good"] = [action._validate_action_result(good) for _ in range(3)]
    findings["schema_checks"] = check.call_count
try:
    action._validate_action_result({"events": "pas une liste"})
except ValidationError as error:
    findings["bad"] = error.message
print(json.dumps(findings))
"""


def in_rasa(code: str) -> dict:
    """Run `code` with Rasa's Python from nlu/ (as Rasa runs); the JSON line it prints last."""
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", code], cwd=NLU_DIR, env=rasa_env(), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_action_answers_are_validated_with_a_validator_built_once() -> None:
    findings = in_rasa(CHECK)
    assert findings["good"] == [True, True, True]
    assert findings["schema_checks"] <= 1  # Rasa's own code checks it at every answer
    assert findings["bad"].startswith("'pas une liste' is not of type 'array'")
    assert "Failed to validate Action server response from API" in findings["bad"]


RESOLVE = """
import json

from rasa.shared.core.events import Event, SlotSet

import serve

found = [Event.resolve_by_type(name) for name in ("slot", "user", "slot")]
findings = {
    "found": [cls.__name__ for cls in found],
    "default": Event.resolve_by_type("pas_un_evenement", default=SlotSet).__name__,
    "from_parameters": type(Event.from_parameters({"event": "slot", "name": "commune", "value": "Lille"})).__name__,
}
try:
    Event.resolve_by_type("pas_un_evenement")
except ValueError as error:
    findings["unknown"] = str(error)
print(json.dumps(findings))
"""


def test_event_classes_are_found_as_rasa_finds_them() -> None:
    assert in_rasa(RESOLVE) == {
        "found": ["SlotSet", "UserUttered", "SlotSet"],
        "default": "SlotSet",
        "from_parameters": "SlotSet",
        "unknown": "Unknown event name 'pas_un_evenement'.",
    }
