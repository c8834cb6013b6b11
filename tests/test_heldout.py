"""The held-out split is never trained on, and covers every label of the contract."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import yaml

from bot.rasa.project import NLU_DIR, build_faq_data
from bot.tools.evaluation import HELDOUT, OUT_OF_SCOPE, load_heldout
from knowledge.fiches import TOPICS_FILE, load_topics


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def training_texts() -> set[str]:
    build_faq_data()
    texts = set()
    for path in (NLU_DIR / "data").glob("*.yml"):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" not in item:
                continue
            texts.update(normalise(line[2:]) for line in item["examples"].splitlines() if line.startswith("- "))
    return texts


def test_no_heldout_message_is_in_the_training_data() -> None:
    training = training_texts()
    leaked = [e.text for e in load_heldout() if normalise(e.text) in training]
    assert not leaked, f"held-out messages found in the training data: {leaked[:10]}"


def test_heldout_covers_every_topic_and_out_of_scope() -> None:
    counts = Counter(e.label for e in load_heldout(HELDOUT))
    for topic in load_topics():
        assert counts[topic] >= 5, topic
    assert counts[OUT_OF_SCOPE] >= 50


def test_every_intent_of_the_contract_is_trained_with_enough_examples() -> None:
    contract = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))
    counts: Counter[str] = Counter()
    for path in (NLU_DIR / "data").glob("*.yml"):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" not in item:
                continue
            counts[item["intent"]] += sum(line.startswith("- ") for line in item["examples"].splitlines())
    for intent in contract["intents"]:
        assert counts[intent] >= 20, f"intent {intent!r} has {counts[intent]} training examples"
