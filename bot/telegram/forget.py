"""`/oubli`: a citizen erases their data after a confirmation; done at once and confirmed. Runs before the
dialogue, so the request itself is neither recorded nor sent to Rasa."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from knowledge.citizens.erasure import erase_citizen
from knowledge.db import Database

log = logging.getLogger(__name__)

FORGET_GROUP = -1
CONFIRM_TEXT = (
    "Voulez-vous effacer tout ce que je garde sur vous ? Vos conversations et vos inscriptions aux ateliers seront "
    "supprimées tout de suite. Vos places d'atelier iront à la liste d'attente. Cela ne peut pas être annulé."
)
DONE_TEXT = (
    "C'est fait : j'ai effacé vos conversations et vos inscriptions. Vous pouvez m'écrire à nouveau quand vous voulez."
)
KEPT_TEXT = "D'accord, je n'efface rien."
ERROR_TEXT = "Désolé, un problème technique m'empêche d'effacer vos données. Réessayez dans un instant."


class Forget:
    def __init__(self, database: Database, tracker_store_url: str) -> None:
        self.database = database
        self.tracker_store_url = tracker_store_url

    def register(self, application: Application) -> None:
        private = filters.ChatType.PRIVATE
        application.add_handler(CommandHandler("oubli", self.on_command, filters=private), group=FORGET_GROUP)
        application.add_handler(CallbackQueryHandler(self.on_button, pattern=r"^forget[|]"), group=FORGET_GROUP)

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        buttons = [
            [InlineKeyboardButton("Oui, tout effacer", callback_data="forget|yes")],
            [InlineKeyboardButton("Non, garder", callback_data="forget|no")],
        ]
        await update.effective_message.reply_text(CONFIRM_TEXT, reply_markup=InlineKeyboardMarkup(buttons))
        raise ApplicationHandlerStop

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, chat, user = update.callback_query, update.effective_chat, update.effective_user
        await query.answer()
        if query.data != "forget|yes":
            await context.bot.send_message(chat.id, KEPT_TEXT)
            raise ApplicationHandlerStop
        try:
            await asyncio.to_thread(
                erase_citizen,
                self.database,
                self.tracker_store_url,
                "telegram",
                str(user.id),
                str(chat.id),
                datetime.now(UTC),
            )
        except SQLAlchemyError:
            log.exception("Erasure failed for a citizen; nothing was confirmed to them")
            await context.bot.send_message(chat.id, ERROR_TEXT)
            raise ApplicationHandlerStop from None
        await context.bot.send_message(chat.id, DONE_TEXT)
        raise ApplicationHandlerStop
