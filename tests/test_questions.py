"""What citizens asked, from Rasa's tracker store (knowledge/indicators/questions.py): messages by subject and by
fiche, typed messages not understood, requests for a person, place searches by commune and département; exact
figures from known events on both databases, small counts hidden in the report."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import insert

from knowledge.citizens.tracker_events import EVENTS, TRACKER
from knowledge.db import Database, make_engine
from knowledge.fiches import get_fiche
from knowledge.french import PARIS
from knowledge.indicators.documents import to_csv
from knowledge.indicators.period import Period
from knowledge.indicators.questions import FICHES, OTHER_COMMUNES, question_indicators
from knowledge.indicators.report import build_report
from knowledge.places.communes import communes

MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)


def write_events(url: str, events: list[dict[str, object]]) -> None:
    engine = make_engine(url)
    try:
        TRACKER.create_all(engine)
        with engine.begin() as connection:
            connection.execute(insert(EVENTS), events)
    finally:
        engine.dispose()


def user(intent: str, text: str, at: datetime = MONDAY, sender: str = "a") -> dict[str, object]:
    data = {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}, "timestamp": at.timestamp()}
    return {
        "sender_id": sender,
        "type_name": "user",
        "timestamp": at.timestamp(),
        "intent_name": intent,
        "action_name": None,
        "data": json.dumps(data),
    }


def location(lat: float | None, lon: float | None, at: datetime = MONDAY) -> dict[str, object]:
    value = None if lat is None else {"lat": lat, "lon": lon, "label": "?"}
    return {
        "sender_id": "b",
        "type_name": "slot",
        "timestamp": at.timestamp(),
        "intent_name": None,
        "action_name": "last_location",
        "data": json.dumps({"event": "slot", "name": "last_location", "value": value}),
    }


def known_events() -> list[dict[str, object]]:
    saint_lo, cherbourg = communes().by_insee("50502"), communes().by_insee("50129")
    assert saint_lo is not None and cherbourg is not None
    events = [user("faq_ameli", "comment avoir mon attestation ameli") for _ in range(6)]
    events += [user("faq_ameli", "/faq_ameli"), user("faq_caf", "ma caf"), user("faq_caf", "/faq_caf")]
    events += [user("nlu_fallback", "blabla") for _ in range(3)]
    events += [user("request_human", "/request_human"), user("request_human", "je veux parler à quelqu'un")]
    events += [user("find_place", "un lieu à Saint-Lô"), user("find_place", "près de Cherbourg")]
    events += [user("greet", "bonjour"), user("something_new", "???")]
    events += [user("faq_ameli", "ameli", at=datetime(2026, 4, 1, 0, 0, tzinfo=PARIS))]  # April: not counted
    events += [location(saint_lo.lat, saint_lo.lon) for _ in range(5)]
    events += [location(cherbourg.lat + 0.002, cherbourg.lon - 0.001)]  # a shared GPS position, near the centre
    events += [location(None, None), location(saint_lo.lat, saint_lo.lon, at=datetime(2026, 2, 28, tzinfo=PARIS))]
    events += [{**user("faq_ameli", "x"), "type_name": "bot", "intent_name": None}]  # the bot's own messages
    return events


def test_questions_by_subject_and_fiche_from_known_events(database_url: str) -> None:
    write_events(database_url, known_events())
    figures = question_indicators(database_url, MARCH)
    ameli, caf = get_fiche("ameli"), get_fiche("caf")
    assert ameli is not None and caf is not None
    assert (figures.messages, figures.typed, figures.not_understood, figures.human_requests) == (18, 15, 3, 2)
    assert figures.not_understood_rate == 0.2
    assert figures.by_subject == {
        FICHES: 9,
        "Non compris": 3,
        "Parler à une personne": 2,
        "Trouver un lieu d'aide": 2,
        "Échanges courants (bonjour, merci, menu…)": 1,
        "Autre": 1,
    }
    assert figures.by_fiche == {ameli.title: 7, caf.title: 2}
    assert figures.searches == 6
    assert figures.searches_by_commune == {"Saint-Lô (50)": 5, OTHER_COMMUNES: 1}  # Cherbourg: once, not named
    assert figures.searches_by_departement == {"50": 6}


def test_no_tracker_table_yet_gives_zeros(tmp_path) -> None:
    figures = question_indicators(f"sqlite:///{tmp_path / 'tracker.db'}", MARCH)
    assert (figures.messages, figures.searches, figures.not_understood_rate, figures.by_fiche) == (0, 0, None, {})


def test_the_report_hides_small_counts_of_questions(database: Database, database_url: str) -> None:
    write_events(database_url, known_events())
    with database.session() as session:
        report = build_report(
            session,
            MARCH,
            MONDAY + timedelta(days=40),
            staff_hours=None,
            retention_days=90,
            tracker_store_url=database_url,
        )
    figures = {
        (section, indicator): value
        for section, indicator, value in (line.split(";") for line in to_csv(report).splitlines()[1:])
    }
    ameli, caf = get_fiche("ameli"), get_fiche("caf")
    assert ameli is not None and caf is not None
    assert figures[("Questions", "messages reçus")] == "18"
    assert figures[("Questions", "taux de messages non compris")] == "20 %"
    assert figures[("Questions", f"fiche : {ameli.title}")] == "7"
    assert figures[("Questions", f"fiche : {caf.title}")] == "< 5"
    assert figures[("Questions", "demandes à parler à une personne")] == "< 5"
    assert figures[("Recherches de lieux", "commune : Saint-Lô (50)")] == "5"
    assert figures[("Recherches de lieux", f"commune : {OTHER_COMMUNES}")] == "< 5"
    assert not [key for key in figures if "Cherbourg" in key[1]]
    assert figures[("Recherches de lieux", "département : 50")] == "6"
