"""A Rasa NLU component for input the intent classifier was not made for: it predicts `nlu_fallback`, with a reason.

A classifier always picks an intent, even for « 😭🙏 », « 50000 », a question in Arabic or a keyboard mash. This
component runs after the classifiers (and after the FallbackClassifier) and replaces the intent with
`nlu_fallback` and one of these reasons, which `action_fallback` answers each in its own way:

- `no_words`: no letter and no digit (emojis, punctuation alone);
- `number`: digits only, such as a postcode or a phone number (a postcode is also extracted as an entity);
- `other_language`: written mostly in a non-Latin script, or a sentence of three words or more that a language
  identifier (py3langid, whose model ships in the package) reads as another language, with an everyday word of
  that language and no French function word in it (« please help mon compte ameli » stays French);
- `unknown_words`: (almost) no word of the message is in the vocabulary of the training examples, allowing
  one or two typos per word (keyboard mashes, « azeaze »);
- `vague`: a message of one to three words that are each spread over many intents of the training data
  (« ligne », « connexion »), which the classifier does not recognise with certainty (« bonjour » is spread
  too, but certain): the assistant offers its best guesses instead of picking one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from typing import Any, Dict, List, Optional, Set, Tuple

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.base import ConfiguredComponent

_WORD = re.compile(r"[a-z0-9]+")
_FILE = "vocabulary.json"
NO_WORDS, NUMBER, OTHER_LANGUAGE = "no_words", "number", "other_language"
UNKNOWN_WORDS, VAGUE = "unknown_words", "vague"
# Languages the identifier chooses among: French and the languages most often spoken by newcomers in France.
LANGUAGES = ["fr", "en", "es", "pt", "it", "de", "nl", "ro", "pl", "tr", "ar", "fa", "ru", "uk", "zh", "vi"]
# French function words that no neighbouring language spells the same way (accents removed, as typed without
# them): one of them in a message means it is at least partly French, whatever the language identifier says.
FRENCH_MARKERS = frozenset(
    """je jai jarrive mon ma mes ton ta tes le les du des un une et est pas pour sur avec dans comment quoi il ils
    elle elles ne ca ce cette ces qu quand moi vous nous tu toi mais au aux ou oui non merci bonjour svp stp veux
    voudrais peux suis sais arrive faire fait ses son sa leur sans combien pourquoi encore aussi deja tout tous
    rien""".split()  # noqa: SIM905
)
# Everyday words of the other Latin-script languages that French never uses: the identifier's guess must be
# confirmed by one of them (« imprimante wifi installation » looks Italian to it, but has no Italian word).
FOREIGN_MARKERS = {
    language: frozenset(words.split())
    for language, words in {
        "en": "i im you my your the is are am can cant cannot dont doesnt need with this what how please hello hi "
        "thanks thank want help english speak",
        "es": "yo mi mis tengo necesito puedo como cuenta ayuda por hola gracias el los las con esta quiero hablo",
        "pt": "eu meu minha preciso ajuda nao obrigado obrigada voce para com estou quero falo",
        "it": "io mio mia non aiuto grazie sono ciao il della ho voglio parlo",
        "de": "ich mein meine nicht bitte brauche hilfe hallo und ist danke kann spreche",
        "nl": "ik mijn hulp niet hallo bedankt kan wil spreek",
        "ro": "eu nu am ajutor contul cont buna multumesc vreau pot vorbesc",
        "pl": "nie moj moje pomoc dzien dobry prosze jestem chce mowie",
        "tr": "ben benim yardim hesabim merhaba tesekkur istiyorum nasil",
        "vi": "toi xin chao cam on giup",
    }.items()
}


def normalise_words(text: str) -> List[str]:
    """Lower-case words without accents; single letters are dropped."""
    stripped = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return [word for word in _WORD.findall(stripped) if len(word) > 1]


def non_latin_share(text: str) -> float:
    """The share of the letters of `text` that belong to another script than the Latin one."""
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return 0.0
    return sum(not unicodedata.name(char, "LATIN").startswith("LATIN") for char in letters) / len(letters)


def _deletes(word: str) -> Set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnusualInputFallback(ConfiguredComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "min_known_ratio": 0.3,
            "min_words_for_ratio": 3,
            "fuzzy_min_length": 4,
            # another language: mostly non-Latin letters, or identified with this confidence (with a word of that
            # language and no French function word) in a message of at least this many words
            "non_latin_share": 0.5,
            "language_confidence": 0.99,
            "foreign_min_words": 3,
            # vague: at most this many distinct words, each found in this many intents or more, and never with
            # more than this share of its examples in a single intent
            "vague_max_words": 3,
            "vague_min_intents": 4,
            "vague_max_dominance": 0.4,
            "vague_max_confidence": 0.9,
        }

    @staticmethod
    def required_packages() -> List[str]:
        return ["py3langid"]

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        spread: Optional[Dict[str, Tuple[int, float]]] = None,
    ) -> None:
        super().__init__(config, model_storage, resource)
        self._index(spread or {})
        self._identifier: Any = None

    def _index(self, spread: Dict[str, Tuple[int, float]]) -> None:
        """`spread`: for each word of the training examples, in how many intents it appears, and the largest
        share of its examples that a single intent holds."""
        self.spread = spread
        self.vocabulary = set(spread)
        self.deleted = {
            d for word in self.vocabulary if len(word) >= self.config["fuzzy_min_length"] for d in _deletes(word)
        }

    def train(self, training_data: TrainingData) -> Resource:
        intents_of: Dict[str, Counter] = defaultdict(Counter)
        for example in training_data.intent_examples:
            for word in set(normalise_words(example.get(TEXT) or "")):
                intents_of[word][example.get(INTENT)] += 1
        spread = {
            word: (len(counts), round(max(counts.values()) / sum(counts.values()), 4))
            for word, counts in sorted(intents_of.items())
        }
        self._index(spread)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _FILE).write_text(json.dumps(spread), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UnusualInputFallback:
        try:
            with model_storage.read_from(resource) as directory:
                spread = {w: tuple(v) for w, v in json.loads((directory / _FILE).read_text(encoding="utf-8")).items()}
        except ValueError:
            spread = {}
        component = cls(config, model_storage, resource, spread)  # type: ignore[arg-type]
        component._load_identifier()  # at start-up, not on the first message in another language
        return component

    def is_known(self, word: str) -> bool:
        if word.isdigit() or word in self.vocabulary:
            return True
        if len(word) < self.config["fuzzy_min_length"]:
            return False
        return word in self.deleted or any(d in self.vocabulary or d in self.deleted for d in _deletes(word))

    def known_ratio(self, words: List[str]) -> float:
        return sum(self.is_known(word) for word in words) / len(words) if words else 0.0

    def _load_identifier(self) -> Any:
        if self._identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            self._identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
            self._identifier.set_languages(LANGUAGES)
        return self._identifier

    def language(self, text: str) -> tuple[str, float]:
        """The most likely language of `text` among LANGUAGES, and its probability."""
        language, probability = self._load_identifier().classify(text)
        return str(language), float(probability)

    def is_other_language(self, text: str, words: List[str]) -> bool:
        if non_latin_share(text) >= self.config["non_latin_share"]:
            return True
        if len(words) < self.config["foreign_min_words"] or FRENCH_MARKERS.intersection(words):
            return False
        language, probability = self.language(text)
        if language == "fr" or probability < self.config["language_confidence"]:
            return False
        return bool(FOREIGN_MARKERS.get(language, frozenset()).intersection(words))

    def reason(self, text: str, confidence: float = 0.0) -> Optional[str]:
        """Why the message is not for the intent classifier, or None when it is (`confidence`: the classifier's)."""
        if not any(char.isalnum() for char in text):
            return NO_WORDS
        if all(char.isdigit() for char in text if char.isalnum()):
            return NUMBER
        words = normalise_words(text)
        if self.is_other_language(text, words):
            return OTHER_LANGUAGE
        if not words or not self.vocabulary:
            return None
        ratio = self.known_ratio(words)
        if ratio == 0 or (len(words) >= self.config["min_words_for_ratio"] and ratio < self.config["min_known_ratio"]):
            return UNKNOWN_WORDS
        return VAGUE if confidence < self.config["vague_max_confidence"] and self.is_vague(words) else None

    def is_vague(self, words: List[str]) -> bool:
        distinct = set(words)
        if len(distinct) > self.config["vague_max_words"]:
            return False
        for word in distinct:
            intents, dominance = self.spread.get(word, (0, 1.0))
            if intents < self.config["vague_min_intents"] or dominance >= self.config["vague_max_dominance"]:
                return False
        return True

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.data.get(INTENT)
            if not intent:
                continue
            reason = self.reason(message.get(TEXT) or "", float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0))
            if reason is None:
                continue
            if intent.get(INTENT_NAME_KEY) == DEFAULT_NLU_FALLBACK_INTENT_NAME:
                intent["reason"] = reason
                continue
            fallback = {
                INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                PREDICTED_CONFIDENCE_KEY: 1.0 - float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0),
                "reason": reason,
            }
            message.data[INTENT] = fallback
            message.data.setdefault(INTENT_RANKING_KEY, []).insert(0, fallback)
        return messages
