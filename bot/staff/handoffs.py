"""Handoffs in Telegram: « Prendre en charge » in the staff group, the relay both ways, closing with an outcome, the
citizen's `/bot` and satisfaction.

While a handoff is open, what the citizen sends goes to the conseiller (text masked first; photos, documents and
voice notes copied) and never to Rasa. A conseiller's message goes to the citizen of the relayed message they reply
to, or to their only open handoff; with several open and no reply, they are asked to reply to a message: nothing is
ever sent to the wrong person. Roles come from the database (knowledge/staff.py), never from a button.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from telegram import Message, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    JobQueue,
    MessageHandler,
    filters,
)

from bot.replies import Reply, buttons_from
from bot.staff.accounts import FOR_TEAM_TEXT, STALE_BUTTON_TEXT
from bot.telegram.outbox import Front
from knowledge.db import Database
from knowledge.handoff_messages import (
    BACK_TO_BOT_TEXT,
    CLAIMED_TEXT,
    CLOSED_TEXT,
    IDLE_CLOSED_FOR_STAFF_TEXT,
    IDLE_CLOSED_TEXT,
    STILL_WAITING_TEXT,
    THANKS_TEXT,
    claim_buttons,
    close_buttons,
    new_handoff_text,
    rating_buttons,
)
from knowledge.handoffs import (
    ANSWERING_ROLES,
    OUTCOMES,
    IdleClosed,
    add_message,
    claim,
    claimed_by,
    close,
    close_idle,
    handoff_for_reply,
    open_handoff,
    rate,
    waiting,
)
from knowledge.models import Handoff, StaffMember
from knowledge.privacy import mask_sensitive
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

    # --- messages -----------------------------------------------------------------------------------------

    async def on_private_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        route = await asyncio.to_thread(self._route, user.id, message)
        if route is None:
            return  # not in a handoff: the dialogue answers
        kind, handoff_id, target, name = route
        if kind == "wait":
            await message.reply_text(STILL_WAITING_TEXT)
        elif kind == "which":
            await message.reply_text(WHICH_ONE_TEXT)
        else:
            await self._relay(context, message, kind, handoff_id, target, name)
        raise ApplicationHandlerStop

    def _route(self, user_id: int, message: Message) -> tuple[str, int, int, str] | None:
        """(what to do, handoff id, chat to send to, name to show) or None when the dialogue should answer."""
        now = datetime.now(UTC)
        with self.database.session() as session:
            member = member_of(session, user_id)
            if member is not None:
                handoff = self._conseiller_handoff(session, member, message)
                if handoff is None:
                    return None if not claimed_by(session, user_id) else ("which", 0, 0, "")
                add_message(
                    session, handoff, "conseiller", now, text=message.text or message.caption or "", kind=_kind(message)
                )
                return "to_citizen", handoff.id, handoff.chat_id, member.first_name
            handoff = open_handoff(session, message.chat_id)
            if handoff is None:
                return None
            if handoff.status == "pending" or handoff.claimed_by_id is None:
                add_message(
                    session, handoff, "citizen", now, text=message.text or message.caption or "", kind=_kind(message)
                )
                return "wait", handoff.id, 0, ""
            conseiller = session.get(StaffMember, handoff.claimed_by_id)
            if conseiller is None:
                return "wait", handoff.id, 0, ""
            return "to_conseiller", handoff.id, conseiller.telegram_user_id, ""

    def _conseiller_handoff(self, session, member: StaffMember, message: Message) -> Handoff | None:  # type: ignore[no-untyped-def]
        if message.reply_to_message is not None:
            handoff = handoff_for_reply(session, message.chat_id, message.reply_to_message.message_id)
            if handoff is not None and handoff.status == "claimed" and handoff.claimed_by_id == member.id:
                return handoff
        mine = claimed_by(session, member.telegram_user_id)
        return mine[0] if len(mine) == 1 else None

    async def _relay(
        self, context: ContextTypes.DEFAULT_TYPE, message: Message, kind: str, handoff_id: int, target: int, name: str
    ) -> None:
        try:
            if message.text:
                text = mask_sensitive(message.text).text
                body = f"{name} : {text}" if kind == "to_citizen" else f"Demande n° {handoff_id} : {text}"
                sent = await context.bot.send_message(target, body)
            else:  # a photo, a document, a voice note: copied, never forwarded (the sender stays hidden)
                sent = await context.bot.copy_message(target, message.chat_id, message.message_id)
        except Forbidden:
            log.info("Handoff %s: the other side blocked the bot", handoff_id)
            if kind == "to_citizen":
                await message.reply_text(BLOCKED_TEXT.format(id=handoff_id))
            return
        if kind == "to_conseiller":
            await asyncio.to_thread(self._remember_copy, handoff_id, message, target, sent.message_id)

    def _remember_copy(self, handoff_id: int, message: Message, chat_id: int, copy_id: int) -> None:
        with self.database.session() as session:
            handoff = session.get(Handoff, handoff_id)
            if handoff is not None:
                text = message.text or message.caption or ""
                add_message(
                    session,
                    handoff,
                    "citizen",
                    datetime.now(UTC),
                    text=text,
                    kind=_kind(message),
                    relayed_chat_id=chat_id,
                    relayed_id=copy_id,
                )

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
        idle: timedelta = context.job.data

        def run() -> list[IdleClosed]:
            with self.database.session() as session:
                return close_idle(session, datetime.now(UTC), idle)

        for item in await asyncio.to_thread(run):
            log.info("Handoff %s closed after %s of silence", item.handoff_id, idle)
            text = IDLE_CLOSED_TEXT.format(name=item.conseiller_name or "le conseiller")
            await self._tell(context, item.citizen_chat_id, text, rating_buttons(item.handoff_id))
            hours = int(idle.total_seconds() // 3600)
            await self._tell(
                context, item.conseiller_user_id, IDLE_CLOSED_FOR_STAFF_TEXT.format(id=item.handoff_id, hours=hours)
            )

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


def _kind(message: Message) -> str:
    for kind in ("photo", "document", "voice", "audio", "video", "sticker", "location"):
        if getattr(message, kind, None):
            return kind
    return "text"


def _text(message: Message) -> str:
    return message.text or message.caption or ""
