"""A Rasa NLU component that puts safety first: whatever the classifier said, a person in danger gets `danger`, and
a message describing a scam gets the arnaques fiche.

It runs last in the pipeline. The detection is the lexicon of knowledge/safety.py (expressions with typos, no
accents, SMS spellings; idioms such as « je meurs de rire » removed first), plus the classifier's own `danger`
intent when it is the best guess, at any confidence. The parse data says which situations were recognised
(`situations`, for the numbers to give) and which kind of scam (`scam`: suspicious or already_paid), and keeps the
fiche the classifier had chosen (`about`), so that the answer can offer it after the scam advice.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.base import ConfiguredComponent
from knowledge.safety import assess, load_lexicon

DANGER_INTENT = "danger"
SCAM_INTENT = "faq_arnaques"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyOverride(ConfiguredComponent, IntentClassifier):
    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, model_storage, resource)
        load_lexicon()  # a broken lexicon stops Rasa at start-up, not at a citizen's message

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.data.get(INTENT)
            if intent:
                self._override(message, intent)
        return messages

    def _override(self, message: Message, intent: Dict[str, Any]) -> None:
        assessment = assess(message.get(TEXT) or "")
        ranking = message.data.setdefault(INTENT_RANKING_KEY, [])
        best_guess = next((i for i in ranking if i.get(INTENT_NAME_KEY) != DEFAULT_NLU_FALLBACK_INTENT_NAME), None)
        classifier_says_danger = bool(best_guess and best_guess.get(INTENT_NAME_KEY) == DANGER_INTENT)
        if assessment.danger or classifier_says_danger:
            override = {
                INTENT_NAME_KEY: DANGER_INTENT,
                PREDICTED_CONFIDENCE_KEY: 1.0,
                "situations": list(assessment.situations),
                "detected_by": "lexicon" if assessment.danger else "classifier",
            }
        elif assessment.scam:
            override = {
                INTENT_NAME_KEY: SCAM_INTENT,
                PREDICTED_CONFIDENCE_KEY: 1.0,
                "scam": assessment.scam,
                "about": _fiche_intent(best_guess),
            }
        else:
            return
        message.data[INTENT] = override
        ranking.insert(0, override)


def _fiche_intent(guess: Optional[Dict[str, Any]]) -> Optional[str]:
    name = (guess or {}).get(INTENT_NAME_KEY) or ""
    return name if name.startswith("faq_") and name != SCAM_INTENT else None
