"""/bilan in Telegram: a coordinateur picks a period (or types two dates) and gets the steering committee's report
as a short text, its charts as images and the full table as a spreadsheet (knowledge/indicators/).

Who may see which report comes from the sender's Telegram id in our database: the lender's coordinateurs get the
network's, other coordinateurs their structure's; a button only carries the period."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatAction
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.settings import Settings
from bot.staff.accounts import STAFF_GROUP, STALE_BUTTON_TEXT
from bot.tools.report import configured_report
from knowledge.db import Database
from knowledge.french import PARIS
from knowledge.indicators.bilan import audience, periods_offered, summary_text, typed_period
from knowledge.indicators.period import Period

if TYPE_CHECKING:
    from knowledge.indicators.charts import Chart

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "bilan|"
COORDINATORS_ONLY_TEXT = "Le bilan est réservé aux coordinateurs du réseau et des structures."
CHOOSE_TEXT = (
    "Quelle période voulez-vous ? Choisissez ci-dessous, ou tapez deux dates, par exemple :\n"
    "/bilan 01/01/2026 30/06/2026"
)
BAD_PERIOD_TEXT = (
    "Je n'ai pas compris la période. Tapez deux dates, la première avant la seconde, par exemple :\n"
    "/bilan 01/01/2026 30/06/2026"
)
PREPARING_TEXT = "Je prépare le bilan du {first:%d/%m/%Y} au {last:%d/%m/%Y}. Cela peut prendre un moment."
FAILED_TEXT = (
    "Le bilan n'a pas pu être préparé. Réessayez dans quelques minutes. "
    "Si cela recommence, prévenez la personne qui gère Passerelle."
)


@dataclass(frozen=True)
class Prepared:
    text: str
    charts: list[Chart]
    spreadsheet: bytes
    file_name: str


class Reports:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    def register(self, application: Application) -> None:
        application.add_handler(
            CommandHandler("bilan", self.on_command, filters=filters.ChatType.PRIVATE), group=STAFF_GROUP
        )
        application.add_handler(CallbackQueryHandler(self.on_button, pattern=r"^bilan[|]"), group=STAFF_GROUP)

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user_id, message = update.effective_user.id, update.effective_message
        if not await asyncio.to_thread(self._is_coordinator, user_id):
            await message.reply_text(COORDINATORS_ONLY_TEXT)
            raise ApplicationHandlerStop
        if context.args:
            period = typed_period(" ".join(context.args))
            if period is None:
                await message.reply_text(BAD_PERIOD_TEXT)
            else:
                await self._send(context, update.effective_chat.id, user_id, period)
            raise ApplicationHandlerStop
        today = datetime.now(PARIS).date()
        buttons = [
            [InlineKeyboardButton(label, callback_data=f"{CALLBACK_PREFIX}{period.first}|{period.last}")]
            for label, period in periods_offered(today)
        ]
        await message.reply_text(CHOOSE_TEXT, reply_markup=InlineKeyboardMarkup(buttons))
        raise ApplicationHandlerStop

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        period = _button_period(query.data or "")
        if period is None:
            log.warning("Forged or stale /bilan button %r from Telegram user %s", query.data, update.effective_user.id)
            await context.bot.send_message(update.effective_chat.id, STALE_BUTTON_TEXT)
        else:
            await self._send(context, update.effective_chat.id, update.effective_user.id, period)
        raise ApplicationHandlerStop

    async def _send(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, period: Period) -> None:
        await context.bot.send_message(chat, PREPARING_TEXT.format(first=period.first, last=period.last))
        await context.bot.send_chat_action(chat, ChatAction.UPLOAD_DOCUMENT)
        try:
            prepared = await asyncio.to_thread(self._prepare, user_id, period)
        except Exception:
            log.exception("The /bilan report for %s to %s failed", period.first, period.last)
            await context.bot.send_message(chat, FAILED_TEXT)
            return
        if prepared is None:  # no longer a coordinateur since the buttons were sent
            await context.bot.send_message(chat, COORDINATORS_ONLY_TEXT)
            return
        await context.bot.send_message(chat, prepared.text)
        for chart in prepared.charts:
            await context.bot.send_photo(chat, InputFile(chart.png, filename=f"{chart.name}.png"), caption=chart.title)
        await context.bot.send_document(chat, InputFile(prepared.spreadsheet, filename=prepared.file_name))

    # --- database work and drawing, in a thread ------------------------------------------------------------

    def _is_coordinator(self, user_id: int) -> bool:
        with self.database.session() as session:
            return audience(session, user_id) is not None

    def _prepare(self, user_id: int, period: Period) -> Prepared | None:
        # Drawing and the spreadsheet are imported on first use: matplotlib would add to every start of the bot.
        from knowledge.indicators.charts import render_charts
        from knowledge.indicators.documents import file_name, to_ods

        with self.database.session() as session:
            who = audience(session, user_id)
            if who is None:
                return None
            report = configured_report(session, self.settings, period, who.structure)
        return Prepared(summary_text(report), render_charts(report), to_ods(report), file_name(report, "ods"))


def _button_period(data: str) -> Period | None:
    _, first, last = [*data.split("|"), "", ""][:3]
    try:
        return Period(date.fromisoformat(first), date.fromisoformat(last))
    except ValueError:
        return None
