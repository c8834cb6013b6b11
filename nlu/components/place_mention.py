"""A Rasa NLU component that understands a place typed as an answer: a postcode or a commune name, alone or with
a few words ("50000", "st lo", "j'habite cherbourg").

The commune index of knowledge/places/communes.py (a dataset derived from La Poste's and INSEE's open data, fuzzy names
with rapidfuzz) decides whether the whole message is a place. If so, the intent becomes `inform_place`, whatever
the classifier or the unusual-input check said (a bare number is "unusual" otherwise). A place inside a question
("de l'aide à st lo") keeps the classifier's intent: the action reads the place from the text itself.
It runs before SafetyOverride, which always has the last word.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.base import ConfiguredComponent
from knowledge.places.communes import communes

PLACE_INTENT = "inform_place"
KEEP_INTENTS = ("danger",)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class PlaceMention(ConfiguredComponent, IntentClassifier):
    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, model_storage, resource)
        communes()  # load the dataset at start-up, not at a citizen's first message

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.data.get(INTENT)
            text = message.get(TEXT) or ""
            if not intent or text.startswith("/") or intent.get(INTENT_NAME_KEY) in KEEP_INTENTS:
                continue
            resolution = communes().find_in_sentence(text)
            if resolution is None or not resolution.whole:
                continue
            override = {
                INTENT_NAME_KEY: PLACE_INTENT,
                PREDICTED_CONFIDENCE_KEY: 1.0,
                "place_status": resolution.status,
            }
            message.data[INTENT] = override
            message.data.setdefault(INTENT_RANKING_KEY, []).insert(0, override)
        return messages
