"""The Telegram front: python-telegram-bot handlers that call the dialogue pipeline and render its replies."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.dialogue import Dialogue
from bot.rasa.client import RasaClient
from bot.replies import Reply
from bot.settings import Settings
from bot.staff.accounts import StaffAccounts
from bot.staff.ateliers import TeamAteliers
from bot.staff.handoffs import HandoffRelay
from bot.staff.loans import Loans
from bot.staff.reports import Reports
from bot.telegram import media
from bot.telegram.callbacks import CallbackPayloads
from bot.telegram.concurrency import PerChatUpdateProcessor
from bot.telegram.forget import Forget
from bot.telegram.nightly import schedule_nightly_imports
from bot.telegram.outbox import schedule_outbox
from bot.telegram.overdue import schedule_overdue_sweep
from bot.telegram.ratelimit import MessageRateLimiter
from bot.telegram.retention import schedule_retention_purge
from knowledge.citizens.conversations import Contact
from knowledge.db import Database
from knowledge.places.messages import MAP_PAYLOAD

log = logging.getLogger(__name__)

ONLY_TEXT_TEXT = media.ONLY_TEXT_TEXT  # the answer to a sticker, a contact…; the texts are in media.py
EXPIRED_BUTTON_TEXT = "Ce bouton n'est plus valable. Écrivez votre question, ou tapez /start pour revenir au menu."
ERROR_TEXT = "Désolé, un problème technique est survenu. Réessayez dans un instant, s'il vous plaît."
GROUP_LOCATION_TEXT = (
    "Je cherche les lieux d'aide seulement en conversation privée. Écrivez-moi directement, "
    "et évitez de partager votre position dans un groupe."
)
CHOICE_MARK = "➜"
TYPING_AFTER = 1.0
COMMANDS = {
    "start": "/greet",
    "menu": "/help",
    "aide": "/help",
    "lieux": "/find_place",
    "ateliers": "/my_ateliers",
    "mes_ateliers": "/my_ateliers",
    "conseiller": "/request_human",
}
MENU_COMMANDS = [
    ("start", "Menu principal"),
    ("lieux", "Trouver de l'aide près de chez moi"),
    ("ateliers", "Mes ateliers"),
    ("conseiller", "Parler à un conseiller"),
    ("aide", "Ce que je sais faire"),
    ("oubli", "Effacer mes données"),
]


class TelegramFront:
    """Handlers and rendering; holds the dialogue pipeline and the long-payload store."""

    def __init__(self, dialogue: Dialogue) -> None:
        self.dialogue = dialogue
        self.payloads = CallbackPayloads()
        self.location_keyboards: set[int] = set()
        """Chats shown « 📍 Partager ma position » (a reply keyboard), until a message of the bot takes it away."""

    def register(self, application: Application) -> None:
        private = filters.ChatType.PRIVATE  # groups (the staff group) are handled elsewhere, never by the dialogue
        application.add_handler(CommandHandler(list(COMMANDS), self.on_command, filters=private))
        application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, self.on_text))
        application.add_handler(MessageHandler(private & filters.COMMAND, self.on_text))
        application.add_handler(MessageHandler(private & filters.LOCATION, self.on_location))
        application.add_handler(MessageHandler(~private & filters.LOCATION, self.on_group_location))
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, self.on_other))
        application.add_error_handler(self.on_error)

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        command = (message.text or "").split()[0].lstrip("/").split("@")[0].lower()
        await self._answer(update, context, payload=COMMANDS.get(command, "/greet"))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._answer(update, context, text=update.effective_message.text or "")

    async def on_location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        location = update.effective_message.location
        # Rounded to about 100 m: enough to find the nearest places, less precise a trace of where someone is.
        payload = f'/share_location{{"latitude":{location.latitude:.3f},"longitude":{location.longitude:.3f}}}'
        await self._answer(update, context, payload=payload)

    async def on_group_location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.info("Location shared in group %s: not used", update.effective_chat.id if update.effective_chat else "?")
        await update.effective_message.reply_text(GROUP_LOCATION_TEXT)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        payload = self.payloads.decode(query.data or "")
        if payload is None:
            await query.answer(EXPIRED_BUTTON_TEXT, show_alert=True)
            return
        await query.answer()
        if not payload.startswith(MAP_PAYLOAD):  # a map pin leaves the places and their other buttons as they are
            await self._mark_choice(query.message, query.data or "")
        await self._answer(update, context, payload=payload)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo, a file, a voice message, a sticker… outside a handoff: what can be done instead (media.py)."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or update.edited_message is not None:
            return  # an edited caption: the message was answered when it came
        log.info("Not text (%s): answered without opening it", media.media_kind(message))
        await self.send(context.bot, chat.id, media.media_reply(message))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("Error while handling an update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat:
            try:
                await context.bot.send_message(update.effective_chat.id, ERROR_TEXT)
            except TelegramError:
                log.exception("Could not tell chat %s about the error", update.effective_chat.id)

    async def _answer(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        *,
        text: str | None = None,
        payload: str | None = None,
    ) -> None:
        chat = update.effective_chat
        user = update.effective_user
        if chat is None or user is None:
            return
        contact = Contact(
            channel="telegram",
            external_id=str(user.id),
            sender_id=str(chat.id),
            chat_id=chat.id,
            first_name=(user.first_name or "")[:64],
        )
        typing = asyncio.create_task(self._typing(context.bot, chat.id))
        try:
            if payload is not None:
                replies = await self.dialogue.handle_payload(contact, payload)
            else:
                replies = await self.dialogue.handle_text(contact, text or "")
        finally:
            typing.cancel()
        for reply in replies:
            await self.send(context.bot, chat.id, reply)

    async def _typing(self, bot: Bot, chat_id: int) -> None:
        """« Passerelle écrit… » while an answer takes more than TYPING_AFTER seconds, renewed as Telegram shows it
        for 5 s. A quick answer needs none: it would only double the requests counted against the rate limit."""
        await asyncio.sleep(TYPING_AFTER)
        while True:
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except TelegramError as error:
                log.info("Could not show typing in chat %s: %s", chat_id, error)
            await asyncio.sleep(4.5)

    async def send(self, bot: Bot, chat_id: int, reply: Reply) -> None:
        """A reply: its map pin first, then its text and buttons, then its file.

        One answer is one message where it can be (Telegram lets a bot send about 30 a second in all): a pin that
        comes with a text is sent only when it also takes away the « 📍 Partager ma position » keyboard shown just
        before (a message has room for one keyboard, and the text's are its buttons); otherwise « 📍 Plan 1 »
        sends it to whoever asks."""
        markup = self.markup(reply)
        clear_keyboard = chat_id in self.location_keyboards and not reply.request_location
        if reply.venue is not None and (not reply.text or (clear_keyboard and markup is not None)):
            venue = reply.venue
            await bot.send_venue(
                chat_id,
                latitude=venue.latitude,
                longitude=venue.longitude,
                title=venue.title,
                address=venue.address,
                reply_markup=ReplyKeyboardRemove(),
            )
            self.location_keyboards.discard(chat_id)
        elif clear_keyboard and markup is None and reply.text:
            markup = ReplyKeyboardRemove()
            self.location_keyboards.discard(chat_id)
        if reply.request_location:
            self.location_keyboards.add(chat_id)
        if reply.text:
            await bot.send_message(chat_id, reply.text, reply_markup=markup)
        if reply.document is not None:
            document = reply.document
            await bot.send_document(chat_id, InputFile(document.content, filename=document.filename))

    def markup(self, reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
        if reply.request_location:
            button = KeyboardButton("📍 Partager ma position", request_location=True)
            return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
        if not reply.buttons:
            return None
        rows = [
            [
                InlineKeyboardButton(b.title, url=b.url)
                if b.url
                else InlineKeyboardButton(b.title, callback_data=self.payloads.encode(b.payload or ""))
                for b in row
            ]
            for row in reply.buttons
        ]
        return InlineKeyboardMarkup(rows)

    async def _mark_choice(self, message: object, data: str) -> None:
        """Show which button was pressed and remove the keyboard, so that it is not pressed twice."""
        if not isinstance(message, Message) or message.reply_markup is None:
            return
        title = next(
            (b.text for row in message.reply_markup.inline_keyboard for b in row if b.callback_data == data),
            None,
        )
        if title is None or not message.text:
            return
        try:
            await message.edit_text(f"{message.text}\n\n{CHOICE_MARK} {title}")
        except BadRequest as error:
            log.info("Could not mark the choice on message %s: %s", message.message_id, error)


def build_application(settings: Settings) -> Application:
    """The python-telegram-bot Application, wired to Rasa and the database."""
    builder = (
        Application.builder()
        .token(settings.telegram_token or "")
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .defaults(Defaults(tzinfo=ZoneInfo("Europe/Paris")))
        .rate_limiter(MessageRateLimiter(max_retries=2))
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    application = builder.build()
    rasa = RasaClient(settings.rasa_url, timeout=settings.rasa_timeout)
    database = Database(settings.database_url)
    retention = timedelta(days=settings.retention_days)
    sensitive_retention = timedelta(days=settings.sensitive_retention_days)
    front = TelegramFront(Dialogue(rasa, database, retention, sensitive_retention))
    StaffAccounts(database).register(application)  # before the dialogue: staff commands never reach Rasa
    Forget(database, settings.tracker_store_url).register(application)
    TeamAteliers(database, front).register(application)
    Loans(database, front).register(application)
    Reports(database, settings).register(application)
    relay = HandoffRelay(database, front)
    relay.register(application)  # an open handoff's messages go to a person, not to Rasa
    front.register(application)
    application.bot_data.update(settings=settings, front=front, rasa=rasa, database=database, relay=relay)
    return application


async def _post_init(application: Application) -> None:
    settings: Settings = application.bot_data["settings"]
    me = await application.bot.get_me()
    log.info("Connected to Telegram as @%s (id %s)", me.username, me.id)
    await application.bot.set_my_commands(MENU_COMMANDS)
    database = application.bot_data["database"]
    schedule_retention_purge(application.job_queue, database, settings)
    schedule_outbox(application.job_queue, database, application.bot_data["front"])
    schedule_nightly_imports(application.job_queue, database, settings)
    schedule_overdue_sweep(application.job_queue, database)
    application.bot_data["relay"].schedule(application.job_queue, timedelta(hours=settings.handoff_idle_hours))


async def _post_shutdown(application: Application) -> None:
    await application.bot_data["rasa"].close()
    application.bot_data["database"].dispose()


def run_telegram(settings: Settings) -> None:
    """Run until stopped: long polling by default, a webhook server when TELEGRAM_WEBHOOK_URL is set."""
    application = build_application(settings)
    if settings.telegram_webhook_url:
        path = urlsplit(settings.telegram_webhook_url).path.strip("/")
        log.info(
            "Webhook mode: listening on %s:%s/%s",
            settings.telegram_webhook_listen,
            settings.telegram_webhook_port,
            path,
        )
        application.run_webhook(
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            url_path=path,
            webhook_url=settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        log.info("Long polling mode")
        application.run_polling(allowed_updates=Update.ALL_TYPES)
