"""A Rasa NLU component that predicts `nlu_fallback` when a message shares (almost) no word with the training data.

Neural classifiers give confident answers to keyboard mashes ("azeaze", "fghfgh jkjk"). This component learns
the vocabulary of the training examples (lower case, accents removed) and, at prediction time, counts how many
words of the message are known, allowing one or two typos per word. With no known word, or fewer than
`min_known_ratio` of them in a longer message, it replaces the intent with `nlu_fallback`, as the
FallbackClassifier does. Messages without letters (emojis, "?") are left to the other classifiers.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Dict, List, Optional, Set

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_WORD = re.compile(r"[a-z0-9]+")
_FILE = "vocabulary.json"


def normalise_words(text: str) -> List[str]:
    """Lower-case words without accents; single letters are dropped."""
    stripped = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return [word for word in _WORD.findall(stripped) if len(word) > 1]


def _deletes(word: str) -> Set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsFallback(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"min_known_ratio": 0.3, "min_words_for_ratio": 3, "fuzzy_min_length": 4}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: Optional[Set[str]] = None,
    ) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self._index(vocabulary or set())

    def _index(self, vocabulary: Set[str]) -> None:
        self.vocabulary = vocabulary
        self.deleted = {
            d for word in vocabulary if len(word) >= self.config["fuzzy_min_length"] for d in _deletes(word)
        }

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnknownWordsFallback:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary = {word for example in training_data.intent_examples for word in normalise_words(example.get(TEXT))}
        self._index(vocabulary)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _FILE).write_text(json.dumps(sorted(vocabulary)), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UnknownWordsFallback:
        try:
            with model_storage.read_from(resource) as directory:
                vocabulary = set(json.loads((directory / _FILE).read_text(encoding="utf-8")))
        except ValueError:
            vocabulary = set()
        return cls(config, model_storage, resource, vocabulary)

    def is_known(self, word: str) -> bool:
        if word.isdigit() or word in self.vocabulary:
            return True
        if len(word) < self.config["fuzzy_min_length"]:
            return False
        return word in self.deleted or any(d in self.vocabulary or d in self.deleted for d in _deletes(word))

    def should_fall_back(self, text: str) -> bool:
        words = normalise_words(text)
        if not words or not self.vocabulary:
            return False
        known = sum(self.is_known(word) for word in words)
        if known == 0:
            return True
        return len(words) >= self.config["min_words_for_ratio"] and known / len(words) < self.config["min_known_ratio"]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.data.get(INTENT)
            if not intent or not self.should_fall_back(message.get(TEXT) or ""):
                continue
            confidence = 1.0 - float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
            fallback = {
                INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                PREDICTED_CONFIDENCE_KEY: confidence,
                "reason": "unknown_words",
            }
            message.data[INTENT] = fallback
            message.data.setdefault(INTENT_RANKING_KEY, []).insert(0, fallback)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
