"""Safety first: recognise a person in danger or targeted by a scam, and say what helps at once.

Detection reads the message with a lexicon of expressions (knowledge/safety_lexicon.yml), written with the
typos, missing accents and SMS spellings people use, and with the idioms that must not alarm anyone removed first
("je meurs de rire", "ce site me tue"). It does not depend on the intent classifier: the NLU runs it after the
classifier (nlu/components/safety.py) and it overrides any intent; the classifier's own `danger` intent adds the
phrasings the lexicon does not know.

The answers and the official pages that back every number in them are in knowledge/safety_answers.yml.

This module runs in the application and in Rasa's environment (Python 3.10): standard library and PyYAML only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import yaml

from knowledge.fiches import Source

LEXICON_FILE = Path(__file__).resolve().parent / "safety_lexicon.yml"
ANSWERS_FILE = Path(__file__).resolve().parent / "safety_answers.yml"

SUICIDE, VIOLENCE_AT_HOME, CHILD, MEDICAL, VIOLENCE = (
    "suicide",
    "violence_conjugale",
    "enfant_danger",
    "urgence_medicale",
    "violence",
)
SITUATIONS = (MEDICAL, SUICIDE, CHILD, VIOLENCE_AT_HOME, VIOLENCE)
"""Every situation, most urgent first: a medical emergency (an overdose) is answered before what led to it."""
SUSPICIOUS, ALREADY_PAID = "suspicious", "already_paid"
MAX_SITUATIONS_ANSWERED = 2


@dataclass(frozen=True)
class Assessment:
    """What a message shows: the danger situations (most urgent first) and the kind of scam, if any."""

    situations: tuple[str, ...] = ()
    scam: str | None = None

    @property
    def danger(self) -> bool:
        return bool(self.situations)


@dataclass(frozen=True)
class Lexicon:
    spellings: dict[str, str]
    not_danger: tuple[re.Pattern, ...]
    danger: dict[str, tuple[re.Pattern, ...]]
    already_paid: tuple[re.Pattern, ...]
    channel: re.Pattern
    suspicious_cues: tuple[re.Pattern, ...]
    not_suspicious: tuple[re.Pattern, ...]
    impostor: tuple[re.Pattern, ...]
    received: tuple[re.Pattern, ...]


class LexiconError(ValueError):
    """The lexicon file cannot be used: a bad pattern or an unknown situation, with where."""


def normalise(text: str, spellings: dict[str, str] | None = None) -> str:
    """Lower case, accents removed, punctuation as spaces, stretched letters shortened, SMS spellings expanded."""
    folded = unicodedata.normalize("NFD", text.lower().replace("œ", "oe").replace("æ", "ae"))
    folded = "".join(c for c in folded if unicodedata.category(c) != "Mn")
    folded = re.sub(r"[^a-z0-9€]+", " ", folded)
    folded = re.sub(r"([a-z])\1{2,}", r"\1", folded)
    words = folded.split()
    if spellings:
        words = [spellings.get(word, word) for word in words]
    return " ".join(words)


def assess(text: str, lexicon: Lexicon | None = None) -> Assessment:
    """Read a message for danger and scams."""
    lexicon = lexicon or load_lexicon()
    normalised = f" {normalise(text, lexicon.spellings)} "
    for idiom in lexicon.not_danger:
        normalised = idiom.sub(" ", normalised)
    situations = tuple(
        situation
        for situation in SITUATIONS
        if any(pattern.search(normalised) for pattern in lexicon.danger.get(situation, ()))
    )
    return Assessment(situations=situations, scam=_scam(normalised, lexicon))


def _scam(normalised: str, lexicon: Lexicon) -> str | None:
    if any(pattern.search(normalised) for pattern in lexicon.already_paid):
        return ALREADY_PAID
    if any(pattern.search(normalised) for pattern in lexicon.impostor):
        return SUSPICIOUS
    if any(pattern.search(normalised) for pattern in lexicon.not_suspicious):
        return None
    described = lexicon.channel.search(normalised) or any(pattern.search(normalised) for pattern in lexicon.received)
    if described and any(cue.search(normalised) for cue in lexicon.suspicious_cues):
        return SUSPICIOUS
    return None


@cache
def load_lexicon(path: Path = LEXICON_FILE) -> Lexicon:
    """Read and compile the lexicon; a bad pattern is reported with its section."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    macros: dict[str, str] = {str(k): str(v) for k, v in (data.get("macros") or {}).items()}
    spellings = {normalise(str(k)): normalise(str(v)) for k, v in (data.get("spellings") or {}).items()}

    def compile_all(section: str, patterns: list[str]) -> tuple[re.Pattern, ...]:
        return tuple(_compile(section, pattern, macros) for pattern in patterns)

    danger = data.get("danger") or {}
    unknown = set(danger) - set(SITUATIONS)
    if unknown:
        raise LexiconError(f"{path}: unknown danger situation(s) {sorted(unknown)}; expected {list(SITUATIONS)}")
    scam = data.get("scam") or {}
    return Lexicon(
        spellings=spellings,
        not_danger=compile_all("not_danger", data.get("not_danger") or []),
        danger={situation: compile_all(f"danger.{situation}", patterns) for situation, patterns in danger.items()},
        already_paid=compile_all("scam.already_paid", scam.get("already_paid") or []),
        channel=_compile("scam.channel", scam["channel"], macros),
        suspicious_cues=compile_all("scam.suspicious_cues", scam.get("suspicious_cues") or []),
        not_suspicious=compile_all("scam.not_suspicious", scam.get("not_suspicious") or []),
        impostor=compile_all("scam.impostor", scam.get("impostor") or []),
        received=compile_all("scam.received", scam.get("received") or []),
    )


def _compile(section: str, pattern: str, macros: dict[str, str]) -> re.Pattern:
    expanded = re.sub(r"%([A-Z_]+)%", lambda m: macros.get(m[1], m[0]), str(pattern))
    if "%" in expanded:
        raise LexiconError(f"{section}: unknown macro in {pattern!r}")
    try:
        return re.compile(rf"(?<![a-z0-9])(?:{expanded})(?![a-z0-9])")
    except re.error as error:
        raise LexiconError(f"{section}: invalid pattern {pattern!r}: {error}") from error


# --- Answers -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    reviewed: date
    danger: dict[str, str]
    scam: dict[str, str]
    sources: tuple[Source, ...]


@cache
def load_answers(path: Path = ANSWERS_FILE) -> Answers:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    sections = {"danger": data["danger"], "scam": data["scam"]}
    sources = tuple(
        Source(str(source["fact"]), str(source["url"]))
        for section in sections.values()
        for entry in section.values()
        if isinstance(entry, dict)
        for source in entry.get("sources") or ()
    )
    texts = {
        name: {key: (entry["text"] if isinstance(entry, dict) else entry).strip() for key, entry in section.items()}
        for name, section in sections.items()
    }
    return Answers(reviewed=data["reviewed"], danger=texts["danger"], scam=texts["scam"], sources=sources)


def danger_text(situations: tuple[str, ...], answers: Answers | None = None) -> str:
    """The answer to a person in danger: the numbers for their situation(s), the 114, and a person to talk to.

    With no situation known (the classifier recognised danger, the lexicon did not say which), the answer names the
    numbers for every situation: suicide prevention, then the emergency numbers.
    """
    answers = answers or load_answers()
    chosen = [s for s in SITUATIONS if s in situations][:MAX_SITUATIONS_ANSWERED] or [SUICIDE, VIOLENCE]
    parts = [answers.danger[situation] for situation in chosen]
    parts += [answers.danger["sourds"], answers.danger["conclusion"]]
    return "\n\n".join(parts)


def scam_text(kind: str, answers: Answers | None = None) -> str:
    """The first answer to a scam: the warning (suspicious) or the immediate steps (already paid)."""
    answers = answers or load_answers()
    return answers.scam[kind]
