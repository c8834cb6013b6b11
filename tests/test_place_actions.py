"""The places and ateliers actions, with a Tracker built by hand: bad input, ambiguity, permissions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from sqlalchemy import select

from actions import services
from actions.ateliers import NO_SENDER_TEXT, NOT_YOURS_TEXT, ActionAtelierCancel, ActionAtelierRegister
from actions.places import ActionFindPlace
from knowledge.ateliers.signups import import_ateliers, register
from knowledge.ateliers.sources import AtelierRecord
from knowledge.citizens.conversations import Contact, record_message
from knowledge.db import Database
from knowledge.french import PARIS
from knowledge.models import Atelier, Registration
from knowledge.places import messages as say
from knowledge.places.catalogue import DEMO_PLACES, import_places_from
from knowledge.places.index import IndexCache
from tests.test_actions import run
from tests.test_actions import tracker as action_tracker

NOW = datetime.now(UTC)


def tracker(
    intent: str,
    text: str = "",
    entities: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
    user: str | None = "4242",
) -> Tracker:
    """A message from Telegram user `user` (None: a sender the bot did not describe)."""
    metadata = {"channel": "telegram", "user_id": user, "chat_id": int(user), "first_name": "Ana"} if user else {}
    return action_tracker(intent, text, slots, user or "x", entities=entities, metadata=metadata)


@pytest.fixture
def demo(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The demo places on each backend, as the actions' database."""
    import_places_from(database, str(DEMO_PLACES), NOW)
    monkeypatch.setattr(services, "database", lambda: database)
    monkeypatch.setattr(services, "place_index", lambda: IndexCache(database))
    with database.session() as session:
        for user in ("4242", "4343"):
            record_message(session, Contact("telegram", user, user, int(user)), NOW, timedelta(days=90))
    yield database


def custom(messages: list[dict[str, Any]]) -> dict[str, Any]:
    (message,) = messages
    return message["custom"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\n".join(["saint lo"] * 5000), say.TOO_LONG),
        ("99999", say.UNKNOWN_POSTCODE.format(code="99999")),
        ("azertyuiop", say.NO_MATCH),
    ],
    ids=["5000-lines", "unknown-postcode", "nonsense"],
)
def test_a_place_that_cannot_be_found_asks_again_kindly(demo: Database, text: str, expected: str) -> None:
    events, messages = run(ActionFindPlace(), tracker("inform_place", text))
    assert events == []
    assert custom(messages) == {"text": expected, "request_location": True}


def test_no_place_in_the_question_asks_for_a_location(demo: Database) -> None:
    _, messages = run(ActionFindPlace(), tracker("find_place", "je cherche de l'aide près de chez moi"))
    assert custom(messages) == {"text": say.ASK_LOCATION, "request_location": True}


def test_a_location_outside_france_is_refused(demo: Database) -> None:
    _, messages = run(ActionFindPlace(), tracker("share_location", "/share_location", {"latitude": 0, "longitude": 0}))
    assert custom(messages)["text"] == say.OUTSIDE_FRANCE


def test_an_ambiguous_name_offers_the_communes_with_their_departement(demo: Database) -> None:
    _, messages = run(ActionFindPlace(), tracker("inform_place", "saint pierre"))
    message = custom(messages)
    assert message["text"] == say.WHICH_COMMUNE
    assert message["keyboard"][0] == [{"title": "Saint-Pierre (974)", "payload": '/inform_place{"insee":"97416"}'}]


def test_the_chosen_commune_without_place_near_offers_france_services(demo: Database) -> None:
    _, messages = run(ActionFindPlace(), tracker("inform_place", '/inform_place{"insee":"97416"}', {"insee": "97416"}))
    message = custom(messages)
    assert message["text"] == say.no_place_text("Saint-Pierre (974)")
    assert message["keyboard"][0] == [{"title": "Trouver une France services", "url": say.FRANCE_SERVICES_URL}]


def test_places_near_a_postcode_with_their_map_buttons_and_the_next_page(demo: Database) -> None:
    events, messages = run(ActionFindPlace(), tracker("inform_place", "50000"))
    message = custom(messages)
    assert message["text"].startswith("Voici les lieux d'aide au numérique les plus proches de 50000 Saint-Lô :")
    assert message["venue"]["title"] in message["text"].split("\n\n")[1]  # sent where it clears a keyboard
    maps = message["keyboard"][-2]
    assert [b["title"] for b in maps] == ["📍 Plan 1", "📍 Plan 2", "📍 Plan 3"]
    with demo.session() as session:
        first = say.place_pin(session, maps[0]["payload"])
    assert first is not None and first["title"] in message["text"].split("\n\n")[1]
    more = message["keyboard"][-1][0]
    assert more["title"] == "Plus de lieux" and more["payload"].startswith('/more_places{"latitude":49.1')
    assert events == [
        SlotSet("last_location", {"lat": 49.10996, "lon": -1.07756, "label": "50000 Saint-Lô"}),
        SlotSet("looking_for", None),
    ]
    _, page = run(
        ActionFindPlace(),
        tracker("more_places", more["payload"], {"latitude": 49.10996, "longitude": -1.07756, "offset": 3}),
    )
    assert custom(page)["text"].startswith("D'autres lieux près de Saint-Lô (50) :\n\n4. ")
    assert [row[0]["title"] for row in custom(page)["keyboard"] if row[0]["title"].startswith("📍")] == ["📍 Plan 4"]


def test_a_need_in_the_question_filters_the_places(demo: Database) -> None:
    _, messages = run(ActionFindPlace(), tracker("find_place", "un lieu pour mes impôts à Coutances"))
    text = custom(messages)["text"]
    assert text.startswith("Voici les lieux proches de Coutances (50) qui proposent « Aide aux démarches")
    assert all("Aide aux démarches administratives" in block for block in text.split("\n\n")[1:])


def _atelier(database: Database, start: datetime, title: str = "Atelier smartphone") -> int:
    record = AtelierRecord(
        uid=f"{title}@t", start=start, end=start + timedelta(hours=2), title=title, place_id="demo-50502-1", capacity=4
    )
    with database.session() as session:
        import_ateliers(session, [record], "t", NOW)
        return session.scalars(select(Atelier.id).where(Atelier.uid == f"{title}@t")).one()


def test_sign_up_needs_a_sender_known_to_the_bot(demo: Database) -> None:
    atelier_id = _atelier(demo, NOW + timedelta(days=3))
    _, messages = run(ActionAtelierRegister(), tracker("atelier_register", "", {"atelier": atelier_id}, user=None))
    assert messages[0]["text"] == NO_SENDER_TEXT


def test_a_sign_up_typed_in_words_takes_the_one_atelier_it_names(demo: Database) -> None:
    next_week = (NOW + timedelta(days=7)).astimezone(PARIS).replace(hour=14, minute=0, second=0, microsecond=0)
    _atelier(demo, next_week, "Atelier smartphone")
    _atelier(demo, next_week + timedelta(days=1), "Atelier e-mail")
    last = {"last_location": {"lat": 49.11, "lon": -1.08, "label": "Saint-Lô (50)"}}
    _, messages = run(
        ActionAtelierRegister(), tracker("atelier_register", "je veux m'inscrire à l'atelier smartphone", slots=last)
    )
    message = custom(messages)
    assert message["text"].startswith("C'est noté, Ana. Vous êtes inscrit(e) :\n\nAtelier smartphone")
    assert message["document"]["filename"] == "atelier.ics"
    assert message["document"]["content"].startswith("BEGIN:VCALENDAR")


def test_nobody_cancels_the_sign_up_of_someone_else(demo: Database) -> None:
    atelier_id = _atelier(demo, NOW + timedelta(days=3))
    with demo.session() as session:
        from knowledge.models import Citizen

        owner = session.scalars(select(Citizen.id).where(Citizen.external_id == "4242")).one()
    signed = register(demo, atelier_id, owner, 4242, "Ana", NOW, reminder_hour=18)
    payload = {"registration": signed.registration_id}
    _, messages = run(ActionAtelierCancel(), tracker("atelier_cancel", "", payload, user="4343"))
    assert messages[0]["text"] == NOT_YOURS_TEXT
    with demo.session() as session:
        assert session.get(Registration, signed.registration_id).status == "confirmed"


def test_the_action_server_registers_every_action_of_the_domain() -> None:
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    domain = yaml.safe_load((Path(__file__).resolve().parent.parent / "nlu/domain/places.yml").read_text())
    assert set(domain["actions"]) <= set(executor.actions)


def test_a_sign_up_before_saying_where_asks_where_then_shows_the_ateliers_there(demo: Database) -> None:
    from actions.ateliers import ASK_WHERE_FOR_ATELIER

    _atelier(demo, NOW + timedelta(days=3))
    events, messages = run(ActionAtelierRegister(), tracker("atelier_register", "je veux m'inscrire à un atelier"))
    assert custom(messages) == {"text": ASK_WHERE_FOR_ATELIER, "request_location": True}
    assert events == [SlotSet("looking_for", "ateliers")]
    _, messages = run(ActionFindPlace(), tracker("inform_place", "50000", slots={"looking_for": "ateliers"}))
    answer = custom(messages)
    assert answer["text"].startswith("Les prochains ateliers près de 50000 Saint-Lô :")
    assert answer["keyboard"][0][0]["title"].startswith("S'inscrire : Atelier smartphone")
