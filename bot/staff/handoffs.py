"""Handoffs in Telegram: « Prendre en charge » in the staff group, the relay both ways, closing with an outcome, the
citizen's `/bot` and satisfaction.

While a handoff is open, what the citizen sends goes to the conseiller (text masked first; photos, documents, voice
notes, stickers, videos copied with their caption masked) and never to Rasa. A contact, a location, a poll or dice
are not passed on: the sender is told what can be sent. A forwarded message is sent again or copied, so the original
sender never shows, under « (message transféré) »; an edited message goes as « (message corrigé) ». A conseiller's
message goes to the citizen of the relayed message they reply to, or to their only open handoff; with several open
and no reply, they are asked to reply to a message: nothing is ever sent to the wrong person. Roles come from the
database (knowledge/staff.py), never from a button.

A conseiller who leaves the staff group (a left_chat_member message, or a chat_member update) hands their open
requests back to the queue (knowledge/handoff_messages.hand_back); so does one a coordinator removes (accounts.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session
from telegram import ChatMember, Message, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    JobQueue,
    MessageHandler,
    filters,
)

from bot.replies import Reply, buttons_from
from bot.staff.accounts import FOR_TEAM_TEXT, STALE_BUTTON_TEXT, staff_chat_id
from bot.telegram.outbox import Front
from knowledge.db import Database
from knowledge.handoffs.messages import (
    BACK_TO_BOT_TEXT,
    CLAIMED_TEXT,
    CLOSED_TEXT,
    STILL_WAITING_TEXT,
    THANKS_TEXT,
    Relayed,
    claim_buttons,
    close_buttons,
    close_idle_and_tell,
    hand_back,
    new_handoff_text,
    rating_buttons,
    refusal_text,
    relayed,
)
from knowledge.handoffs.tickets import (
    ANSWERING_ROLES,
    OUTCOMES,
    IdleClosed,
    add_message,
    claim,
    claimed_by,
    close,
    handoff_for_reply,
    open_handoff,
    rate,
    waiting,
)
from knowledge.models import Handoff, StaffMember
from knowledge.staff import member_of

log = logging.getLogger(__name__)

HANDOFF_GROUP = -1
IDLE_JOB = "handoff-idle"
TAKEN_TEXT = "{name} a déjà pris cette demande."
NOT_ALLOWED_TEXT = "Seuls les conseillers de l'équipe peuvent prendre une demande."
GONE_TEXT = "Cette demande est déjà close."
YOU_HAVE_IT_TEXT = (
    "Vous avez pris la demande n° {id}. Écrivez ici : vos messages vont à la personne, sous votre prénom. "
    "Avec plusieurs demandes ouvertes, répondez au message de la personne concernée."
)
WHICH_ONE_TEXT = "Vous avez plusieurs demandes ouvertes : répondez au message de la personne concernée."
CLOSED_FOR_STAFF_TEXT = "Demande n° {id} close : {outcome}."
CITIZEN_LEFT_TEXT = "La personne de la demande n° {id} est revenue à l'assistant : demande close (sans suite)."
NOTE_KEPT_TEXT = "Note gardée sur la demande n° {id} (la personne ne la voit pas)."
EMPTY_NOTE_TEXT = "Écrivez la note après /note, par exemple : /note rappeler jeudi."
NO_HANDOFF_TEXT = "Vous n'avez pas de demande ouverte."
EMPTY_QUEUE_TEXT = "Personne n'attend en ce moment."
BLOCKED_TEXT = "La personne de la demande n° {id} a bloqué le bot : votre message n'a pas pu être remis."


class HandoffRelay:
    def __init__(self, database: Database, front: Front) -> None:
        self.database = database
        self.front = front

    def register(self, application: Application) -> None:
        private = filters.ChatType.PRIVATE
        application.add_handler(CommandHandler("bot", self.on_back_to_bot, filters=private), group=HANDOFF_GROUP)
        application.add_handler(CommandHandler("file", self.on_queue), group=HANDOFF_GROUP)
        application.add_handler(CommandHandler("note", self.on_note, filters=private), group=HANDOFF_GROUP)
        application.add_handler(CallbackQueryHandler(self.on_button, pattern=r"^handoff[|]"), group=HANDOFF_GROUP)
        application.add_handler(
            MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, self.on_private_message),
            group=HANDOFF_GROUP,
        )
        application.add_handler(
            MessageHandler(filters.StatusUpdate.LEFT_CHAT_MEMBER, self.on_member_left), group=HANDOFF_GROUP
        )
        application.add_handler(
            ChatMemberHandler(self.on_chat_member, ChatMemberHandler.CHAT_MEMBER), group=HANDOFF_GROUP
        )

    # --- messages -----------------------------------------------------------------------------------------

    async def on_private_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message (or an edit of one: PTB hands both to a MessageHandler) in a private chat."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        edited = update.edited_message is not None
        route = await asyncio.to_thread(self._route, user.id, message, edited)
        if route is None:
            return  # not in a handoff: the dialogue answers
        if route.action == "wait":
            await message.reply_text(STILL_WAITING_TEXT)
        elif route.action == "which":
            await message.reply_text(WHICH_ONE_TEXT)
        elif route.action == "refuse":
            log.info("Handoff %s: a %s was not relayed", route.handoff_id, route.kind)
            await message.reply_text(refusal_text(route.kind) or "")
        elif route.action in ("to_citizen", "to_conseiller") and route.relayed is not None:
            await self._relay(context, message, route)
        raise ApplicationHandlerStop

    def _route(self, user_id: int, message: Message, edited: bool = False) -> Route | None:
        """Where a private message goes, or None when the dialogue should answer (no handoff open)."""
        now = datetime.now(UTC)
        kind, text = _kind(message), _text(message)
        with self.database.session() as session:
            member = member_of(session, user_id)
            if member is not None:
                handoff = self._conseiller_handoff(session, member, message)
                if handoff is None:
                    if not claimed_by(session, user_id):
                        return None
                    return Route("ignore" if edited and not text else "which")
                if refusal_text(kind) is not None:
                    return Route("refuse", handoff.id, kind=kind)
                if edited and not text:
                    return Route("ignore", handoff.id)  # a live location moving, a media changed without text
                relay = relayed(
                    kind,
                    text,
                    handoff_id=handoff.id,
                    conseiller_name=member.first_name,
                    to_citizen=True,
                    forwarded=message.forward_origin is not None,
                    edited=edited,
                )
                add_message(session, handoff, "conseiller", now, text=relay.stored, kind=kind)
                return Route("to_citizen", handoff.id, handoff.chat_id, kind, relay)
            handoff = open_handoff(session, message.chat_id)
            if handoff is None:
                return None
            if refusal_text(kind) is not None:
                return Route("refuse", handoff.id, kind=kind)
            if edited and not text:
                return Route("ignore", handoff.id)
            relay = relayed(
                kind,
                text,
                handoff_id=handoff.id,
                conseiller_name="",
                to_citizen=False,
                forwarded=message.forward_origin is not None,
                edited=edited,
            )
            conseiller = session.get(StaffMember, handoff.claimed_by_id) if handoff.claimed_by_id else None
            if handoff.status == "pending" or conseiller is None:
                add_message(session, handoff, "citizen", now, text=relay.stored, kind=kind)
                return Route("wait", handoff.id)
            return Route("to_conseiller", handoff.id, conseiller.telegram_user_id, kind, relay)

    def _conseiller_handoff(self, session: Session, member: StaffMember, message: Message) -> Handoff | None:
        if message.reply_to_message is not None:
            handoff = handoff_for_reply(session, message.chat_id, message.reply_to_message.message_id)
            if handoff is not None and handoff.status == "claimed" and handoff.claimed_by_id == member.id:
                return handoff
        mine = claimed_by(session, member.telegram_user_id)
        return mine[0] if len(mine) == 1 else None

    async def _relay(self, context: ContextTypes.DEFAULT_TYPE, message: Message, route: Route) -> None:
        relay = route.relayed
        assert relay is not None
        try:
            if relay.text is not None:
                sent = await context.bot.send_message(route.target, relay.text)
            else:  # copied, never forwarded: the sender stays hidden; the caption is masked
                sent = await context.bot.copy_message(
                    route.target, message.chat_id, message.message_id, caption=relay.caption
                )
        except Forbidden:
            log.info("Handoff %s: the other side blocked the bot", route.handoff_id)
            if route.action == "to_citizen":
                await message.reply_text(BLOCKED_TEXT.format(id=route.handoff_id))
            return
        if route.action == "to_conseiller":
            await asyncio.to_thread(self._remember_copy, route, route.target, sent.message_id)

    def _remember_copy(self, route: Route, chat_id: int, copy_id: int) -> None:
        with self.database.session() as session:
            handoff = session.get(Handoff, route.handoff_id)
            if handoff is not None and route.relayed is not None:
                add_message(
                    session,
                    handoff,
                    "citizen",
                    datetime.now(UTC),
                    text=route.relayed.stored,
                    kind=route.kind,
                    relayed_chat_id=chat_id,
                    relayed_id=copy_id,
                )

    # --- a staff member gone --------------------------------------------------------------------------------

    async def on_member_left(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """« X a quitté le groupe » (or was removed from it) in the staff group."""
        message = update.effective_message
        if message is not None and message.left_chat_member is not None:
            await self._member_gone(context, message.chat_id, message.left_chat_member.id, "left the staff group")

    async def on_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The same seen as a chat_member update (the bot is an administrator of the group)."""
        change = update.chat_member
        if change is not None and change.new_chat_member.status in (ChatMember.LEFT, ChatMember.BANNED):
            status = change.new_chat_member.status
            await self._member_gone(
                context, change.chat.id, change.new_chat_member.user.id, f"is {status} in the staff group"
            )

    async def _member_gone(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int, why: str) -> None:
        group = staff_chat_id(context)
        if group is None or chat_id != group:
            return

        def run() -> list[int]:
            with self.database.session() as session:
                member = member_of(session, user_id)
                if member is None:
                    return []
                requeued = [handoff.id for handoff in hand_back(session, member.id, group, datetime.now(UTC))]
                log.info("Staff member %s %s: %s handoff(s) back in the queue", member.id, why, len(requeued))
                return requeued

        await asyncio.to_thread(run)

    async def on_queue(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/file`: the waiting requests, urgent first, each with « Prendre en charge » (conseillers only)."""

        def listing() -> list[Reply] | None:
            now = datetime.now(UTC)
            with self.database.session() as session:
                member = member_of(session, update.effective_user.id)
                if member is None or member.role not in ANSWERING_ROLES:
                    return None
                queue = waiting(session)
                if not queue:
                    return [Reply(EMPTY_QUEUE_TEXT)]
                return [
                    Reply(new_handoff_text(session, handoff, now), buttons_from(claim_buttons(handoff.id)))
                    for handoff in queue[:10]
                ]

        replies = await asyncio.to_thread(listing)
        for reply in replies or [Reply(FOR_TEAM_TEXT)]:
            await self.front.send(context.bot, update.effective_chat.id, reply)
        raise ApplicationHandlerStop

    async def on_note(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/note …`: an internal note on the handoff (the one replied to, or the only one open); never sent."""
        message, user = update.effective_message, update.effective_user
        text = " ".join(context.args or [])

        def keep() -> str:
            with self.database.session() as session:
                member = member_of(session, user.id)
                if member is None:
                    return FOR_TEAM_TEXT
                handoff = self._conseiller_handoff(session, member, message)
                if handoff is None:
                    return WHICH_ONE_TEXT if claimed_by(session, user.id) else NO_HANDOFF_TEXT
                if not text:
                    return EMPTY_NOTE_TEXT
                add_message(session, handoff, "note", datetime.now(UTC), text=text)
                return NOTE_KEPT_TEXT.format(id=handoff.id)

        await message.reply_text(await asyncio.to_thread(keep))
        raise ApplicationHandlerStop

    # --- buttons ------------------------------------------------------------------------------------------

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        parts = (query.data or "").split("|")
        await query.answer()
        if len(parts) >= 3 and parts[1] == "claim" and parts[2].isdigit():
            await self._claim(context, update, int(parts[2]))
        elif len(parts) == 4 and parts[1] == "close" and parts[2].isdigit() and parts[3] in OUTCOMES:
            await self._close(context, update, int(parts[2]), parts[3])
        elif len(parts) == 3 and parts[1] == "leave":
            await self._back_to_bot(context, update.effective_chat.id)
        elif len(parts) == 4 and parts[1] == "rate" and parts[2].isdigit() and parts[3].isdigit():
            done = await asyncio.to_thread(self._rate, int(parts[2]), update.effective_chat.id, int(parts[3]))
            if done:
                await context.bot.send_message(update.effective_chat.id, THANKS_TEXT)
        else:
            log.warning("Forged or stale handoff button %r from Telegram user %s", query.data, user.id)
            await context.bot.send_message(update.effective_chat.id, STALE_BUTTON_TEXT)
        raise ApplicationHandlerStop

    async def _claim(self, context: ContextTypes.DEFAULT_TYPE, update: Update, handoff_id: int) -> None:
        user = update.effective_user
        result = await asyncio.to_thread(claim, self.database, handoff_id, user.id, datetime.now(UTC))
        if result.status == "claimed":
            citizen_chat = await asyncio.to_thread(self._citizen_chat, handoff_id)
            await self._tell(context, citizen_chat, CLAIMED_TEXT.format(name=result.by))
            reply = Reply(YOU_HAVE_IT_TEXT.format(id=handoff_id), buttons_from(close_buttons(handoff_id)))
            await self.front.send(context.bot, user.id, reply)
            if update.effective_chat.id != user.id:
                await context.bot.send_message(
                    update.effective_chat.id, f"Demande n° {handoff_id} prise par {result.by}."
                )
            return
        text = {
            "taken": TAKEN_TEXT.format(name=result.by),
            "not_allowed": NOT_ALLOWED_TEXT,
        }.get(result.status, GONE_TEXT)
        try:  # told privately, so that the group is not flooded; in the group if they never wrote to the bot
            await context.bot.send_message(user.id, text)
        except Forbidden:
            await context.bot.send_message(update.effective_chat.id, f"{user.first_name} : {text}")

    async def _close(self, context: ContextTypes.DEFAULT_TYPE, update: Update, handoff_id: int, outcome: str) -> None:
        user = update.effective_user

        def do_close() -> tuple[str, int | None, str]:
            with self.database.session() as session:
                status = close(session, handoff_id, user.id, outcome, datetime.now(UTC))
                handoff = session.get(Handoff, handoff_id)
                return status, handoff.chat_id if handoff else None, handoff.conseiller_name if handoff else ""

        status, citizen_chat, name = await asyncio.to_thread(do_close)
        if status == "closed" and citizen_chat is not None:
            await self._tell(context, citizen_chat, CLOSED_TEXT.format(name=name), rating_buttons(handoff_id))
            await context.bot.send_message(
                update.effective_chat.id, CLOSED_FOR_STAFF_TEXT.format(id=handoff_id, outcome=OUTCOMES[outcome])
            )
        elif status == "already_closed":
            await context.bot.send_message(update.effective_chat.id, GONE_TEXT)
        else:
            await context.bot.send_message(update.effective_chat.id, NOT_ALLOWED_TEXT)

    async def on_back_to_bot(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._back_to_bot(context, update.effective_chat.id)
        raise ApplicationHandlerStop

    async def _back_to_bot(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        """The citizen leaves the handoff (`/bot`, or « Revenir à l'assistant »): closed « sans suite »."""

        def leave() -> tuple[int, int | None, str] | None:
            with self.database.session() as session:
                handoff = open_handoff(session, chat_id)
                if handoff is None:
                    return None
                close(session, handoff.id, None, "sans_suite", datetime.now(UTC))
                conseiller = session.get(StaffMember, handoff.claimed_by_id) if handoff.claimed_by_id else None
                return handoff.id, conseiller.telegram_user_id if conseiller else None, handoff.conseiller_name

        left = await asyncio.to_thread(leave)
        await context.bot.send_message(chat_id, BACK_TO_BOT_TEXT)
        if left is not None:
            handoff_id, conseiller_chat, name = left
            if conseiller_chat is not None:
                await self._tell(context, conseiller_chat, CITIZEN_LEFT_TEXT.format(id=handoff_id))
            if name:
                await self._tell(context, chat_id, CLOSED_TEXT.format(name=name), rating_buttons(handoff_id))

    def schedule(self, job_queue: JobQueue | None, idle: timedelta) -> None:
        """Every 5 minutes, close the claimed handoffs silent for `idle` and tell both people."""
        if job_queue is None:
            return
        job_kwargs = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 600}
        job_queue.run_repeating(self._close_idle, 300, first=30, name=IDLE_JOB, data=idle, job_kwargs=job_kwargs)

    async def _close_idle(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Both notices are outbox rows armed with the close, so the outbox sends them (within seconds)."""
        idle: timedelta = context.job.data

        def run() -> list[IdleClosed]:
            with self.database.session() as session:
                return close_idle_and_tell(session, datetime.now(UTC), idle)

        for item in await asyncio.to_thread(run):
            log.info("Handoff %s closed after %s of silence", item.handoff_id, idle)

    # --- helpers ------------------------------------------------------------------------------------------

    def _citizen_chat(self, handoff_id: int) -> int | None:
        with self.database.session() as session:
            handoff = session.get(Handoff, handoff_id)
            return handoff.chat_id if handoff else None

    def _rate(self, handoff_id: int, chat_id: int, score: int) -> bool:
        with self.database.session() as session:
            return rate(session, handoff_id, chat_id, score)

    async def _tell(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        chat_id: int | None,
        text: str,
        buttons: list[list[dict[str, str]]] | None = None,
    ) -> None:
        if chat_id is None:
            return
        try:
            await self.front.send(context.bot, chat_id, Reply(text, buttons_from(buttons or [])))
        except TelegramError as error:
            log.info("Could not tell chat %s about a handoff: %s", chat_id, error)


@dataclass(frozen=True)
class Route:
    action: Literal["wait", "which", "refuse", "ignore", "to_citizen", "to_conseiller"]
    handoff_id: int = 0
    target: int = 0
    """The chat to send to."""
    kind: str = "text"
    relayed: Relayed | None = None


KINDS = (
    # A venue also has a location, an animation also has a document, a game a photo: the specific one first.
    "venue",
    "game",
    "poll",
    "dice",
    "contact",
    "location",
    "animation",
    "sticker",
    "video_note",
    "photo",
    "document",
    "voice",
    "audio",
    "video",
    "text",
)


def _kind(message: Message) -> str:
    """The kind of a message, for the relay's rules (knowledge/handoffs/messages.py); « other » for any other."""
    return next((kind for kind in KINDS if getattr(message, kind, None)), "other")


def _text(message: Message) -> str:
    return message.text or message.caption or ""
