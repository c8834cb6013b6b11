"""Handoffs: one open per citizen, the queue (urgent first), the claim raced by 20 conseillers, closing rights,
masked messages, replies routed by the relayed copy, satisfaction, purge and erasure."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from knowledge.citizens.conversations import Contact, record_message
from knowledge.citizens.erasure import erase_citizen
from knowledge.db import Database
from knowledge.handoffs.tickets import (
    add_message,
    claim,
    claimed_by,
    close,
    handoff_for_reply,
    open_handoff,
    purge_handoffs,
    queue_position,
    rate,
    request_handoff,
    waiting,
)
from knowledge.models import Handoff, HandoffMessage
from knowledge.staff import CONSEILLER, COORDINATEUR, MEDIATEUR, create_invitation, redeem, structure_named

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
RETENTION = timedelta(days=90)


def _citizen(database: Database, chat_id: int) -> int:
    with database.session() as session:
        return record_message(
            session, Contact("telegram", str(chat_id), str(chat_id), chat_id), NOW, RETENTION
        ).citizen_id


def _staff(database: Database, user_id: int, role: str, name: str) -> None:
    with database.session() as session:
        code = create_invitation(session, structure_named(session, "EPN", NOW), role, NOW)
    assert redeem(database, code, user_id, name, NOW).status == "joined"


def _request(database: Database, chat_id: int, when: datetime = NOW, urgent: bool = False) -> int:
    citizen_id = _citizen(database, chat_id)
    with database.session() as session:
        handoff, _ = request_handoff(session, citizen_id, chat_id, when, RETENTION, urgent=urgent)
        return handoff.id


def test_one_open_handoff_per_citizen_and_the_queue_puts_urgent_first(database: Database) -> None:
    first = _request(database, 11, NOW)
    second = _request(database, 12, NOW + timedelta(minutes=1))
    assert _request(database, 11, NOW + timedelta(minutes=2)) == first  # asked again: the same one
    urgent = _request(database, 13, NOW + timedelta(minutes=3), urgent=True)
    with database.session() as session:
        assert [h.id for h in waiting(session)] == [urgent, first, second]
        assert [queue_position(session, session.get(Handoff, h)) for h in (urgent, first, second)] == [1, 2, 3]


def test_twenty_conseillers_claim_at_once_and_exactly_one_gets_it(database: Database) -> None:
    handoff_id = _request(database, 11)
    for number in range(20):
        _staff(database, 500 + number, CONSEILLER, f"C{number}")
    barrier = threading.Barrier(20)
    results = []

    def press(user_id: int) -> None:
        barrier.wait()
        results.append(claim(database, handoff_id, user_id, NOW))

    threads = [threading.Thread(target=press, args=(500 + n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r.status == "claimed"]
    assert len(winners) == 1
    assert {(r.status, r.by) for r in results if r.status != "claimed"} == {("taken", winners[0].by)}
    with database.session() as session:
        assert session.get(Handoff, handoff_id).conseiller_name == winners[0].by


def test_only_answering_staff_claim_and_only_the_holder_or_a_coordinator_closes(database: Database) -> None:
    handoff_id = _request(database, 11)
    _staff(database, 501, CONSEILLER, "Bob")
    _staff(database, 502, CONSEILLER, "Cléo")
    _staff(database, 503, MEDIATEUR, "Dan")
    _staff(database, 504, COORDINATEUR, "Eve")
    assert claim(database, handoff_id, 11, NOW).status == "not_allowed"  # the citizen
    assert claim(database, handoff_id, 503, NOW).status == "not_allowed"  # a mediator lends kits
    assert claim(database, handoff_id, 501, NOW).status == "claimed"
    with database.session() as session:
        assert [h.id for h in claimed_by(session, 501)] == [handoff_id]
        assert close(session, handoff_id, 502, "resolu", NOW) == "not_allowed"
        assert close(session, handoff_id, 501, "peut-etre", NOW) == "bad_outcome"
        assert close(session, handoff_id, 504, "oriente", NOW) == "closed"
        assert close(session, handoff_id, 501, "resolu", NOW) == "already_closed"
        assert open_handoff(session, 11) is None
    assert claim(database, handoff_id, 502, NOW).status == "closed"


def test_messages_are_masked_and_replies_find_their_handoff(database: Database) -> None:
    first, second = _request(database, 11), _request(database, 12)
    with database.session() as session:
        one, two = session.get(Handoff, first), session.get(Handoff, second)
        add_message(
            session,
            one,
            "citizen",
            NOW,
            text="mon iban FR76 3000 6000 0112 3456 7890 189",
            relayed_chat_id=501,
            relayed_id=70,
        )
        add_message(session, two, "citizen", NOW, text="bonjour", relayed_chat_id=501, relayed_id=71)
        stored = session.scalars(select(HandoffMessage.text).where(HandoffMessage.handoff_id == first)).one()
        assert "3000 6000" not in stored and "masqu" in stored
        assert handoff_for_reply(session, 501, 70).id == first
        assert handoff_for_reply(session, 501, 71).id == second
        assert handoff_for_reply(session, 502, 70) is None  # another conseiller's chat: never guessed


def test_satisfaction_purge_and_erasure(database: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    handoff_id = _request(database, 11)
    _staff(database, 501, CONSEILLER, "Bob")
    claim(database, handoff_id, 501, NOW)
    with database.session() as session:
        assert rate(session, handoff_id, 11, 5) is False  # not closed yet
        close(session, handoff_id, None, "sans_suite", NOW)
        assert rate(session, handoff_id, 12, 4) is False  # not theirs
        assert rate(session, handoff_id, 11, 9) is False
        assert rate(session, handoff_id, 11, 4) is True
        assert purge_handoffs(session, NOW + RETENTION - timedelta(seconds=1)) == 0
    other = _request(database, 12)
    erase_citizen(database, f"sqlite:///{tmp_path / 't.db'}", "telegram", "12", "12", NOW)
    with database.session() as session:
        assert session.get(Handoff, other) is None
        assert purge_handoffs(session, NOW + RETENTION) == 1
        assert session.scalars(select(Handoff)).first() is None


@pytest.mark.parametrize("outcome", ["resolu", "oriente", "a_rappeler", "sans_suite"])
def test_every_outcome_closes(database: Database, outcome: str) -> None:
    handoff_id = _request(database, 11)
    with database.session() as session:
        assert close(session, handoff_id, None, outcome, NOW) == "closed"


def test_out_of_hours_is_said_with_when_the_team_is_back() -> None:
    from knowledge.handoffs.messages import out_of_hours_text

    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    wednesday = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    christmas = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)
    hours = "Mo-Fr 09:00-12:00,14:00-17:00"
    assert out_of_hours_text(hours, wednesday) is None
    assert out_of_hours_text(hours, saturday) == (
        "Nos conseillers ne sont pas là en ce moment (fermé, ouvre lundi à 9 h). Votre demande reste dans la file. "
        "En attendant, un lieu d'aide près de chez vous peut vous recevoir, par exemple une France services."
    )
    assert "jour férié" in (out_of_hours_text(hours, christmas) or "")
    assert out_of_hours_text(None, saturday) is None
    assert out_of_hours_text("lundi matin", saturday) is None  # unparsable: nothing promised


def test_reminder_and_unclaimed_notices_only_while_nobody_took_it(database: Database) -> None:
    from knowledge.handoffs.messages import REMIND_HANDOFF, UNCLAIMED_HANDOFF, UNCLAIMED_TEXT, renderers
    from knowledge.models import Notification
    from knowledge.notifications import add_notification, prepare

    handoff_id = _request(database, 11)
    with database.session() as session:
        add_message(session, session.get(Handoff, handoff_id), "citizen", NOW, text="écrivez à jean.dupont@gmail.com")
        add_notification(session, REMIND_HANDOFF, handoff_id, -100, NOW + timedelta(minutes=10), NOW)
        add_notification(session, UNCLAIMED_HANDOFF, handoff_id, 11, NOW + timedelta(minutes=60), NOW)
        ids = dict(session.execute(select(Notification.kind, Notification.id)).all())
    later = NOW + timedelta(minutes=10)
    reminder = prepare(database, ids[REMIND_HANDOFF], later, renderers())
    assert reminder is not None and reminder.text.startswith("Rappel : Nouvelle demande n° ")
    assert "En attente depuis 10 min" in reminder.text
    _staff(database, 501, CONSEILLER, "Bob")
    unclaimed = prepare(database, ids[UNCLAIMED_HANDOFF], NOW + timedelta(minutes=60), renderers())
    assert unclaimed is not None and unclaimed.text == UNCLAIMED_TEXT and unclaimed.chat_id == 11
    claim(database, handoff_id, 501, NOW)
    assert prepare(database, ids[REMIND_HANDOFF], later, renderers()) is None  # taken meanwhile: skipped


def test_idle_handoffs_are_closed_once(database: Database) -> None:
    from knowledge.handoffs.tickets import close_idle

    quiet, busy = _request(database, 11), _request(database, 12)
    _staff(database, 501, CONSEILLER, "Bob")
    claim(database, quiet, 501, NOW)
    claim(database, busy, 501, NOW)
    with database.session() as session:
        add_message(session, session.get(Handoff, busy), "citizen", NOW + timedelta(hours=20), text="toujours là")
    with database.session() as session:
        closed = close_idle(session, NOW + timedelta(hours=25), timedelta(hours=24))
    assert [(c.handoff_id, c.citizen_chat_id, c.conseiller_user_id, c.conseiller_name) for c in closed] == [
        (quiet, 11, 501, "Bob")
    ]
    with database.session() as session:
        assert close_idle(session, NOW + timedelta(hours=25), timedelta(hours=24)) == []
        assert session.get(Handoff, quiet).outcome == "sans_suite"
        assert session.get(Handoff, busy).status == "claimed"


def test_an_idle_close_arms_both_notices_with_the_close(database: Database) -> None:
    """The notices are outbox rows written in the closing transaction: a crash after the close loses neither, and
    a second pass arms nothing more."""
    from knowledge.handoffs.messages import (
        IDLE_CLOSED,
        IDLE_CLOSED_FOR_STAFF,
        IDLE_CLOSED_FOR_STAFF_TEXT,
        IDLE_CLOSED_TEXT,
        close_idle_and_tell,
        renderers,
    )
    from knowledge.models import Notification
    from knowledge.notifications import prepare

    quiet = _request(database, 11)
    _staff(database, 501, CONSEILLER, "Bob")
    claim(database, quiet, 501, NOW)
    later = NOW + timedelta(hours=25)
    with database.session() as session:
        assert [c.handoff_id for c in close_idle_and_tell(session, later, timedelta(hours=24))] == [quiet]
    with database.session() as session:
        assert close_idle_and_tell(session, later, timedelta(hours=24)) == []
        rows = {n.kind: (n.id, n.chat_id) for n in session.scalars(select(Notification)) if "idle" in n.kind}
    assert {kind: chat for kind, (_, chat) in rows.items()} == {IDLE_CLOSED: 11, IDLE_CLOSED_FOR_STAFF: 501}
    citizen = prepare(database, rows[IDLE_CLOSED][0], later, renderers())
    assert citizen is not None and citizen.text == IDLE_CLOSED_TEXT.format(name="Bob")
    assert [b["payload"] for b in citizen.buttons[0]] == [f"handoff|rate|{quiet}|{n}" for n in range(1, 6)]
    staff = prepare(database, rows[IDLE_CLOSED_FOR_STAFF][0], later, renderers())
    assert staff is not None and staff.text == IDLE_CLOSED_FOR_STAFF_TEXT.format(id=quiet, hours=25)


def test_the_summary_masks_contacts() -> None:
    from knowledge.citizens.privacy import mask_contacts

    assert mask_contacts("jean.dupont@gmail.com, 06 12 34 56 78") == "j***@gmail.com, 06 ** ** ** 78"
    assert mask_contacts("+33 6 12 34 56 78 et 0233445566") == "+33 6 ** ** ** 78 et 02******66"
    assert mask_contacts("code postal 50000, le 12/03/2026") == "code postal 50000, le 12/03/2026"


# --- a conseiller gone: the requests back in the queue ------------------------------------------------------------


def _member_id(database: Database, user_id: int) -> int:
    from knowledge.staff import member_of

    with database.session() as session:
        member = member_of(session, user_id)
        assert member is not None
        return member.id


def test_requeue_claimed_puts_only_that_conseillers_requests_back_in_their_place(database: Database) -> None:
    from knowledge.handoffs.tickets import requeue_claimed

    first = _request(database, 11, NOW)
    second = _request(database, 12, NOW + timedelta(minutes=1))
    others = _request(database, 13, NOW + timedelta(minutes=2))
    later = _request(database, 14, NOW + timedelta(minutes=3))
    _staff(database, 501, CONSEILLER, "Bob")
    _staff(database, 502, CONSEILLER, "Cléo")
    for handoff_id in (first, second):
        claim(database, handoff_id, 501, NOW + timedelta(minutes=5))
    claim(database, others, 502, NOW + timedelta(minutes=5))
    bob = _member_id(database, 501)
    with database.session() as session:
        requeued = requeue_claimed(session, bob, NOW + timedelta(minutes=9))
        assert [h.id for h in requeued] == [first, second]
        assert {(h.status, h.claimed_by_id, h.claimed_at, h.conseiller_name) for h in requeued} == {
            ("pending", None, None, "")
        }
        assert [h.id for h in waiting(session)] == [first, second, later]  # their place kept: by request time
        assert session.get(Handoff, others).status == "claimed"
        assert requeue_claimed(session, bob, NOW + timedelta(minutes=9)) == []  # the second event finds nothing
        assert claimed_by(session, 501) == []
    assert claim(database, first, 502, NOW + timedelta(minutes=10)).status == "claimed"


def test_hand_back_tells_the_citizen_and_posts_the_request_again_each_round(database: Database) -> None:
    from knowledge.handoffs.messages import (
        CONSEILLER_GONE,
        REQUEUED_HANDOFF,
        REQUEUED_NOTE,
        REQUEUED_TEXT,
        hand_back,
        renderers,
    )
    from knowledge.models import Notification, StaffMember
    from knowledge.notifications import prepare
    from knowledge.staff import set_available

    _request(database, 10, NOW - timedelta(minutes=5))  # someone waits ahead: the citizen is 2nd
    handoff_id = _request(database, 11)
    for user_id, name in ((501, "Bob"), (502, "Cléo"), (503, "Dan")):
        _staff(database, user_id, CONSEILLER, name)
    with database.session() as session:
        set_available(session, 501, True)
        set_available(session, 503, True)  # said /dispo: told directly too
    claim(database, handoff_id, 501, NOW)
    bob, cleo, dan = (_member_id(database, u) for u in (501, 502, 503))
    with database.session() as session:
        assert [h.id for h in hand_back(session, bob, -100, NOW + timedelta(minutes=3))] == [handoff_id]
        assert session.get(StaffMember, bob).available is False
        rows = {n.kind: (n.ref_id, n.chat_id) for n in session.scalars(select(Notification))}
        assert hand_back(session, bob, -100, NOW) == []  # nothing left: nothing sent twice
    assert rows == {
        f"{CONSEILLER_GONE}:1": (handoff_id, 11),
        f"{REQUEUED_HANDOFF}:1": (handoff_id, -100),
        f"{REQUEUED_HANDOFF}:1:{dan}": (handoff_id, 503),
    }
    with database.session() as session:
        ids = dict(session.execute(select(Notification.kind, Notification.id)).all())
    later = NOW + timedelta(minutes=4)
    told = prepare(database, ids[f"{CONSEILLER_GONE}:1"], later, renderers())
    assert told is not None and told.chat_id == 11
    assert told.text == REQUEUED_TEXT.format(position=2, suffix="e")
    assert told.text.startswith("Votre conseiller n'est plus disponible. Votre demande revient dans la file")
    posted = prepare(database, ids[f"{REQUEUED_HANDOFF}:1"], later, renderers())
    assert posted is not None and posted.chat_id == -100
    assert posted.text.startswith(f"Nouvelle demande n° {handoff_id}\n{REQUEUED_NOTE}\n")
    assert posted.buttons == [[{"title": "Prendre en charge", "payload": f"handoff|claim|{handoff_id}"}]]

    claim(database, handoff_id, 502, NOW + timedelta(minutes=5))  # Cléo takes it, and is removed in turn
    assert prepare(database, ids[f"{REQUEUED_HANDOFF}:1:{dan}"], later, renderers()) is None  # taken: skipped
    with database.session() as session:
        assert [h.id for h in hand_back(session, cleo, None, NOW + timedelta(minutes=6))] == [handoff_id]
        kinds = set(session.scalars(select(Notification.kind).where(Notification.ref_id == handoff_id)))
    assert {f"{CONSEILLER_GONE}:2", f"{REQUEUED_HANDOFF}:2:{dan}"} < kinds  # a second round, its own rows
    assert f"{REQUEUED_HANDOFF}:2" not in kinds  # no staff group configured: nothing posted there


def test_a_coordinator_removing_a_conseiller_hands_their_requests_back(database: Database) -> None:
    from bot.staff.accounts import StaffAccounts
    from knowledge.handoffs.messages import CONSEILLER_GONE, REQUEUED_HANDOFF
    from knowledge.models import Notification

    handoff_id = _request(database, 11)
    _staff(database, 501, CONSEILLER, "Bob")
    _staff(database, 504, COORDINATEUR, "Eve")
    claim(database, handoff_id, 501, NOW)
    text = StaffAccounts(database)._remove(504, _member_id(database, 501), -100)
    assert text == "Bob ne fait plus partie de l'équipe. Sa demande en cours revient dans la file."
    with database.session() as session:
        assert session.get(Handoff, handoff_id).status == "pending"
        kinds = {n.kind: n.chat_id for n in session.scalars(select(Notification))}
    assert kinds == {f"{CONSEILLER_GONE}:1": 11, f"{REQUEUED_HANDOFF}:1": -100}


# --- what crosses the relay ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["contact", "location", "venue", "poll", "dice", "game", "other"])
def test_contacts_positions_polls_and_games_are_not_relayed(kind: str) -> None:
    from knowledge.handoffs.messages import refusal_text

    text = refusal_text(kind)
    assert text is not None
    assert text.endswith("Vous pouvez envoyer du texte, des photos, des documents ou des messages vocaux.")
    if kind == "contact":
        assert "numéro de téléphone" in text


@pytest.mark.parametrize(
    "kind", ["text", "photo", "document", "voice", "audio", "video", "animation", "sticker", "video_note"]
)
def test_text_media_and_stickers_are_relayed(kind: str) -> None:
    from knowledge.handoffs.messages import refusal_text

    assert refusal_text(kind) is None


def test_what_crosses_the_relay_is_masked_and_says_if_it_was_forwarded_or_corrected() -> None:
    from knowledge.handoffs.messages import MAX_CAPTION, MAX_TEXT, Relayed, relayed

    secret = "mon mot de passe est Soleil2024"
    masked = "mon mot de passe est [mot de passe masqué]"
    to_bob = {"handoff_id": 12, "conseiller_name": "", "to_citizen": False}
    to_citizen = {"handoff_id": 12, "conseiller_name": "Bob", "to_citizen": True}
    assert relayed("text", secret, **to_bob) == Relayed(f"Demande n° 12 : {masked}", None, secret)
    assert relayed("text", secret, **to_bob, forwarded=True) == Relayed(
        f"Demande n° 12 (message transféré) : {masked}", None, f"(message transféré) {secret}"
    )
    assert relayed("text", "à 14 h", **to_citizen, edited=True) == Relayed(
        "Bob (message corrigé) : à 14 h", None, "(message corrigé) à 14 h"
    )
    assert relayed("photo", secret, **to_bob) == Relayed(None, masked, secret)  # the caption masked
    assert relayed("photo", "", **to_bob) == Relayed(None, None, "")  # copied as it is
    assert relayed("document", "", **to_bob, forwarded=True).caption == "Demande n° 12 (message transféré)"
    assert relayed("document", secret, **to_citizen, edited=True).caption == f"Bob (message corrigé) : {masked}"
    assert relayed("sticker", "", **to_bob, forwarded=True) == Relayed(None, None, "")  # no caption possible
    long = relayed("text", "a" * 5000, **to_bob).text or ""
    assert len(long) == MAX_TEXT and long.endswith("…")
    assert len(relayed("photo", "a" * 2000, **to_bob).caption or "") == MAX_CAPTION


def test_a_relayed_caption_is_stored_masked_once(database: Database) -> None:
    from knowledge.handoffs.messages import relayed

    handoff_id = _request(database, 11)
    relay = relayed(
        "photo", "mon mot de passe est Soleil2024", handoff_id=handoff_id, conseiller_name="", to_citizen=False
    )
    with database.session() as session:
        add_message(session, session.get(Handoff, handoff_id), "citizen", NOW, text=relay.stored, kind="photo")
        stored = session.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == handoff_id)).one()
        assert (stored.kind, stored.text) == ("photo", relay.caption)
