"""« Parler à un conseiller » as an action: a handoff with the staff notified, urgent after danger or an already-paid
scam, the team's hours, and the honest answer when no team is configured."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rasa_sdk import Tracker
from sqlalchemy import select

from actions import services
from actions.handoffs import ActionRequestHuman
from knowledge.citizens.conversations import Contact, record_message
from knowledge.db import Database
from knowledge.handoffs.messages import NEW_HANDOFF, NO_TEAM_TEXT, REMIND_HANDOFF, UNCLAIMED_HANDOFF
from knowledge.models import Handoff, HandoffMessage, Notification
from knowledge.settings import DataSettings
from tests.test_actions import run


def _tracker(events: list[dict[str, Any]], user: str = "4242") -> Tracker:
    metadata = {"channel": "telegram", "user_id": user, "chat_id": int(user), "first_name": "Ana"}
    latest = {
        "intent": {"name": "request_human", "confidence": 1.0},
        "entities": [],
        "text": "/request_human",
        "metadata": metadata,
    }
    return Tracker(user, {}, latest, events, False, None, {}, "action_listen")


def _said(text: str, intent: dict[str, Any]) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": intent}}


@pytest.fixture
def team(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.setattr(services, "database", lambda: database)
    monkeypatch.setattr(services, "settings", lambda: DataSettings(database_url=database.url, staff_chat_id=-100))
    with database.session() as session:
        record_message(session, Contact("telegram", "4242", "4242", 4242), datetime.now(UTC), timedelta(days=90))
    yield database


def test_a_request_opens_a_handoff_with_the_last_messages_and_three_timers(team: Database) -> None:
    events = [_said("mon mail jean.dupont@gmail.com ne marche plus", {"name": "faq_email"})]
    _, messages = run(ActionRequestHuman(), _tracker(events))
    assert messages[0]["text"].startswith("Je transmets votre demande à un conseiller. Vous êtes 1er dans la file.")
    with team.session() as session:
        handoff = session.scalars(select(Handoff)).one()
        assert (handoff.chat_id, handoff.status, handoff.urgent) == (4242, "pending", False)
        assert session.scalars(select(HandoffMessage.text)).all() == ["mon mail j***@gmail.com ne marche plus"]
        kinds = {n.kind: n.chat_id for n in session.scalars(select(Notification))}
    assert kinds == {NEW_HANDOFF: -100, REMIND_HANDOFF: -100, UNCLAIMED_HANDOFF: 4242}


@pytest.mark.parametrize(
    "intent", [{"name": "danger", "situations": ["suicide"]}, {"name": "faq_arnaques", "scam": "already_paid"}]
)
def test_after_danger_or_an_already_paid_scam_the_request_is_urgent(team: Database, intent: dict[str, Any]) -> None:
    run(ActionRequestHuman(), _tracker([_said("…", intent)]))
    with team.session() as session:
        assert session.scalars(select(Handoff.urgent)).one() is True


def test_without_a_staff_group_the_citizen_is_directed_to_places(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "database", lambda: database)
    monkeypatch.setattr(services, "settings", lambda: DataSettings(database_url=database.url))
    _, messages = run(ActionRequestHuman(), _tracker([]))
    assert messages[0]["text"] == NO_TEAM_TEXT
    with database.session() as session:
        assert session.scalars(select(Handoff)).first() is None


def test_available_conseillers_are_told_directly_and_the_commune_is_in_the_summary(team: Database) -> None:
    from knowledge.handoffs.messages import renderers
    from knowledge.notifications import prepare
    from knowledge.staff import CONSEILLER, create_invitation, redeem, set_available, structure_named

    now = datetime.now(UTC)
    for user_id, available in ((501, True), (502, False)):
        with team.session() as session:
            code = create_invitation(session, structure_named(session, "EPN", now), CONSEILLER, now)
        redeem(team, code, user_id, f"C{user_id}", now)
        with team.session() as session:
            set_available(session, user_id, available)
    tracker = _tracker([])
    tracker.slots["last_location"] = {"lat": 49.11, "lon": -1.08, "label": "50000 Saint-Lô"}
    run(ActionRequestHuman(), tracker)
    with team.session() as session:
        chats = {n.kind.split(":")[0]: [] for n in session.scalars(select(Notification))}
        for notification in session.scalars(select(Notification)):
            chats[notification.kind.split(":")[0]].append(notification.chat_id)
        direct = session.scalars(select(Notification.id).where(Notification.kind.like(f"{NEW_HANDOFF}:%"))).one()
    assert sorted(chats[NEW_HANDOFF]) == [-100, 501]
    outgoing = prepare(team, direct, now, renderers())
    assert outgoing is not None and outgoing.chat_id == 501 and "Commune : 50000 Saint-Lô" in outgoing.text


CLOSED_NOW = "Mo-Su off"
"""Team hours closed at any time the tests run."""


def _closed_team(database: Database, monkeypatch: pytest.MonkeyPatch, hours: str | None = CLOSED_NOW) -> None:
    settings = DataSettings(database_url=database.url, staff_chat_id=-100, staff_hours=hours)
    monkeypatch.setattr(services, "settings", lambda: settings)


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [str(message.get("text")) for message in messages]


@pytest.fixture
def closed(team: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    _closed_team(team, monkeypatch)
    yield team


def test_out_of_hours_a_person_in_danger_gets_the_numbers_again_before_the_queue(closed: Database) -> None:
    from knowledge.handoffs.messages import out_of_hours_text
    from knowledge.safety import CHILD, danger_text

    events = [
        _said("je veux mourir", {"name": "danger", "situations": ["suicide"]}),
        _said("mon fils est battu", {"name": "danger", "situations": [CHILD]}),  # the latest one is repeated
        _said("/request_human", {"name": "request_human"}),
    ]
    _, messages = run(ActionRequestHuman(), _tracker(events))
    texts = _texts(messages)
    assert texts == [
        danger_text((CHILD,)),
        texts[1],
        out_of_hours_text(CLOSED_NOW, datetime.now(UTC)),
    ]
    assert "119" in texts[0]
    assert texts[1].startswith("Je transmets votre demande à un conseiller. Vous êtes 1er dans la file.")
    assert "buttons" not in messages[0] or not messages[0]["buttons"]


def test_out_of_hours_a_scam_already_paid_gets_the_immediate_steps_before_the_queue(closed: Database) -> None:
    from knowledge.safety import ALREADY_PAID, scam_text

    events = [_said("j'ai donné mon code de carte", {"name": "faq_arnaques", "scam": "already_paid"})]
    _, messages = run(ActionRequestHuman(), _tracker(events))
    texts = _texts(messages)
    assert len(texts) == 3
    assert texts[0] == scam_text(ALREADY_PAID)
    assert texts[1].startswith("Je transmets votre demande à un conseiller.")
    assert texts[2].startswith("Nos conseillers ne sont pas là en ce moment")


def test_danger_without_situations_gets_every_number(closed: Database) -> None:
    from knowledge.safety import danger_text

    _, messages = run(ActionRequestHuman(), _tracker([_said("…", {"name": "danger", "detected_by": "classifier"})]))
    assert _texts(messages)[0] == danger_text(())


def test_out_of_hours_a_request_that_is_not_urgent_gets_no_emergency_numbers(closed: Database) -> None:
    _, messages = run(ActionRequestHuman(), _tracker([_said("mon mail ne marche plus", {"name": "faq_email"})]))
    texts = _texts(messages)
    assert len(texts) == 2
    assert texts[0].startswith("Je transmets votre demande à un conseiller.")
    assert texts[1].startswith("Nos conseillers ne sont pas là en ce moment")


def test_without_hours_closed_an_urgent_request_only_gets_the_queue(
    team: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _closed_team(team, monkeypatch, hours=None)  # no hours announced: never said closed
    events = [_said("je veux mourir", {"name": "danger", "situations": ["suicide"]})]
    _, messages = run(ActionRequestHuman(), _tracker(events))
    texts = _texts(messages)
    assert len(texts) == 1 and texts[0].startswith("Je transmets votre demande à un conseiller.")
