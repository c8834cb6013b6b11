# ruff: noqa: E402
"""Benchmark of the steering committee's report (issue 12). Prints its figures; not a test.

Requirement measured: the generation time of the report for one year of a département-sized network (synthetic:
50,000 conversations, 2,000 sign-ups, 500 handoffs, 300 loans).

How: a temporary directory holds a fresh database (our schema, by the real migrations) and Rasa's tracker store
(the `events` table of Rasa's SQLTrackerStore, index on sender_id included), a SQLite file each, as `make run` has
them. With --database postgresql, a throwaway PostgreSQL server (tests/postgres.py) holds both in one database, as
Settings.tracker_store_url has it there. One year of a network of the Manche (département 50) is generated into
them, deterministically from --seed, and inserted in bulk (executemany):
- citizens and their conversations (message_count), started on a weekly and seasonal shape (weekdays and office
  hours busier, August and Christmas quiet, the tax declaration in spring, the rentrée in September). Each
  conversation's events in the tracker store as Rasa writes them: session start; for each message the user event
  (its intent and, typed, the 10-intent ranking our NLU gives; about 30 % are button payloads starting with "/"),
  the action, the bot's answer and action_listen; after a place search the `last_location` slot event (a commune
  of the Manche weighted by population, a few in the neighbouring départements; typed or a shared GPS position).
  Intents: fiches (faq_<topic>, the 26 topics, seasonal), find_place / inform_place / share_location,
  nlu_fallback, request_human, ateliers, greetings… `--tracker minimal` writes the user and slot events only;
- « Ça a marché ? » answers (FicheFeedback) where a conversation has a fiche_feedback message;
- ateliers at the member structures' places and three others, with sign-ups until --signups (confirmed, waiting,
  cancelled), a few ateliers cancelled, attendance marked for most;
- --handoffs requests for a conseiller, made at a request_human message, taken by the structures' conseillers
  (requests made while the team is open weigh 4 times more; waits generated for the hours Mo-Fr 09:00-12:00,
  14:00-17:00: minutes when open, until the opening otherwise),
  outcomes, ratings, a few urgent, a few never taken, the last ones still open;
- a lender, five member structures, six kits and --loans loan requests: loans one after the other on each kit
  (the migrations' triggers or exclusion constraint check that they never overlap), refusals, cancellations,
  check-out and check-in inspections (some items missing or damaged), bilans, a few breakdowns.
Then, --repeat times each (min and median shown), each in a fresh session: build_report over the period for the
whole network, and for one structure (--structure); each indicator alone, to show where the time goes; and each
output format of the network's report (Markdown, CSV, HTML, which draws the charts itself, ODS), and the charts
alone. Then the report's headline figures next to
what was generated, to show the data was seen; peak RSS (ru_maxrss) after generation and at the end.

The report is generated on the day after the period (every atelier past, every loan returned); retention 365 days
(the report's preamble only). --charts DIR writes the network report's charts there as PNG (`{chart.name}.png`).

    .venv/bin/python bench/report.py                                   # the requirement, on SQLite
    .venv/bin/python bench/report.py --database postgresql
    .venv/bin/python bench/report.py --conversations 5000 --repeat 1 --charts /tmp/charts    # quick; the charts
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time as clock
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path
from random import Random
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy
from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.orm import Session

from knowledge.citizens.tracker_events import EVENTS, TRACKER
from knowledge.db import Database, make_engine
from knowledge.fiches import load_fiches, load_topics
from knowledge.french import PARIS
from knowledge.handoffs.tickets import OUTCOMES
from knowledge.indicators.ateliers import atelier_indicators
from knowledge.indicators.charts import render_charts
from knowledge.indicators.citizens import fiche_scores, weeks
from knowledge.indicators.documents import FORMATS, render
from knowledge.indicators.handoffs import handoff_indicators
from knowledge.indicators.loans import loan_indicators
from knowledge.indicators.period import Period
from knowledge.indicators.questions import question_indicators
from knowledge.indicators.report import Report, build_report, rows
from knowledge.loans.terms import NATURES, PUBLICS
from knowledge.migrate import upgrade
from knowledge.models import (
    Atelier,
    Booking,
    Citizen,
    Conversation,
    FicheFeedback,
    Handoff,
    Incident,
    Inspection,
    Kit,
    Lender,
    Membership,
    Registration,
    StaffMember,
    Structure,
)
from knowledge.places.communes import Commune, communes
from knowledge.staff import CONSEILLER, COORDINATEUR, MEDIATEUR

T = TypeVar("T")

TEAM_HOURS = "Mo-Fr 09:00-12:00,14:00-17:00"
RETENTION_DAYS = 365
SENSITIVE_RETENTION_DAYS = 7
MODEL_ID = "5f1d3c9e2b7a4e0d8c6b1a2f3e4d5c6b"
META = json.dumps({"model_id": MODEL_ID, "assistant_id": "passerelle"})

EVENTS_CHUNK = 20_000

# --- The shape of a year ------------------------------------------------------------------------------------

WEEKDAY_WEIGHTS = (1.0, 1.05, 0.95, 1.0, 0.9, 0.45, 0.3)
MONTH_WEIGHTS = {1: 1.15, 2: 1.0, 3: 1.05, 4: 1.15, 5: 1.15, 6: 1.0, 7: 0.8, 8: 0.6, 9: 1.2, 10: 1.1, 11: 1.05, 12: 0.9}
HOUR_WEIGHTS = (0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.6, 2.4, 2.8, 2.6, 1.8, 1.6, 2.2, 2.4, 2.2, 2.0, 1.8, 1.6)
HOUR_WEIGHTS += (1.4, 1.1, 0.8, 0.4)
TOPIC_WEIGHTS = {
    "ameli": 9,
    "impots": 7,
    "caf": 8,
    "france_travail": 6,
    "franceconnect": 7,
    "ants": 6,
    "mot_de_passe": 7,
    "email": 6,
    "arnaques": 5,
    "smartphone": 5,
    "retraite": 4,
    "sante_rdv": 4,
    "justificatifs": 4,
}
"""Topics not named: weight 2."""
SEASONS = {
    "impots": {4: 3.0, 5: 3.5, 6: 1.8, 8: 1.5, 9: 1.5},
    "scolarite": {9: 3.0, 10: 1.5},
    "ants": {5: 1.4, 6: 1.6, 7: 1.4},
    "caf": {1: 1.3},
}
FICHE_SUCCESS = {"ameli": 0.8, "impots": 0.7, "franceconnect": 0.55, "compte_pirate": 0.45, "ants": 0.6}
"""Share of « oui » to « Ça a marché ? »; 0.72 for the others."""

# --- Conversations ------------------------------------------------------------------------------------------

MESSAGES_PER_CONVERSATION = range(2, 9)
MESSAGES_WEIGHTS = (24, 22, 18, 13, 10, 8, 5)
NEEDS = ("fiche", "place", "human", "atelier", "chat", "lost", "kit", "danger")
NEED_WEIGHTS = (62, 13, 6, 5, 9, 4, 0.6, 0.2)
FILLERS = {
    "fiche": ("faq_OTHER", "thanks", "affirm", "nlu_fallback", "goodbye", "faq_TOPIC", "fiche_steps"),
    "place": ("thanks", "find_place", "atelier_register", "goodbye", "nlu_fallback", "more_places"),
    "human": ("nlu_fallback", "faq_TOPIC", "thanks", "deny", "affirm"),
    "atelier": ("find_place", "thanks", "help", "affirm"),
    "chat": ("greet", "thanks", "goodbye", "out_of_scope", "help", "nlu_fallback", "affirm", "deny", "ask_question"),
    "lost": ("nlu_fallback", "help", "request_human", "deny", "nlu_fallback"),
    "kit": ("kit_availability", "kit_my_loans", "affirm", "thanks", "kit_cancel"),
    "danger": ("request_human", "nlu_fallback", "affirm"),
}
BUTTON_SHARE = {
    "faq": 0.22,
    "fiche_steps": 0.9,
    "fiche_links": 0.9,
    "fiche_feedback": 1.0,
    "request_human": 0.55,
    "find_place": 0.35,
    "more_places": 0.95,
    "share_location": 1.0,
    "atelier_register": 0.8,
    "atelier_cancel": 0.8,
    "my_ateliers": 0.7,
    "affirm": 0.7,
    "deny": 0.6,
    "help": 0.5,
    "ask_question": 0.9,
    "kit_book": 0.6,
    "kit_availability": 0.5,
    "kit_my_loans": 0.8,
    "kit_cancel": 0.9,
}
"""Share of each intent's messages that are a button (or Telegram's shared location); never for nlu_fallback."""
TYPED = {
    "greet": ("bonjour", "Bonjour", "salut", "bonsoir", "Bonjour madame", "coucou"),
    "thanks": ("merci", "merci beaucoup", "Merci !", "super merci", "ok merci bien"),
    "goodbye": ("au revoir", "bonne journée", "a+", "bonne soirée"),
    "affirm": ("oui", "d'accord", "ok", "oui svp"),
    "deny": ("non", "non merci", "pas du tout"),
    "help": ("que sais-tu faire ?", "menu", "aide", "je ne sais pas quoi faire"),
    "bot_challenge": ("tu es un robot ?", "je parle à une vraie personne ?"),
    "out_of_scope": ("quel temps fera-t-il demain", "une recette de crêpes", "tu connais une blague ?"),
    "ask_question": ("j'ai une question", "une autre question"),
    "request_human": ("je veux parler à quelqu'un", "un conseiller svp", "je voudrais un humain", "appeler quelqu'un"),
    "find_place": ("je cherche un lieu pour m'aider", "où trouver de l'aide près de chez moi", "un EPN près de moi"),
    "more_places": ("d'autres lieux", "autres adresses"),
    "atelier_register": ("je veux m'inscrire à un atelier", "un atelier tablette ?", "inscription atelier"),
    "atelier_cancel": ("annuler mon inscription",),
    "my_ateliers": ("mes ateliers",),
    "fiche_steps": ("les étapes", "comment on fait"),
    "fiche_links": ("le lien", "les liens"),
    "kit_book": ("je voudrais réserver les casques VR", "réserver les drones du 12 au 15"),
    "kit_availability": ("le kit radio est libre en mars ?", "dispo des tablettes"),
    "kit_my_loans": ("mes prêts",),
    "kit_cancel": ("annuler ma réservation",),
    "danger": ("mon mari me frappe", "j'ai peur chez moi"),
    "nlu_fallback": (
        "??",
        "jsp",
        "mon truc marche pas",
        "😭",
        "allo",
        "c'est quoi ce machin",
        "1234",
        "je comprends rien à rien",
        "mon fils ma dit de vous écrire",
        "ya pas le bouton",
    ),
}
ACTIONS = {
    "find_place": "action_search_places",
    "inform_place": "action_search_places",
    "share_location": "action_search_places",
    "more_places": "action_more_places",
    "request_human": "action_request_human",
    "nlu_fallback": "action_fallback",
    "atelier_register": "action_atelier_register",
    "atelier_cancel": "action_atelier_cancel",
    "my_ateliers": "action_my_ateliers",
    "fiche_steps": "action_fiche_steps",
    "fiche_links": "action_fiche_links",
    "fiche_feedback": "action_fiche_feedback",
    "danger": "action_danger",
    "kit_book": "action_kit_book",
    "kit_availability": "action_kit_availability",
    "kit_my_loans": "action_kit_my_loans",
    "kit_cancel": "action_kit_cancel",
}
"""The action answering each intent; faq_<topic>: action_answer_faq; the others: utter_<intent>."""
NEIGHBOURS = ("14", "35", "61")

# --- The network --------------------------------------------------------------------------------------------

LENDER_STRUCTURE = ("Département de la Manche, inclusion numérique", "Saint-Lô")
MEMBERS = (
    ("EPN de Saint-Lô", "Saint-Lô"),
    ("Médiathèque de Coutances", "Coutances"),
    ("France Services de Granville", "Granville"),
    ("Espace numérique de Cherbourg-en-Cotentin", "Cherbourg-en-Cotentin"),
    ("Centre social d'Avranches", "Avranches"),
)
OTHER_PLACES = (("bench-place-carentan", "Anaïs"), ("bench-place-valognes", "Hugo"), ("bench-place-villedieu", ""))
FIRST_NAMES = ("Camille", "Léa", "Nadia", "Thomas", "Julien", "Sophie", "Karim", "Marie", "Lucas", "Inès", "Paul")
THEMES = (
    ("Messagerie", "Bien utiliser sa messagerie"),
    ("Smartphone", "Prendre en main son smartphone"),
    ("Démarches en ligne", "Mes démarches en ligne"),
    ("Sécurité", "Se protéger des arnaques"),
    ("Tablette", "Découvrir la tablette"),
    ("", "Permanence numérique"),
)
KITS = (
    (
        "casques-vr",
        "Kit casques de réalité virtuelle",
        ("6 casques", "6 paires de manettes", "1 chargeur multiple"),
        1.5,
    ),
    ("drones", "Kit drones d'initiation", ("4 drones", "4 télécommandes", "8 batteries", "12 hélices"), 1.2),
    ("radio-mobile", "Kit radio mobile", ("1 table de mixage", "4 micros", "4 casques audio", "1 enregistreur"), 1.0),
    ("tablettes", "Kit tablettes", ("10 tablettes", "10 chargeurs", "1 borne wifi"), 1.3),
    ("robots", "Kit robots programmables", ("6 robots", "6 câbles USB", "1 tapis de jeu"), 0.9),
    ("impression-3d", "Kit impression 3D", ("1 imprimante", "3 bobines de filament", "1 spatule"), 0.7),
)
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)}
REFUSALS = (
    ("Matériel en réparation", 4),
    ("Kit réservé pour un événement du département", 3),
    ("Demande hors convention", 2),
    ("Délai trop court pour préparer le kit", 2),
    ("", 2),
)


# --- Helpers ------------------------------------------------------------------------------------------------


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def moment(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), PARIS)


def next_weekday(day: date) -> date:
    """The day itself, or the next working day (weekends and the fixed public holidays skipped)."""
    while day.weekday() >= 5 or (day.month, day.day) in FIXED_HOLIDAYS:
        day += timedelta(days=1)
    return day


def team_open(at: datetime) -> bool:
    local = at.astimezone(PARIS)
    return local.weekday() < 5 and (time(9) <= local.time() < time(12) or time(14) <= local.time() < time(17))


def next_opening(at: datetime) -> datetime:
    """The next opening of the team (Mo-Fr 09:00 and 14:00) after a moment when it is closed."""
    local = at.astimezone(PARIS)
    day = local.date()
    while True:
        if day.weekday() < 5:
            for hour in (9, 14):
                opening = paris(day, hour)
                if opening > local:
                    return opening
        day += timedelta(days=1)


def weighted_cumulative(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


@dataclass
class Generated:
    """What was written, to compare with what the report saw."""

    rows: Counter[str] = field(default_factory=Counter)
    messages: int = 0
    button_messages: int = 0
    fallbacks: int = 0
    searches: int = 0
    lent_loans: int = 0
    ateliers_held: int = 0
    confirmed: int = 0


@dataclass
class Chat:
    """One conversation's script: (intent, button, epoch seconds) per message."""

    citizen: int
    """An index into a pool of people, then (once the citizens are numbered) the citizen's id."""
    topic: str
    messages: list[tuple[str, bool, float]]


@dataclass
class Staff:
    id: int
    structure: int
    role: str
    first_name: str


# --- The generator ------------------------------------------------------------------------------------------


class Network:
    """One year of a département-sized network, written in bulk into our database and the tracker store."""

    def __init__(self, args: argparse.Namespace, period: Period, now: datetime) -> None:
        self.args = args
        self.period = period
        self.now = now
        self.rng = Random(args.seed)
        self.generated = Generated()
        self.topics = list(load_topics())
        fiches = load_fiches()
        self.questions = {t: (fiches[t].questions if t in fiches else ()) or (t,) for t in self.topics}
        self.titles = {topic: fiches[topic].title if topic in fiches else topic for topic in self.topics}
        self.answers = {topic: fiches[topic].short_answer if topic in fiches else topic for topic in self.topics}
        self.topic_weights = {
            month: weighted_cumulative(
                [TOPIC_WEIGHTS.get(t, 2) * SEASONS.get(t, {}).get(month, 1.0) for t in self.topics]
            )
            for month in range(1, 13)
        }
        index = communes().all_current()
        self.manche = [c for c in index if c.departement == "50" and c.kind == "commune"]
        self.manche_weights = weighted_cumulative([c.population or 100 for c in self.manche])
        self.neighbours = [c for c in index if c.departement in NEIGHBOURS and c.kind == "commune"]
        self.neighbour_weights = weighted_cumulative([c.population or 100 for c in self.neighbours])
        self.intents = [f"faq_{t}" for t in self.topics] + sorted({*TYPED, *ACTIONS, "inform_place"})
        self.rankings = {intent: self._rankings(intent) for intent in self.intents}
        self.bot = {intent: self._bot_event(intent) for intent in self.intents}
        self.staff: list[Staff] = []
        self.place_of: dict[int, str] = {}
        self.chat_ids: list[int] = []
        self.citizen_ids: list[int] = []
        self.human_requests: list[tuple[int, float, str]] = []
        """(citizen id, epoch seconds, topic) of each request_human message."""

    # Scripts -----------------------------------------------------------------------------------------------

    def _rankings(self, intent: str) -> list[tuple[float, str]]:
        """A few (confidence, JSON intent_ranking) variants for a typed message of this intent: 10 intents."""
        rng = Random(f"{self.args.seed}-{intent}")
        variants = []
        for _ in range(4):
            others = rng.sample([i for i in self.intents if i not in (intent, "nlu_fallback")], 9)
            top = 0.3 if intent == "nlu_fallback" else round(rng.uniform(0.45, 0.97), 4)
            rest = sorted((round(rng.uniform(0.0, min(top, 0.3)), 4) for _ in others), reverse=True)
            ranking = [{"name": intent, "confidence": top}] + [
                {"name": name, "confidence": c} for name, c in zip(others, rest, strict=True)
            ]
            variants.append((top, json.dumps(ranking)))
        return variants

    def _bot_event(self, intent: str) -> tuple[str, str, str]:
        """(action name, the bot event's JSON before its timestamp, after it)."""
        topic = intent.removeprefix("faq_") if intent.startswith("faq_") else None
        action = "action_answer_faq" if topic else ACTIONS.get(intent, f"utter_{intent}")
        if topic:
            said = f"📄 {self.titles[topic]}\n\n{self.answers[topic]}\n\nVoulez-vous les étapes ?"
            buttons = [
                {"title": "Les étapes", "payload": "/fiche_steps"},
                {"title": "Les liens", "payload": "/fiche_links"},
                {"title": "Parler à une personne", "payload": "/request_human"},
            ]
        elif action == "action_search_places":
            said = "Voici 3 lieux près de vous :\n" + "\n".join(
                f"{n}. Espace numérique, {n} rue de la Mairie — ouvert aujourd'hui de 9 h à 12 h" for n in (1, 2, 3)
            )
            buttons = [{"title": "Plus de lieux", "payload": "/more_places"}]
        else:
            said = "Je vous écoute. Vous pouvez écrire votre question, ou choisir dans le menu."
            buttons = [{"title": "Le menu", "payload": "/help"}]
        data = {"elements": None, "quick_replies": None, "buttons": buttons, "attachment": None, "image": None}
        meta = {"utter_action": action if action.startswith("utter_") else None, "model_id": MODEL_ID}
        before = '{"event": "bot", "timestamp": '
        after = f', "metadata": {json.dumps(meta)}, "text": {json.dumps(said)}, "data": {json.dumps(data)}}}'
        return action, before, after

    def _script(self, k: int, month: int) -> tuple[str, list[str]]:
        rng = self.rng
        topic = rng.choices(self.topics, cum_weights=self.topic_weights[month])[0]
        need = rng.choices(NEEDS, weights=NEED_WEIGHTS)[0]
        steps = ["greet"] if rng.random() < 0.35 else []
        if need == "fiche":
            steps.append("faq_TOPIC")
            steps += [
                s for s, p in (("fiche_steps", 0.5), ("fiche_links", 0.2), ("fiche_feedback", 0.3)) if rng.random() < p
            ]
        elif need == "place":
            steps.append("find_place")
            if rng.random() < 0.65:
                steps.append("share_location" if rng.random() < 0.4 else "inform_place")
            if rng.random() < 0.2:
                steps.append("more_places")
        elif need == "human":
            steps += ["request_human"] + (["affirm"] if rng.random() < 0.6 else [])
        elif need == "atelier":
            steps += ["atelier_register", "affirm"] + (["my_ateliers"] if rng.random() < 0.2 else [])
        elif need == "chat":
            steps.append(rng.choice(("help", "bot_challenge", "out_of_scope")))
        elif need == "lost":
            steps += ["nlu_fallback", "nlu_fallback"]
        elif need == "kit":
            steps.append("kit_book")
        else:
            steps += ["danger", "request_human"]
        steps = steps[:k]
        fillers = FILLERS[need]
        while len(steps) < k:
            steps.append(rng.choice(fillers) if len(steps) < k - 1 or rng.random() < 0.5 else "thanks")
        other = rng.choices(self.topics, cum_weights=self.topic_weights[month])[0]
        return topic, [s.replace("TOPIC", topic).replace("OTHER", other) for s in steps]

    def scripts(self) -> list[Chat]:
        """Every conversation: its citizen, its start on the year's shape, its messages."""
        rng, args = self.rng, self.args
        days = [self.period.first + timedelta(days=n) for n in range((self.period.last - self.period.first).days + 1)]
        day_weights = [
            WEEKDAY_WEIGHTS[d.weekday()] * MONTH_WEIGHTS[d.month] * (0.5 if d.month == 12 and d.day >= 24 else 1.0)
            for d in days
        ]
        chosen = sorted(rng.choices(range(len(days)), weights=day_weights, k=args.conversations))
        hours = weighted_cumulative(HOUR_WEIGHTS)
        starts = sorted(
            paris(days[d], rng.choices(range(24), cum_weights=hours)[0], rng.randrange(60)).timestamp()
            + rng.uniform(0, 60)
            for d in chosen
        )
        pool = max(1, int(args.conversations * 0.75))
        chats = []
        for start in starts:
            k = rng.choices(MESSAGES_PER_CONVERSATION, weights=MESSAGES_WEIGHTS)[0]
            topic, intents = self._script(k, moment(start).astimezone(PARIS).month)
            at, messages = start, []
            for intent in intents:
                share = BUTTON_SHARE.get("faq" if intent.startswith("faq_") else intent, 0.0)
                button = rng.random() < share
                if not button and intent not in ("nlu_fallback", "danger") and rng.random() < 0.03:
                    intent = "nlu_fallback"  # what the NLU missed
                messages.append((intent, button, at))
                at += rng.uniform(8, 120)
            chats.append(Chat(int(pool * rng.random() ** 1.3), topic, messages))
        return chats

    # Writing -----------------------------------------------------------------------------------------------

    def write(self, database: Database, tracker: Engine) -> dict[str, float]:
        """Everything, in bulk; the seconds each part took."""
        timings: dict[str, float] = {}
        start = clock.perf_counter()
        chats = self.scripts()
        timings["scripts of the conversations"] = clock.perf_counter() - start
        with database.engine.begin() as connection:
            start = clock.perf_counter()
            self._structures(connection)
            self._citizens(connection, chats)
            with tracker.begin() as events:
                self._conversations(connection, events, chats)
            timings["citizens, conversations, tracker events, fiche feedback"] = clock.perf_counter() - start
            start = clock.perf_counter()
            self._ateliers(connection)
            self._handoffs(connection)
            self._loans(connection)
            timings["ateliers, handoffs, loans"] = clock.perf_counter() - start
        return timings

    def _insert(self, connection: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            connection.execute(insert(model), rows)
            self.generated.rows[model.__tablename__] += len(rows)

    def _structures(self, connection: Connection) -> None:
        created = paris(self.period.first, 9) - timedelta(days=400)
        rows, staff = [], []
        for n, (name, commune) in enumerate((LENDER_STRUCTURE, *MEMBERS), start=1):
            place = f"bench-place-{n}"
            rows.append({"id": n, "name": name, "commune": commune, "place_source_id": place, "created_at": created})
            self.place_of[n] = place
            roles = [COORDINATEUR, COORDINATEUR, CONSEILLER, CONSEILLER, CONSEILLER] if n == 1 else []
            roles = roles or [COORDINATEUR, CONSEILLER, CONSEILLER, MEDIATEUR, MEDIATEUR]
            for role in roles:
                staff.append(Staff(len(staff) + 1, n, role, self.rng.choice(FIRST_NAMES)))
        self.staff = staff
        self._insert(connection, Structure, rows)
        self._insert(
            connection,
            StaffMember,
            [
                {
                    "id": s.id,
                    "telegram_user_id": 8_000_000_000 + s.id,
                    "first_name": s.first_name,
                    "role": s.role,
                    "structure_id": s.structure,
                    "available": s.role == CONSEILLER,
                    "joined_at": created,
                    "removed_at": None,
                }
                for s in staff
            ],
        )

    def _citizens(self, connection: Connection, chats: list[Chat]) -> None:
        first: dict[int, float] = {}
        last: dict[int, float] = {}
        for chat in chats:
            first.setdefault(chat.citizen, chat.messages[0][2])
            last[chat.citizen] = chat.messages[-1][2]
        ids = {index: n for n, index in enumerate(first, start=1)}  # in order of first contact
        for chat in chats:
            chat.citizen = ids[chat.citizen]
        used: set[int] = set()
        rows = []
        for index, n in ids.items():
            chat_id = self.rng.randrange(100_000_000, 7_999_999_999)
            while chat_id in used:
                chat_id = self.rng.randrange(100_000_000, 7_999_999_999)
            used.add(chat_id)
            self.chat_ids.append(chat_id)
            rows.append(
                {
                    "id": n,
                    "channel": "telegram",
                    "external_id": str(chat_id),
                    "first_seen_at": moment(first[index]),
                    "last_seen_at": moment(last[index]),
                }
            )
        self.citizen_ids = list(ids.values())
        self._insert(connection, Citizen, rows)

    def _conversations(self, connection: Connection, events: Connection, chats: list[Chat]) -> None:
        rng, generated = self.rng, self.generated
        full = self.args.tracker == "full"
        retention, sensitive_retention = timedelta(days=RETENTION_DAYS), timedelta(days=SENSITIVE_RETENTION_DAYS)
        conversations: list[dict[str, Any]] = []
        feedback: list[dict[str, Any]] = []
        buffer: list[dict[str, Any]] = []
        for n, chat in enumerate(chats, start=1):
            chat_id = self.chat_ids[chat.citizen - 1]
            sender = str(chat_id)
            last_topic: str | None = None
            sensitive = False
            if full:
                at = chat.messages[0][2] - 0.5
                buffer.append(self._action(sender, at, "action_session_start"))
                buffer.append(
                    self._event(sender, "session_started", at + 0.01, None, None, {"event": "session_started"})
                )
                buffer.append(self._action(sender, at + 0.02, "action_listen"))
            for intent, button, at in chat.messages:
                generated.messages += 1
                generated.button_messages += button
                generated.fallbacks += intent == "nlu_fallback"
                searched = intent in ("inform_place", "share_location") or (
                    intent == "find_place" and not button and rng.random() < 0.4
                )
                place = self._commune() if searched else None
                buffer.append(self._user(sender, intent, button, at, place))
                if intent.startswith("faq_"):
                    last_topic = intent.removeprefix("faq_")
                sensitive = sensitive or intent == "danger"
                if intent == "request_human":
                    self.human_requests.append((chat.citizen, at, last_topic or chat.topic))
                if intent == "fiche_feedback" and last_topic:
                    worked = rng.random() < FICHE_SUCCESS.get(last_topic, 0.72)
                    feedback.append({"topic": last_topic, "worked": worked, "created_at": moment(at + 1)})
                if place is not None:
                    generated.searches += 1
                    buffer.append(self._slot(sender, at + 0.04, "last_location", self._location(intent, place)))
                    if full:
                        buffer.append(self._slot(sender, at + 0.041, "looking_for", None))
                if full:
                    action, before, after = self.bot[intent]
                    buffer.append(self._action(sender, at + 0.05, action))
                    buffer.append(
                        {
                            "sender_id": sender,
                            "type_name": "bot",
                            "timestamp": at + 0.06,
                            "intent_name": None,
                            "action_name": None,
                            "data": f"{before}{at + 0.06!r}{after}",
                        }
                    )
                    buffer.append(self._action(sender, at + 0.07, "action_listen"))
            if len(buffer) >= EVENTS_CHUNK:
                self._events(events, buffer)
                buffer = []
            started, ended = moment(chat.messages[0][2]), moment(chat.messages[-1][2])
            conversations.append(
                {
                    "id": n,
                    "citizen_id": chat.citizen,
                    "sender_id": sender,
                    "chat_id": chat_id,
                    "status": "closed",
                    "message_count": len(chat.messages),
                    "last_topic": last_topic,
                    "sensitive": sensitive,
                    "started_at": started,
                    "last_activity_at": ended,
                    "expires_at": ended + (sensitive_retention if sensitive else retention),
                }
            )
        self._events(events, buffer)
        self._insert(connection, Conversation, conversations)
        self._insert(connection, FicheFeedback, feedback)

    def _events(self, events: Connection, rows: list[dict[str, Any]]) -> None:
        if rows:
            events.execute(EVENTS.insert(), rows)
            self.generated.rows["events"] += len(rows)
            self.generated.rows.update(f"events: {row['type_name']}" for row in rows)

    def _event(
        self, sender: str, type_name: str, at: float, intent: str | None, name: str | None, data: dict[str, Any]
    ) -> dict[str, Any]:
        body = {**data, "timestamp": at, "metadata": {"model_id": MODEL_ID, "assistant_id": "passerelle"}}
        return {
            "sender_id": sender,
            "type_name": type_name,
            "timestamp": at,
            "intent_name": intent,
            "action_name": name,
            "data": json.dumps(body),
        }

    def _action(self, sender: str, at: float, name: str) -> dict[str, Any]:
        return {
            "sender_id": sender,
            "type_name": "action",
            "timestamp": at,
            "intent_name": None,
            "action_name": name,
            "data": (
                f'{{"event": "action", "timestamp": {at!r}, "metadata": {META}, "name": "{name}", '
                '"policy": "RulePolicy", "confidence": 1.0, "action_text": null, "hide_rule_turn": false}'
            ),
        }

    def _slot(self, sender: str, at: float, name: str, value: Any) -> dict[str, Any]:
        return self._event(sender, "slot", at, None, name, {"event": "slot", "name": name, "value": value})

    def _user(self, sender: str, intent: str, button: bool, at: float, place: Commune | None) -> dict[str, Any]:
        rng = self.rng
        message_id = f"{rng.getrandbits(128):032x}"
        if button:
            if intent == "share_location" and place is not None:
                said = f'/share_location{{"latitude": {place.lat}, "longitude": {place.lon}}}'
            elif intent == "fiche_feedback":
                said = f'/fiche_feedback{{"worked": {"true" if rng.random() < 0.7 else "false"}}}'
            elif intent == "atelier_register":
                said = f'/atelier_register{{"atelier_id": {rng.randrange(1, 400)}}}'
            else:
                said = f"/{intent}"
            confidence, ranking = 1.0, json.dumps([{"name": intent, "confidence": 1.0}])
        else:
            if intent.startswith("faq_"):
                said = rng.choice(self.questions[intent.removeprefix("faq_")])
            elif intent == "inform_place" and place is not None:
                said = place.name
            elif intent == "find_place" and place is not None:
                said = f"où trouver de l'aide à {place.name}"
            else:
                said = rng.choice(TYPED.get(intent, ("bonjour",)))
            confidence, ranking = rng.choice(self.rankings[intent])
        quoted = json.dumps(said)
        data = (
            f'{{"event": "user", "timestamp": {at!r}, "metadata": {META}, "text": {quoted}, "parse_data": '
            f'{{"intent": {{"name": "{intent}", "confidence": {confidence}}}, "entities": [], "text": {quoted}, '
            f'"message_id": "{message_id}", "metadata": {{}}, "intent_ranking": {ranking}}}, '
            f'"input_channel": "telegram", "message_id": "{message_id}"}}'
        )
        return {
            "sender_id": sender,
            "type_name": "user",
            "timestamp": at,
            "intent_name": intent,
            "action_name": None,
            "data": data,
        }

    def _commune(self) -> Commune:
        if self.rng.random() < 0.93:
            return self.rng.choices(self.manche, cum_weights=self.manche_weights)[0]
        return self.rng.choices(self.neighbours, cum_weights=self.neighbour_weights)[0]

    def _location(self, intent: str, commune: Commune) -> dict[str, Any]:
        if intent == "share_location":  # a GPS position somewhere around the commune's centre
            lat, lon = commune.lat + self.rng.uniform(-0.01, 0.01), commune.lon + self.rng.uniform(-0.015, 0.015)
            return {"lat": round(lat, 6), "lon": round(lon, 6), "label": commune.label}
        return {"lat": commune.lat, "lon": commune.lon, "label": commune.label}

    def _ateliers(self, connection: Connection) -> None:
        rng, generated = self.rng, self.generated
        places: list[tuple[str, list[Staff], str]] = [
            (self.place_of[s], [m for m in self.staff if m.structure == s and m.role != COORDINATEUR], "")
            for s in range(2, len(MEMBERS) + 2)
        ]
        places += [(place, [], name) for place, name in OTHER_PLACES]
        days = [
            self.period.first + timedelta(days=n)
            for n in range((self.period.last - self.period.first).days + 1)
            if (self.period.first + timedelta(days=n)).weekday() in (1, 2, 3, 4, 5)
        ]
        day_weights = weighted_cumulative([MONTH_WEIGHTS[d.month] ** 2 for d in days])
        ateliers, registrations = [], []
        left, n = self.args.signups, 0
        while left > 0:
            n += 1
            place, animators, name = places[min(int(rng.random() ** 1.3 * len(places)), len(places) - 1)]
            animator = rng.choice(animators) if animators else None
            start = paris(rng.choices(days, cum_weights=day_weights)[0], rng.choice((10, 14)))
            theme, title = rng.choice(THEMES)
            capacity = rng.choice((6, 8, 8, 10, 12))
            cancelled = rng.random() < 0.05
            ateliers.append(
                {
                    "id": n,
                    "uid": f"bench-atelier-{n}@passerelle",
                    "start": start,
                    "end": start + timedelta(hours=2),
                    "title": title,
                    "theme": theme,
                    "description": "",
                    "place_source_id": place,
                    "conseiller": animator.first_name if animator else name,
                    "staff_member_id": animator.id if animator else None,
                    "capacity": capacity,
                    "public": rng.choice(("tout public", "seniors", "")),
                    "accessibility": "",
                    "cancelled": cancelled,
                    "cancelled_by_team": cancelled and rng.random() < 0.5,
                    "source": "bench",
                    "content_hash": f"{n:064x}",
                    "updated_at": start - timedelta(days=30),
                }
            )
            wanted = min(left, max(1, round(capacity * rng.uniform(0.4, 1.5))))
            left -= wanted
            seated = 0
            past = start < self.now
            generated.ateliers_held += not cancelled
            for citizen in rng.sample(self.citizen_ids, wanted):
                if rng.random() < 0.12:
                    status = "cancelled"
                elif seated < capacity:
                    status, seated = "confirmed", seated + 1
                else:
                    status = "waiting"
                attended = None
                if status == "confirmed" and past and not cancelled:
                    attended = rng.choices((True, False, None), weights=(78, 14, 8))[0]
                    generated.confirmed += 1
                created = start - timedelta(days=rng.uniform(1, 20))
                registrations.append(
                    {
                        "atelier_id": n,
                        "citizen_id": citizen,
                        "chat_id": self.chat_ids[citizen - 1],
                        "first_name": rng.choice(FIRST_NAMES),
                        "status": status,
                        "attended": attended,
                        "created_at": created,
                        "updated_at": created if status != "cancelled" else created + timedelta(days=1),
                    }
                )
        self._insert(connection, Atelier, ateliers)
        self._insert(connection, Registration, registrations)

    def _handoffs(self, connection: Connection) -> None:
        rng = self.rng
        count = self.args.handoffs
        requests = self.human_requests
        # People ask for a person more when the team is there: requests made while it is open weigh 4 times more
        # (a weighted sample without replacement: the `count` largest random keys u ** (1 / weight)).
        keyed = sorted(requests, key=lambda r: rng.random() ** (1 / (4 if team_open(moment(r[1])) else 1)))
        chosen = keyed[-count:] if len(requests) >= count else rng.choices(requests, k=count)
        takers = [s for s in self.staff if s.role in (CONSEILLER, COORDINATEUR)]
        taker_weights = [3 if s.structure == 1 else 1 for s in takers]
        rows = []
        for citizen, at, topic in sorted(chosen, key=lambda r: r[1]):
            created = moment(at + 2)
            urgent = rng.random() < 0.04
            row: dict[str, Any] = {
                "citizen_id": citizen,
                "chat_id": self.chat_ids[citizen - 1],
                "status": "closed",
                "urgent": urgent,
                "topic": topic,
                "commune": self._commune().label if rng.random() < 0.7 else None,
                "created_at": created,
                "claimed_at": None,
                "claimed_by_id": None,
                "conseiller_name": "",
                "last_activity_at": created,
                "closed_at": None,
                "outcome": None,
                "satisfaction": None,
                "expires_at": created + timedelta(days=RETENTION_DAYS),
            }
            recent = self.now - created < timedelta(days=3)
            roll = rng.random()
            if recent and roll < 0.3:
                row["status"] = "pending"  # still waiting when the report is made
            elif roll < 0.07:  # the citizen went back to the assistant (/bot) before anyone took it
                closed = created + timedelta(minutes=rng.uniform(2, 60))
                row.update(closed_at=closed, outcome="sans_suite", last_activity_at=closed)
            else:
                wait = min(rng.lognormvariate(math.log(7), 0.9), 240.0) * (0.4 if urgent else 1.0)
                opens = created if team_open(created) else next_opening(created)
                claimed = opens + timedelta(minutes=wait)
                taker = rng.choices(takers, weights=taker_weights)[0]
                row.update(claimed_at=claimed, claimed_by_id=taker.id, conseiller_name=taker.first_name)
                closed = claimed + timedelta(minutes=rng.uniform(5, 90))
                if recent and rng.random() < 0.5:
                    row.update(status="claimed", last_activity_at=claimed)
                else:
                    outcome = rng.choices(list(OUTCOMES), weights=(55, 25, 12, 8))[0]
                    row.update(closed_at=closed, outcome=outcome, last_activity_at=closed)
                    if rng.random() < 0.6:
                        row["satisfaction"] = rng.choices((5, 4, 3, 2, 1), weights=(45, 30, 12, 7, 6))[0]
            rows.append(row)
        self._insert(connection, Handoff, rows)

    def _loans(self, connection: Connection) -> None:
        rng, period = self.rng, self.period
        lender_structure = 1
        coordinators = [s for s in self.staff if s.structure == lender_structure and s.role == COORDINATEUR]
        borrowers = [s for s in self.staff if s.role == MEDIATEUR]
        self._insert(
            connection,
            Lender,
            [
                {
                    "id": 1,
                    "name": "Département de la Manche (prêt de matériel)",
                    "structure_id": lender_structure,
                    "site": "Maison du Département, 98 route de Candol, 50000 Saint-Lô",
                    "hours": TEAM_HOURS,
                    "max_days": 30,
                    "buffer_days": 1,
                    "slot_minutes": 30,
                }
            ],
        )
        self._insert(
            connection,
            Membership,
            [
                {"lender_id": 1, "structure_id": s, "starts_on": date(2025, 1, 1), "ends_on": date(2027, 12, 31)}
                for s in range(2, len(MEMBERS) + 2)
            ],
        )
        updated = paris(period.first, 9) - timedelta(days=60)
        self._insert(
            connection,
            Kit,
            [
                {
                    "id": n,
                    "code": code,
                    "lender_id": 1,
                    "name": name,
                    "description": "",
                    "checklist": list(checklist),
                    "aliases": [],
                    "photo": None,
                    "condition": "ok",
                    "content_hash": code,
                    "updated_at": updated,
                }
                for n, (code, name, checklist, _) in enumerate(KITS, start=1)
            ],
        )
        total = self.args.loans
        refused = round(total * 0.12)
        cancelled = round(total * 0.08)
        lent = total - refused - cancelled
        per_kit = Counter(rng.choices(range(1, len(KITS) + 1), weights=[k[3] for k in KITS], k=lent))
        bookings: list[dict[str, Any]] = []
        inspections: list[dict[str, Any]] = []
        incidents: list[dict[str, Any]] = []
        lengths = (1, 2, 2, 3, 3, 4, 5, 7, 10)
        mean_hold = statistics.fmean(lengths) + 1.5
        period_end = period.last + timedelta(days=1)
        leftover = 0  # loans a busy kit had no room for, lent on the next one
        for kit in sorted(range(1, len(KITS) + 1), key=lambda k: -per_kit[k]):
            checklist = KITS[kit - 1][2]
            cursor = period.first + timedelta(days=rng.randrange(5))
            todo, leftover = per_kit[kit] + leftover, 0
            blocked = False
            while todo > 0:
                room = (period_end - cursor).days
                mean_gap = max(0.0, room / todo - mean_hold)
                tight = room / todo < mean_hold
                pickup_day = next_weekday(
                    cursor + timedelta(days=round(rng.expovariate(1 / mean_gap)) if mean_gap else 0)
                )
                length = min(rng.choice(lengths[:4] if tight else lengths), max(1, (period_end - pickup_day).days - 2))
                return_day = next_weekday(pickup_day + timedelta(days=length - 1))
                if return_day >= period.last:
                    pickup_day = next_weekday(cursor)
                    return_day = next_weekday(pickup_day)
                    if return_day >= period.last:
                        leftover = todo  # no room left on this kit
                        break
                starts = paris(pickup_day, rng.choice((10, 14)))
                ends = paris(return_day, 16, 30)
                holds = ends + timedelta(days=1)
                if not blocked and pickup_day.month >= 7:  # the lender's yearly check of the kit, before the loan
                    blocked = True
                    block_start = paris(pickup_day, 9)
                    bookings.append(self._booking(kit, "block", "active", block_start, holds, None, None))
                    bookings[-1]["reason"] = "Révision annuelle"
                    cursor = holds.astimezone(PARIS).date() + timedelta(days=1)
                    continue
                borrower = rng.choice(borrowers)
                booking = self._booking(kit, "loan", "returned", starts, ends, borrower, coordinators)
                booking["holds_until"] = holds
                bookings.append(booking)
                self._lent(booking, checklist, inspections, incidents)
                cursor = holds.astimezone(PARIS).date() + timedelta(days=1)
                todo -= 1
        days = (period.last - period.first).days
        for status, count in (("refused", refused), ("cancelled", cancelled)):
            for _ in range(count):
                kit = rng.choices(range(1, len(KITS) + 1), weights=[k[3] for k in KITS])[0]
                pickup_day = next_weekday(period.first + timedelta(days=rng.randrange(max(1, days - 14))))
                starts = paris(pickup_day, 10)
                ends = paris(next_weekday(pickup_day + timedelta(days=rng.choice(lengths))), 16, 30)
                booking = self._booking(kit, "loan", status, starts, ends, rng.choice(borrowers), coordinators)
                if status == "refused":
                    booking["reason"] = rng.choices([r for r, _ in REFUSALS], weights=[w for _, w in REFUSALS])[0]
                else:
                    booking.update(decided_at=None, decided_by_id=None)
                bookings.append(booking)
        for n, booking in enumerate(bookings, start=1):
            booking["id"] = n
        for row in inspections + incidents:
            row["booking_id"] = row.pop("booking")["id"]
        self._insert(connection, Booking, bookings)
        self._insert(connection, Inspection, inspections)
        self._insert(connection, Incident, incidents)
        self.generated.lent_loans = sum(1 for b in bookings if b["kind"] == "loan" and b["status"] == "returned")

    def _booking(
        self,
        kit: int,
        kind: str,
        status: str,
        starts: datetime,
        ends: datetime,
        borrower: Staff | None,
        deciders: list[Staff] | None,
    ) -> dict[str, Any]:
        rng = self.rng
        created = starts - timedelta(days=rng.uniform(5, 30))
        decider = rng.choice(deciders) if deciders else None
        return {
            "kit_id": kit,
            "kind": kind,
            "status": status,
            "starts_at": starts,
            "ends_at": ends,
            "holds_until": ends,
            "borrower_id": borrower.id if borrower else None,
            "structure_id": borrower.structure if borrower else None,
            "nature": rng.choice(list(NATURES)) if borrower else "",
            "public": rng.choice(list(PUBLICS)) if borrower else "",
            "participants": rng.randint(4, 20) if borrower else None,
            "exceeds_limit": False,
            "reason": "",
            "flagged": False,
            "flag_note": "",
            "created_by_id": borrower.id if borrower else None,
            "created_at": created,
            "decided_by_id": decider.id if decider else None,
            "decided_at": created + timedelta(hours=rng.uniform(1, 48)) if decider else None,
            "checked_out_at": None,
            "returned_at": None,
            "reached": None,
            "reached_public": "",
            "rating": None,
            "comment": "",
            "bilan_at": None,
        }

    def _lent(
        self,
        booking: dict[str, Any],
        checklist: Sequence[str],
        inspections: list[dict[str, Any]],
        incidents: list[dict[str, Any]],
    ) -> None:
        """A loan picked up and returned: its inspections, maybe a bilan and a breakdown."""
        rng = self.rng
        starts, ends = booking["starts_at"], booking["ends_at"]
        returned = ends - timedelta(minutes=30)
        booking.update(checked_out_at=starts, returned_at=returned)
        for phase, at in (("check_out", starts), ("check_in", returned)):
            for item in checklist:
                state = "present"
                if phase == "check_in":
                    state = rng.choices(("present", "missing", "damaged"), weights=(95, 2, 3))[0]
                inspections.append(
                    {
                        "booking": booking,
                        "phase": phase,
                        "item": item,
                        "state": state,
                        "note": "" if state == "present" else "constaté au retour",
                        "photo_file_id": None,
                        "inspected_by_id": booking["decided_by_id"],
                        "created_at": at,
                    }
                )
        if rng.random() < 0.75:
            booking.update(
                reached=max(1, booking["participants"] + rng.randint(-4, 6)),
                reached_public=booking["public"] if rng.random() < 0.8 else rng.choice(list(PUBLICS)),
                rating=rng.choices((5, 4, 3, 2, 1), weights=(40, 35, 15, 6, 4))[0],
                comment="",
                bilan_at=returned + timedelta(days=rng.uniform(1, 10)),
            )
        if rng.random() < 0.05:
            reported = starts + (returned - starts) * rng.random()
            incidents.append(
                {
                    "kit_id": booking["kit_id"],
                    "booking": booking,
                    "reported_by_id": booking["borrower_id"],
                    "text": "Un élément ne fonctionne plus",
                    "photo_file_id": None,
                    "created_at": reported,
                    "resolved_at": reported + timedelta(days=rng.uniform(2, 20)),
                }
            )


# --- Measuring ----------------------------------------------------------------------------------------------


def measure(repeat: int, work: Callable[[], T]) -> tuple[float, float, T]:
    """(min, median) seconds of `repeat` runs, and the last result."""
    timings = []
    result: T | None = None
    for _ in range(repeat):
        start = clock.perf_counter()
        result = work()
        timings.append(clock.perf_counter() - start)
    assert result is not None
    return min(timings), statistics.median(timings), result


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def line(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)


@contextmanager
def databases(kind: str, work: Path) -> Iterator[tuple[str, str]]:
    """(our database's URL, the tracker store's URL), on SQLite files or a throwaway PostgreSQL server."""
    if kind == "sqlite":
        yield f"sqlite:///{work / 'passerelle.db'}", f"sqlite:///{work / 'rasa-tracker.db'}"
        return
    from tests.postgres import ThrowawayPostgres, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        sys.exit("PostgreSQL binaries not found: run scripts/ensure-services.sh, or use --database sqlite")
    server = ThrowawayPostgres(bin_dir).start()
    try:
        url = server.create_database("passerelle_bench")
        yield url, url
    finally:
        server.stop()


def sizes(engine: Engine, tracker: Engine) -> str:
    if engine.dialect.name == "sqlite":
        for each in (engine, tracker):  # the WAL into the file, as SQLite does in time: the sizes are the files'
            with each.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        ours, theirs = (Path(str(e.url.database)).stat().st_size / 2**20 for e in (engine, tracker))
        return f"ours {ours:.0f} MiB, tracker store {theirs:.0f} MiB (SQLite files, WAL checkpointed)"
    with engine.connect() as connection:
        total = connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        events = connection.execute(text("SELECT pg_total_relation_size('events')")).scalar_one()
    return f"database {total / 2**20:.0f} MiB, of which the events table {events / 2**20:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite", help="default sqlite")
    parser.add_argument("--from", dest="first", type=date.fromisoformat, default=date(2026, 1, 1), metavar="DAY")
    parser.add_argument("--to", dest="last", type=date.fromisoformat, default=date(2026, 12, 31), metavar="DAY")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--conversations", type=int, default=50_000, help="default 50,000")
    parser.add_argument("--signups", type=int, default=2_000, help="atelier sign-ups (default 2,000)")
    parser.add_argument("--handoffs", type=int, default=500, help="default 500")
    parser.add_argument("--loans", type=int, default=300, help="loan requests, refused and cancelled included")
    parser.add_argument(
        "--tracker", choices=["full", "minimal"], default="full", help="all of Rasa's events (default) or user+slot"
    )
    parser.add_argument("--structure", default=MEMBERS[0][0], help=f"the structure's report (default {MEMBERS[0][0]})")
    parser.add_argument("--staff-hours", default=TEAM_HOURS, help=f"STAFF_HOURS of the report (default {TEAM_HOURS})")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure (default 3)")
    parser.add_argument("--charts", type=Path, metavar="DIR", help="write the network report's charts there (PNG)")
    args = parser.parse_args()
    if args.structure not in {name for name, _ in MEMBERS} | {LENDER_STRUCTURE[0]}:
        parser.error(f"--structure: one of {', '.join(name for name, _ in (LENDER_STRUCTURE, *MEMBERS))}")
    period = Period(args.first, args.last)
    now = paris(period.last + timedelta(days=1), 8)
    work = Path(tempfile.mkdtemp(prefix="passerelle-report-bench-"))
    print(
        f"Passerelle report benchmark: {args.database}, {period.first} to {period.last}, seed {args.seed}, "
        f"tracker {args.tracker}, repeat {args.repeat}\n"
        f"  Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, {platform.machine()}",
        flush=True,
    )
    try:
        with databases(args.database, work) as (url, tracker_url):
            run(args, period, now, url, tracker_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, period: Period, now: datetime, url: str, tracker_url: str) -> None:
    print("\nGeneration", flush=True)
    begin = clock.perf_counter()
    upgrade(url)
    line("schema (alembic upgrade head)", seconds(clock.perf_counter() - begin))
    database = Database(url)
    tracker = make_engine(tracker_url)
    start = clock.perf_counter()
    communes()  # loaded once per process, as in a running service (questions.py locates the searches with it)
    line("communes index (loaded once per process)", seconds(clock.perf_counter() - start))
    TRACKER.create_all(tracker)
    network = Network(args, period, now)
    for label, spent in network.write(database, tracker).items():
        line(label, seconds(spent))
    total = clock.perf_counter() - begin
    line("generation, in all", seconds(total))
    line("size", sizes(database.engine, tracker))
    line("peak RSS after generation", f"{rss_mib():.0f} MiB")
    tracker.dispose()
    generated = network.generated
    print("\nRows generated", flush=True)
    for table, count in sorted(generated.rows.items()):
        line(table, f"{count:,}")
    line("messages: buttons / typed / nlu_fallback", _share(generated))

    structure_name = args.structure

    def report_for(name: str | None) -> Report:
        with database.session() as session:
            structure = session.scalars(select(Structure).where(Structure.name == name)).one() if name else None
            return build_report(
                session,
                period,
                now,
                staff_hours=args.staff_hours,
                retention_days=RETENTION_DAYS,
                tracker_store_url=tracker_url,
                structure=structure,
            )

    def network_report() -> Report:
        return report_for(None)

    def structure_report() -> Report:
        return report_for(structure_name)

    def in_session(indicator: Callable[[Session], object]) -> Callable[[], object]:
        def work() -> object:
            with database.session() as session:
                return indicator(session)

        return work

    print(f"\nReport over {period.first} to {period.last} (min / median of {args.repeat})", flush=True)
    low, middle, report = measure(args.repeat, network_report)
    line("build_report, network", f"{seconds(low)} / {seconds(middle)}")
    low, middle, _ = measure(args.repeat, structure_report)
    line(f"build_report, structure « {structure_name} »", f"{seconds(low)} / {seconds(middle)}")
    with database.session() as session:
        structure_id = session.scalars(select(Structure.id).where(Structure.name == structure_name)).one()
    indicators: list[tuple[str, Callable[[], object]]] = [
        ("  weeks (conversations, messages)", in_session(lambda s: weeks(s, period))),
        ("  fiche_scores", in_session(lambda s: fiche_scores(s, period))),
        ("  question_indicators (tracker store)", lambda: question_indicators(tracker_url, period)),
        ("  handoff_indicators", in_session(lambda s: handoff_indicators(s, period, args.staff_hours))),
        ("  atelier_indicators", in_session(lambda s: atelier_indicators(s, period))),
        ("  loan_indicators", in_session(lambda s: loan_indicators(s, period))),
        ("  handoff_indicators, structure", in_session(lambda s: handoff_indicators(s, period, None, structure_id))),
        ("  atelier_indicators, structure", in_session(lambda s: atelier_indicators(s, period, structure_id))),
        ("  loan_indicators, structure", in_session(lambda s: loan_indicators(s, period, structure_id))),
    ]
    print("  each indicator alone:", flush=True)
    for label, work in indicators:
        low, middle, _ = measure(args.repeat, work)
        line(label, f"{seconds(low)} / {seconds(middle)}")

    print("\nOutput formats of the network's report (min / median, size)", flush=True)
    line("rows(report)", f"{len(rows(report)):,} rows")
    for fmt in FORMATS:
        low, middle, out = measure(args.repeat, lambda fmt=fmt: render(report, fmt))
        note = " (draws the charts)" if fmt == "html" else ""
        line(f"documents.render(report, {fmt!r}){note}", f"{seconds(low)} / {seconds(middle)}, {len(out):,} bytes")
    low, middle, charts = measure(args.repeat, lambda: render_charts(report))
    size = sum(len(chart.png) for chart in charts)
    line("charts.render_charts(report)", f"{seconds(low)} / {seconds(middle)}, {len(charts)} charts, {size:,} bytes")
    low, middle, out = measure(args.repeat, lambda: render(report, "html", charts))
    line("documents.render(report, 'html', charts) (charts drawn)", f"{seconds(low)} / {seconds(middle)}")
    if args.charts:
        args.charts.mkdir(parents=True, exist_ok=True)
        for chart in charts:
            (args.charts / f"{chart.name}.png").write_bytes(chart.png)
        print(f"  charts written to {args.charts}: {', '.join(f'{c.name}.png' for c in charts)}")

    print("\nThe report saw (generated)", flush=True)
    questions = report.questions
    line("conversations", f"{sum(w.conversations for w in report.weeks):,} ({generated.rows['conversations']:,})")
    line(
        "messages (conversations' message_count)", f"{sum(w.messages for w in report.weeks):,} ({generated.messages:,})"
    )
    if questions is not None:
        line("messages in the tracker store", f"{questions.messages:,} ({generated.rows['events: user']:,})")
        line("typed / not understood", f"{questions.typed:,} / {questions.not_understood:,}")
        line("place searches", f"{questions.searches:,} ({generated.searches:,})")
        manche = questions.searches_by_departement.get("50", 0)
        line("place searches in the Manche / communes", f"{manche:,} / {len(questions.searches_by_commune):,}")
    feedback = sum(f.answers for f in report.fiches)
    line("« Ça a marché ? » answers", f"{feedback:,} ({generated.rows['fiche_feedback']:,})")
    h = report.handoffs
    line("handoffs", f"{h.requests:,} ({generated.rows['handoffs']:,})")
    line(
        "  taken / wait median, p90 min / outside hours / open",
        f"{h.claimed:,} / {h.wait_median_minutes}, {h.wait_p90_minutes} / {h.outside_hours} / {h.still_open}",
    )
    line(
        "ateliers held / sign-ups confirmed",
        f"{report.ateliers.held:,} / {report.ateliers.confirmed:,} "
        f"({generated.ateliers_held:,} / {generated.confirmed:,})",
    )
    loans = report.loans
    line("loans", f"{loans.loans:,} ({generated.lent_loans:,})")
    line(
        "  refused / missing, damaged items / bilans / breakdowns",
        f"{sum(loans.refusals.values())} / {loans.missing_items}, {loans.damaged_items} / {loans.bilans} / "
        f"{loans.breakdowns}",
    )
    database.dispose()
    print(f"\nPeak RSS of this script: {rss_mib():.0f} MiB", flush=True)


def _share(generated: Generated) -> str:
    total = generated.messages or 1
    buttons = generated.button_messages / total
    return (
        f"{buttons:.0%} / {1 - buttons:.0%} / {generated.fallbacks / max(1, total - generated.button_messages):.1%} "
        "of typed"
    )


if __name__ == "__main__":
    main()
