"""The ateliers a staff member runs, in Telegram: `/mes_ateliers` (who registered, attendance, cancelling) and
`/attribuer` (a coordinator entrusts an atelier of the structure to one of its members).

Like every staff handler these run before the dialogue and stop the update there. A citizen who types
`/mes_ateliers` is not stopped: the dialogue shows their own sign-ups. Permissions come from the database
(knowledge/ateliers/animation.py); a button payload only says what was pressed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from telegram import Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.replies import Reply, buttons_from
from bot.staff.accounts import COORDINATORS_ONLY_TEXT, FOR_TEAM_TEXT, STALE_BUTTON_TEXT
from bot.telegram.outbox import Front
from knowledge.ateliers import team_messages as texts
from knowledge.ateliers.animation import (
    assign,
    cancel_atelier,
    mark_attendance,
    my_ateliers,
    one_atelier,
    runners,
    structure_ateliers,
)
from knowledge.db import Database
from knowledge.french import short_day
from knowledge.models import StaffMember
from knowledge.staff import member_of

log = logging.getLogger(__name__)

ATELIERS_GROUP = -1


class TeamAteliers:
    def __init__(self, database: Database, front: Front) -> None:
        self.database = database
        self.front = front

    def register(self, application: Application) -> None:
        private = filters.ChatType.PRIVATE
        handlers = [
            CommandHandler("mes_ateliers", self.on_my_ateliers, filters=private),
            CommandHandler("attribuer", self.on_assign, filters=private),
            CallbackQueryHandler(self.on_button, pattern=r"^animate[|]"),
        ]
        for handler in handlers:
            application.add_handler(handler, group=ATELIERS_GROUP)

    # --- commands -----------------------------------------------------------------------------------------

    async def on_my_ateliers(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        def listing() -> list[Reply] | None:
            now = datetime.now(UTC)
            with self.database.session() as session:
                views = my_ateliers(session, update.effective_user.id, now)
                if views is None:
                    return None
                if not views:
                    return [Reply(texts.NONE_RUN_TEXT)]
                return [
                    Reply(texts.run_atelier_text(v, now), buttons_from(texts.run_atelier_buttons(v, now)))
                    for v in views
                ]

        replies = await asyncio.to_thread(listing)
        if replies is None:
            return  # a citizen: the dialogue shows their own sign-ups
        await self._send_all(context, update.effective_chat.id, replies)
        raise ApplicationHandlerStop

    async def on_assign(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user_id = update.effective_user.id

        def listing() -> Reply:
            with self.database.session() as session:
                ateliers = structure_ateliers(session, user_id, datetime.now(UTC))
                if ateliers is None:
                    return Reply(COORDINATORS_ONLY_TEXT if member_of(session, user_id) else FOR_TEAM_TEXT)
                if not ateliers:
                    return Reply(texts.NOTHING_TO_ASSIGN_TEXT)
                people = {m.id: m for m in runners(session, user_id)}
                return Reply(texts.ASSIGN_INTRO_TEXT, buttons_from(texts.assignable_buttons(ateliers, people)))

        await self.front.send(context.bot, update.effective_chat.id, await asyncio.to_thread(listing))
        raise ApplicationHandlerStop

    # --- buttons ------------------------------------------------------------------------------------------

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user_id = update.callback_query, update.effective_user.id
        parts = (query.data or "").split("|")
        numbers = [int(p) for p in parts[2:] if p.isdigit()]
        action = parts[1] if len(parts) > 1 else ""
        await query.answer()
        handlers = {
            ("attendance", 1): self._attendance,
            ("mark", 2): self._mark,
            ("cancel", 1): self._confirm_cancel,
            ("cancel_yes", 1): self._cancel,
            ("keep", 1): self._keep,
            ("assign", 1): self._who_runs,
            ("to", 2): self._assign,
        }
        handler = handlers.get((action, len(numbers))) if len(numbers) == len(parts) - 2 else None
        if handler is None:
            log.warning("Forged or stale atelier button %r from Telegram user %s", query.data, user_id)
            await context.bot.send_message(update.effective_chat.id, STALE_BUTTON_TEXT)
        else:
            await handler(update, context, *numbers)
        raise ApplicationHandlerStop

    async def _attendance(self, update: Update, context: ContextTypes.DEFAULT_TYPE, atelier_id: int) -> None:
        def sheet() -> Reply:
            now = datetime.now(UTC)
            with self.database.session() as session:
                view = one_atelier(session, update.effective_user.id, atelier_id)
                if view is None:
                    return Reply(texts.NOT_YOURS_TEXT)
                if not view.attendance_open(now):
                    return Reply(texts.TOO_EARLY_TEXT)
                return Reply(texts.attendance_text(view), buttons_from(texts.attendance_buttons(view.confirmed)))

        await self.front.send(context.bot, update.effective_chat.id, await asyncio.to_thread(sheet))

    async def _mark(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, registration_id: int, present: int
    ) -> None:
        def marked() -> tuple[str, Reply | None]:
            with self.database.session() as session:
                result = mark_attendance(
                    session, update.effective_user.id, registration_id, bool(present), datetime.now(UTC)
                )
                if result.status != "marked" or result.view is None:
                    text = {"too_early": texts.TOO_EARLY_TEXT, "unknown": texts.GONE_TEXT}
                    return text.get(result.status, texts.NOT_YOURS_TEXT), None
                view = result.view
                return "", Reply(texts.attendance_text(view), buttons_from(texts.attendance_buttons(view.confirmed)))

        refusal, sheet = await asyncio.to_thread(marked)
        if sheet is None:
            await context.bot.send_message(update.effective_chat.id, refusal)
            return
        try:  # the same sheet, its marks updated in place
            await update.callback_query.edit_message_reply_markup(self.front.markup(sheet))
        except BadRequest as error:  # "message is not modified": a double press
            log.info("Attendance sheet not edited: %s", error)

    async def _confirm_cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE, atelier_id: int) -> None:
        def confirm() -> Reply:
            now = datetime.now(UTC)
            with self.database.session() as session:
                view = one_atelier(session, update.effective_user.id, atelier_id)
                if view is None:
                    return Reply(texts.NOT_YOURS_TEXT)
                if view.atelier.cancelled:
                    return Reply(texts.ALREADY_CANCELLED_TEXT)
                if view.atelier.start <= now:
                    return Reply(texts.PAST_TEXT)
                count = len(view.confirmed) + view.waiting
                text, buttons = texts.confirm_cancel(view.atelier, count)
                return Reply(text, buttons_from(buttons))

        await self.front.send(context.bot, update.effective_chat.id, await asyncio.to_thread(confirm))

    async def _cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE, atelier_id: int) -> None:
        def do_cancel() -> str:
            result = cancel_atelier(self.database, update.effective_user.id, atelier_id, datetime.now(UTC))
            if result.status == "cancelled":
                return texts.cancelled_text(result.title, result.told)
            return {
                "already_cancelled": texts.ALREADY_CANCELLED_TEXT,
                "past": texts.PAST_TEXT,
            }.get(result.status, texts.NOT_YOURS_TEXT)

        await context.bot.send_message(update.effective_chat.id, await asyncio.to_thread(do_cancel))

    async def _keep(self, update: Update, context: ContextTypes.DEFAULT_TYPE, atelier_id: int) -> None:
        await context.bot.send_message(update.effective_chat.id, texts.KEPT_TEXT)

    async def _who_runs(self, update: Update, context: ContextTypes.DEFAULT_TYPE, atelier_id: int) -> None:
        user_id = update.effective_user.id

        def choices() -> Reply:
            with self.database.session() as session:
                ateliers = structure_ateliers(session, user_id, datetime.now(UTC)) or []
                atelier = next((a for a in ateliers if a.id == atelier_id), None)
                if atelier is None:
                    return Reply(texts.GONE_TEXT if member_of(session, user_id) else FOR_TEAM_TEXT)
                text = texts.WHO_RUNS_TEXT.format(title=atelier.title, day=short_day(atelier.start))
                return Reply(text, buttons_from(texts.runner_buttons(atelier.id, runners(session, user_id))))

        await self.front.send(context.bot, update.effective_chat.id, await asyncio.to_thread(choices))

    async def _assign(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, atelier_id: int, member_id: int
    ) -> None:
        user = update.effective_user

        def do_assign() -> tuple[str, int | None, str]:
            with self.database.session() as session:
                result = assign(session, user.id, atelier_id, member_id, datetime.now(UTC))
                if result.status != "assigned" or result.atelier is None or result.runner is None:
                    text = COORDINATORS_ONLY_TEXT if result.status == "not_allowed" else texts.GONE_TEXT
                    return text, None, ""
                coordinator = member_of(session, user.id)
                name = coordinator.first_name if isinstance(coordinator, StaffMember) else ""
                for_coordinator, for_runner = texts.assigned_texts(
                    result.atelier, result.runner, result.dates, name or "Votre coordinateur"
                )
                same = result.runner.telegram_user_id == user.id
                return for_coordinator, None if same else result.runner.telegram_user_id, for_runner

        for_coordinator, runner_chat, for_runner = await asyncio.to_thread(do_assign)
        await context.bot.send_message(update.effective_chat.id, for_coordinator)
        if runner_chat is not None:
            try:
                await context.bot.send_message(runner_chat, for_runner)
            except TelegramError as error:  # they never opened the bot: /mes_ateliers will show it
                log.info("Could not tell staff user %s about an atelier entrusted to them: %s", runner_chat, error)

    async def _send_all(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, replies: list[Reply]) -> None:
        for reply in replies:
            await self.front.send(context.bot, chat_id, reply)
