"""A Rasa intent classifier: TF-IDF on word and character n-grams, and a linear SVM (scikit-learn).

Why not DIET: on this project's data (about 2,000 short French questions, 50 labels) a linear model on word
1–2-grams and character 2–5-grams, accents folded, trains in about a second, scores at least as well on the
held-out split (`nlu/eval/report.md` compares them), and gives the same model on every machine: liblinear is
single-threaded, its shuffling is seeded, and the examples are sorted before fitting so that the order in which
Rasa reads the data files does not matter. Character n-grams keep typos and missing accents survivable.

Confidence: a softmax over the SVM's one-vs-rest decision values, scaled by `temperature`. It is not a
probability, but it ranks, and the FallbackClassifier's threshold is chosen on the dev half of the held-out split.

Stored as plain data (the vocabularies in JSON, the weights in a NumPy file read without pickle): loading runs no
code from the model file, and takes milliseconds (skops, which Rasa uses for its own scikit-learn models, took
several seconds of the server's start-up to import).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from components.base import ConfiguredComponent

logger = logging.getLogger(__name__)
_VOCABULARIES = "vocabularies.json"
_WEIGHTS = "weights.npz"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(ConfiguredComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "word_ngrams": [1, 2],
            "char_ngrams": [2, 5],
            "C": 1.0,
            "temperature": 10.0,
            "random_state": 0,
            "ranking_length": 10,
        }

    @staticmethod
    def required_packages() -> List[str]:
        return ["sklearn"]

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabularies: Optional[List[Dict[str, int]]] = None,
        classifier: Optional[LinearSVC] = None,
    ) -> None:
        super().__init__(config, model_storage, resource)
        self.vectorizers = self._new_vectorizers(vocabularies)
        self.classifier = classifier

    def _new_vectorizers(self, vocabularies: Optional[List[Dict[str, int]]] = None) -> List[TfidfVectorizer]:
        """Word and character n-gram TF-IDF, accents folded; with `vocabularies`, fixed to those."""
        words, chars = vocabularies or [None, None]
        common = {"lowercase": True, "strip_accents": "unicode", "sublinear_tf": True, "dtype": np.float64}
        return [
            TfidfVectorizer(
                analyzer="word",
                ngram_range=tuple(self.config["word_ngrams"]),
                token_pattern=r"(?u)\b\w+\b",
                vocabulary=words,
                **common,
            ),
            TfidfVectorizer(
                analyzer="char_wb", ngram_range=tuple(self.config["char_ngrams"]), vocabulary=chars, **common
            ),
        ]

    def features(self, texts: List[str]) -> scipy.sparse.csr_matrix:
        return scipy.sparse.hstack([vectorizer.transform(texts) for vectorizer in self.vectorizers]).tocsr()

    @staticmethod
    def _examples(training_data: TrainingData) -> List[Tuple[str, str]]:
        """(text, intent) pairs, sorted: the model does not depend on the order of the data files."""
        pairs = {
            (example.get(TEXT), example.get(INTENT))
            for example in training_data.intent_examples
            if example.get(TEXT) and example.get(INTENT)
        }
        return sorted(pairs)

    def train(self, training_data: TrainingData) -> Resource:
        examples = self._examples(training_data)
        if len({intent for _, intent in examples}) < 2:
            logger.warning("LinearIntentClassifier needs at least two intents; not trained.")
            return self._resource
        texts = [text for text, _ in examples]
        for vectorizer in self.vectorizers:
            vectorizer.fit(texts)
        self.classifier = LinearSVC(C=self.config["C"], random_state=self.config["random_state"], max_iter=5000)
        self.classifier.fit(self.features(texts), [intent for _, intent in examples])
        with self._model_storage.write_to(self._resource) as directory:
            self._save(directory)
        return self._resource

    def _save(self, directory: Path) -> None:
        assert self.classifier is not None
        vocabularies = [{term: int(i) for term, i in v.vocabulary_.items()} for v in self.vectorizers]
        meta = {"classes": [str(c) for c in self.classifier.classes_], "vocabularies": vocabularies}
        (directory / _VOCABULARIES).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        idf = {f"idf{i}": v.idf_ for i, v in enumerate(self.vectorizers)}
        np.savez(directory / _WEIGHTS, coef=self.classifier.coef_, intercept=self.classifier.intercept_, **idf)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        with model_storage.read_from(resource) as directory:
            meta = json.loads((directory / _VOCABULARIES).read_text(encoding="utf-8"))
            with np.load(directory / _WEIGHTS, allow_pickle=False) as weights:
                classifier = LinearSVC()
                classifier.coef_, classifier.intercept_ = weights["coef"], weights["intercept"]
                classifier.classes_ = np.array(meta["classes"])
                component = cls(config, model_storage, resource, meta["vocabularies"], classifier)
                for i, vectorizer in enumerate(component.vectorizers):
                    vectorizer.idf_ = weights[f"idf{i}"]
        return component

    def ranking(self, texts: List[str]) -> List[List[Dict[str, Any]]]:
        """For each text, every intent with its confidence, best first."""
        assert self.classifier is not None
        scores = self.classifier.decision_function(self.features(texts))
        if scores.ndim == 1:  # two intents: one score, for the second class
            scores = np.stack([-scores, scores], axis=1)
        scores = scores * self.config["temperature"]
        scores -= scores.max(axis=1, keepdims=True)
        confidences = np.exp(scores)
        confidences /= confidences.sum(axis=1, keepdims=True)
        classes = self.classifier.classes_
        rankings = []
        for row in confidences:
            order = np.argsort(-row, kind="stable")
            rankings.append(
                [{INTENT_NAME_KEY: str(classes[i]), PREDICTED_CONFIDENCE_KEY: float(row[i])} for i in order]
            )
        return rankings

    def process(self, messages: List[Message]) -> List[Message]:
        if not messages:
            return messages
        if self.classifier is None:
            raise ValueError("LinearIntentClassifier is not trained")
        texts = [m.get(TEXT) or "" for m in messages]
        for message, ranking in zip(messages, self.ranking(texts), strict=True):
            message.set(INTENT, ranking[0], add_to_output=True)
            length = self.config["ranking_length"]
            message.set(INTENT_RANKING_KEY, ranking[:length] if length > 0 else ranking, add_to_output=True)
        return messages
