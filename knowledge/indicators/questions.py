"""What citizens asked the assistant over a period, read from Rasa's tracker store (its `events` table): messages
by subject and by fiche, messages not understood, requests for a person, and place searches by commune and
département. Only counts leave this module; nothing is read that the retention sweep has already deleted."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, cast, func, inspect, select, type_coerce

from knowledge.citizens.tracker_events import EVENTS
from knowledge.db import make_engine
from knowledge.fiches import get_fiche, topic_of_intent
from knowledge.indicators.figures import SMALL_COUNT
from knowledge.indicators.period import Period
from knowledge.places.communes import communes

FALLBACK_INTENT = "nlu_fallback"
HUMAN_INTENT = "request_human"
LOCATION_SLOT = "last_location"

FICHES = "Une fiche pratique"
SUBJECTS: dict[str, tuple[str, ...]] = {
    "Trouver un lieu d'aide": ("find_place", "inform_place", "more_places", "share_location"),
    "Ateliers": ("atelier_register", "atelier_cancel", "my_ateliers"),
    "Parler à une personne": (HUMAN_INTENT,),
    "Personne en danger": ("danger",),
    "Prêt de matériel (médiateurs)": ("kit_book", "kit_availability", "kit_my_loans", "kit_cancel"),
    "Suite d'une fiche (étapes, liens, avis)": ("fiche_steps", "fiche_links", "fiche_feedback"),
    "Échanges courants (bonjour, merci, menu…)": (
        "greet",
        "goodbye",
        "thanks",
        "affirm",
        "deny",
        "bot_challenge",
        "help",
        "ask_question",
    ),
    "Hors du champ du service": ("out_of_scope",),
    "Non compris": (FALLBACK_INTENT,),
}
"""The report's subjects, each the NLU intents it gathers; the fiches' intents (faq_<topic>) are FICHES."""
_SUBJECT_OF = {intent: subject for subject, intents in SUBJECTS.items() for intent in intents}
OTHER = "Autre"
OTHER_COMMUNES = f"autres communes (moins de {SMALL_COUNT} recherches chacune)"
UNKNOWN_COMMUNE = "position hors de France ou inconnue"


@dataclass(frozen=True)
class QuestionIndicators:
    messages: int
    """Messages the assistant read (typed or a button)."""
    typed: int
    """Of which typed by the person (not a button)."""
    not_understood: int
    """Typed messages the NLU could not place (nlu_fallback)."""
    human_requests: int
    """Messages asking for a person (typed or the button)."""
    by_subject: dict[str, int] = field(default_factory=dict)
    """Messages per subject, most frequent first; the fiches together under FICHES."""
    by_fiche: dict[str, int] = field(default_factory=dict)
    """Questions per fiche (its title), most asked first."""
    searches: int = 0
    """Place searches answered with places."""
    searches_by_departement: dict[str, int] = field(default_factory=dict)
    searches_by_commune: dict[str, int] = field(default_factory=dict)
    """Searches per commune (« Saint-Lô (50) ») searched at least SMALL_COUNT times, most frequent first, then
    OTHER_COMMUNES; a shared GPS position counts at its commune."""

    @property
    def not_understood_rate(self) -> float | None:
        return round(self.not_understood / self.typed, 3) if self.typed else None


def question_indicators(tracker_store_url: str, period: Period) -> QuestionIndicators:
    """Counts from Rasa's events in the period; all zero when the tracker store has no events table yet. Messages
    are counted in the database (by intent, button or typed); only the place searches' positions are read."""
    events = EVENTS.c
    in_period = (events.timestamp >= period.starts_at.timestamp(), events.timestamp < period.ends_before.timestamp())
    engine = make_engine(tracker_store_url)
    try:
        if not inspect(engine).has_table("events"):
            return QuestionIndicators(0, 0, 0, 0)
        # `data` is a TEXT column of JSON: PostgreSQL must cast it to json; SQLite's JSON functions read text (and
        # its CAST AS JSON would turn the text into a number).
        as_json = cast if engine.dialect.name == "postgresql" else type_coerce
        button = as_json(events.data, JSON)["text"].as_string().startswith("/")
        with engine.connect() as connection:
            counts = connection.execute(
                select(events.intent_name, button.label("button"), func.count())
                .where(events.type_name == "user", *in_period)
                .group_by(events.intent_name, button)
            ).all()
            positions = connection.execute(
                select(events.data).where(events.type_name == "slot", events.action_name == LOCATION_SLOT, *in_period)
            ).scalars()
            searches = [value for value in map(_slot_value, positions) if isinstance(value, dict)]
    finally:
        engine.dispose()
    return _count([(intent, bool(pressed), count) for intent, pressed, count in counts], searches)


def _count(counts: list[tuple[str | None, bool, int]], searches: list[dict[str, Any]]) -> QuestionIndicators:
    subjects, fiches, intents = Counter[str](), Counter[str](), Counter[str | None]()
    typed = not_understood = 0
    for intent, pressed, count in counts:
        intents[intent] += count
        topic = topic_of_intent(intent)
        if topic is not None:
            subjects[FICHES] += count
            fiche = get_fiche(topic)
            fiches[fiche.title if fiche else topic] += count
        else:
            subjects[_SUBJECT_OF.get(intent or "", OTHER)] += count
        if not pressed:
            typed += count
            not_understood += count if intent == FALLBACK_INTENT else 0
    by_commune, by_departement = Counter[str](), Counter[str]()
    index = communes() if searches else None
    for value in searches:
        found = index.locate(value.get("lat"), value.get("lon")) if index else None
        if found is None or found.place is None:
            by_commune[UNKNOWN_COMMUNE] += 1
            continue
        by_commune[found.place.label] += 1
        by_departement[found.place.departement or UNKNOWN_COMMUNE] += 1
    return QuestionIndicators(
        messages=intents.total(),
        typed=typed,
        not_understood=not_understood,
        human_requests=intents[HUMAN_INTENT],
        by_subject=dict(subjects.most_common()),
        by_fiche=dict(fiches.most_common()),
        searches=len(searches),
        searches_by_departement=dict(by_departement.most_common()),
        searches_by_commune=_few_together(by_commune),
    )


def _few_together(by_commune: Counter[str]) -> dict[str, int]:
    """The communes searched at least SMALL_COUNT times, most first, then the others in one line: a commune searched
    once or twice would almost name the person, and hundreds of such lines would drown the report."""
    named = {name: count for name, count in by_commune.most_common() if count >= SMALL_COUNT}
    rest = by_commune.total() - sum(named.values())
    return named | ({OTHER_COMMUNES: rest} if rest else {})


def _slot_value(data: str | None) -> Any:
    try:
        return json.loads(data or "{}").get("value")
    except (ValueError, AttributeError):
        return None
