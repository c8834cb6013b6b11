"""Rasa's own command line (`rasa run ...`), without two costs Rasa 3.6 pays again for every message.

Measured with py-spy under load (bench/throughput.py):
- Rasa checks each answer of the action server with `jsonschema.validate(result, schema)`, which first checks the
  schema itself against its meta-schema: the same constant schema, for every action of every message. That was
  25-31 % of Rasa's CPU time. Here the validator is built once and only the answer is checked, with the same errors
  and the same message as Rasa's.
- Each event read back from the tracker store finds its class by walking every subclass of `Event`
  (`Event.resolve_by_type`): 10 % of Rasa's CPU time. Here the class found for a type name is remembered.
- Python's full garbage collections walk every object of the loaded model (hundreds of MiB), pausing the worker
  and every message it holds. Once the model is loaded, its objects are frozen out of the collector (`gc.freeze`);
  a collection still longer than half a second is logged.
Everything else is Rasa's command as it is. Run with Rasa's Python, from nlu/ (bot/services/processes.py does):

    python serve.py run --enable-api --model ... --endpoints ...
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from functools import cache
from typing import Any

import rasa.core.run
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.__main__ import main
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses


@cache
def _answer_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator = validator_for(schema)
    validator.check_schema(schema)  # once, as jsonschema.validate would do on every call
    return validator(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result of Rasa 3.6, with the validator built once."""
    try:
        _answer_validator().validate(result)
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action endpoint "
            f"is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise
    return True


_resolve_by_type = Event.resolve_by_type
_event_classes: dict[str, type[Event]] = {}


def _remembered_resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Event.resolve_by_type of Rasa 3.6, remembering the class it finds for each type name (the same one: the
    first subclass of that type name); an unknown name goes to Rasa's own (a default, or its error)."""
    found = _event_classes.get(type_name)
    if found is None:
        found = next((cls for cls in all_subclasses(Event) if cls.type_name == type_name), None)
        if found is None:
            return _resolve_by_type(type_name, default)
        _event_classes[type_name] = found
    return found


_load_agent_on_start = rasa.core.run.load_agent_on_start
log = logging.getLogger("passerelle.serve")
LONG_COLLECTION = 0.5
_collection_started = 0.0


async def _load_agent_then_freeze(*args: Any, **kwargs: Any) -> Any:
    """rasa.core.run.load_agent_on_start, then the objects it loaded frozen out of the garbage collector."""
    agent = await _load_agent_on_start(*args, **kwargs)
    gc.collect()
    gc.freeze()
    log.info("Model loaded: %d objects frozen out of the garbage collector", gc.get_freeze_count())
    return agent


def _time_collections(phase: str, info: dict[str, int]) -> None:
    global _collection_started
    if phase == "start":
        _collection_started = time.perf_counter()
    elif (paused := time.perf_counter() - _collection_started) > LONG_COLLECTION:
        log.warning("Garbage collection (generation %s) paused this worker %.2f s", info["generation"], paused)


RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
rasa.core.run.load_agent_on_start = _load_agent_then_freeze
gc.callbacks.append(_time_collections)
Event.resolve_by_type = staticmethod(_remembered_resolve_by_type)  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.argv[0] = "rasa"
    sys.exit(main())
