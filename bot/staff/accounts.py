"""Staff accounts in Telegram: `/start <code>` (an invitation), `/inviter` and `/equipe` (coordinators).

These handlers run before the dialogue (a lower handler group) and stop the update there: a staff command never
reaches Rasa. Every permission comes from the sender's Telegram user id looked up in our database; a button only
says what was pressed, never who may do it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from telegram import BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from knowledge.db import Database
from knowledge.handoffs.messages import hand_back
from knowledge.models import StaffMember
from knowledge.staff import (
    COORDINATEUR,
    DEFAULT_VALIDITY,
    MEDIATEUR,
    ROLE_LABELS,
    ROLES,
    create_invitation,
    deep_link,
    member_of,
    redeem,
    remove_member,
    set_available,
    team,
)

log = logging.getLogger(__name__)

STAFF_GROUP = -1
CALLBACK_PREFIX = "staff|"
JOINED_TEXT = "Bienvenue, {name}. Vous faites partie de l'équipe « {structure} » comme {role}."
COORDINATOR_HELP = "Tapez /inviter pour inviter une personne, /equipe pour voir l'équipe."
REFUSED_TEXT = (
    "Ce lien d'invitation n'est pas valable : il a déjà servi, il a expiré, ou il est incomplet. "
    "Demandez un nouveau lien à la personne qui vous l'a envoyé."
)
FOR_TEAM_TEXT = "Cette commande est réservée à l'équipe d'accompagnement. Pour poser une question, tapez /start."
COORDINATORS_ONLY_TEXT = "Seul un coordinateur de votre structure peut faire cela."
WHO_TEXT = "Qui voulez-vous inviter dans l'équipe « {structure} » ?"
LINK_TEXT = (
    "Voici le lien d'invitation pour un poste de {role}. Il ne sert qu'une fois et reste valable {days} jours. "
    "Transmettez-le à la personne, par exemple par SMS :\n{link}"
)
TEAM_TEXT = "L'équipe « {structure} » :"
REMOVED_TEXT = "{name} ne fait plus partie de l'équipe."
HANDED_BACK_TEXTS = (
    "Sa demande en cours revient dans la file.",
    "Ses {count} demandes en cours reviennent dans la file.",
)
REMOVAL_TEXTS = {
    "not_allowed": COORDINATORS_ONLY_TEXT,
    "not_found": "Cette personne ne fait déjà plus partie de l'équipe.",
    "self": "Vous ne pouvez pas vous retirer vous-même de l'équipe.",
}
STALE_BUTTON_TEXT = "Ce bouton n'est plus valable."
AVAILABLE_TEXT = "C'est noté : vous êtes disponible pour répondre aux personnes. Tapez /indispo quand vous partez."
UNAVAILABLE_TEXT = "C'est noté : vous n'êtes plus disponible. Tapez /dispo quand vous revenez."
TEAM_COMMANDS = [
    ("start", "Menu principal"),
    ("dispo", "Je suis disponible"),
    ("indispo", "Je ne suis plus disponible"),
    ("equipe", "L'équipe de ma structure"),
    ("mes_ateliers", "Mes ateliers : inscrits et présences"),
]
ROLE_COMMANDS = {
    MEDIATEUR: [("reserver", "Réserver du matériel"), ("mes_prets", "Mes prêts de matériel")],
    COORDINATEUR: [
        ("inviter", "Inviter une personne dans l'équipe"),
        ("attribuer", "Confier un atelier à une personne de l'équipe"),
        ("demandes", "Demandes de prêt à décider (prêteur)"),
        ("prets", "Prêts à remettre ou à reprendre (prêteur)"),
        ("kits", "Le matériel : état, blocages, agenda (prêteur)"),
        ("bilan", "Bilan et indicateurs, avec graphiques"),
    ],
}
"""The menu of a staff member's own chat (Telegram's per-chat command scope); citizens keep the public menu."""


class StaffAccounts:
    def __init__(self, database: Database) -> None:
        self.database = database

    def register(self, application: Application) -> None:
        private = filters.ChatType.PRIVATE
        handlers = [
            CommandHandler("start", self.on_invitation, filters=private, has_args=True),
            CommandHandler("inviter", self.on_invite, filters=private),
            CommandHandler("equipe", self.on_team, filters=private),
            CommandHandler("dispo", self.on_available, filters=private),
            CommandHandler("indispo", self.on_unavailable, filters=private),
            CallbackQueryHandler(self.on_button, pattern=rf"^{CALLBACK_PREFIX.replace('|', '[|]')}"),
        ]
        for handler in handlers:
            application.add_handler(handler, group=STAFF_GROUP)
        application.add_handler(ChatMemberHandler(self.on_added_to_group, ChatMemberHandler.MY_CHAT_MEMBER))

    async def on_added_to_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Tell the operator the id of a group the bot was added to, to set STAFF_CHAT_ID."""
        change, chat = update.my_chat_member, update.effective_chat
        if change is None or chat is None or chat.type == "private":
            return
        if change.new_chat_member.status in ("member", "administrator"):
            log.info(
                "Added to group %r (id %s): set STAFF_CHAT_ID=%s for the staff group", chat.title, chat.id, chat.id
            )

    async def on_invitation(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, code = update.effective_user, (context.args or [""])[0]
        result = await asyncio.to_thread(
            redeem, self.database, code[:64], user.id, user.first_name or "", datetime.now(UTC)
        )
        if result.status == "joined":
            commands = TEAM_COMMANDS + ROLE_COMMANDS.get(result.role or "", [])
            await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(user.id))
            text = JOINED_TEXT.format(
                name=user.first_name or "", structure=result.structure, role=ROLE_LABELS[result.role or ""]
            )
            if result.role == COORDINATEUR:
                text += "\n\n" + COORDINATOR_HELP
        else:
            text = REFUSED_TEXT
        await update.effective_message.reply_text(text)
        raise ApplicationHandlerStop

    async def on_invite(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        structure = await asyncio.to_thread(self._coordinator_structure, update.effective_user.id)
        if structure is None:
            await update.effective_message.reply_text(await self._refusal(update.effective_user.id))
            raise ApplicationHandlerStop
        buttons = [
            [InlineKeyboardButton(ROLE_LABELS[role].capitalize(), callback_data=f"{CALLBACK_PREFIX}invite|{role}")]
            for role in ROLES
        ]
        await update.effective_message.reply_text(
            WHO_TEXT.format(structure=structure), reply_markup=InlineKeyboardMarkup(buttons)
        )
        raise ApplicationHandlerStop

    async def on_team(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        listing = await asyncio.to_thread(self._team, update.effective_user.id)
        if listing is None:
            await update.effective_message.reply_text(FOR_TEAM_TEXT)
            raise ApplicationHandlerStop
        text, buttons = listing
        await update.effective_message.reply_text(text, reply_markup=InlineKeyboardMarkup(buttons) if buttons else None)
        raise ApplicationHandlerStop

    async def on_available(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._availability(update, available=True)

    async def on_unavailable(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._availability(update, available=False)

    async def _availability(self, update: Update, *, available: bool) -> None:
        def change() -> bool:
            with self.database.session() as session:
                return set_available(session, update.effective_user.id, available) is not None

        is_staff = await asyncio.to_thread(change)
        text = (AVAILABLE_TEXT if available else UNAVAILABLE_TEXT) if is_staff else FOR_TEAM_TEXT
        await update.effective_message.reply_text(text)
        raise ApplicationHandlerStop

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        _, action, value = [*(query.data or "").split("|"), "", ""][:3]
        user_id = update.effective_user.id
        if action == "invite" and value in ROLES:
            text = await asyncio.to_thread(self._invite, user_id, value, context.bot.username)
        elif action == "remove" and value.isdigit():
            text = await asyncio.to_thread(self._remove, user_id, int(value), staff_chat_id(context))
        else:
            log.warning("Forged or stale staff button %r from Telegram user %s", query.data, user_id)
            text = STALE_BUTTON_TEXT
        await query.answer()
        await context.bot.send_message(update.effective_chat.id, text)
        raise ApplicationHandlerStop

    # --- database work, in a thread ------------------------------------------------------------------------

    def _coordinator_structure(self, user_id: int) -> str | None:
        with self.database.session() as session:
            member = member_of(session, user_id)
            return member.structure.name if member is not None and member.role == COORDINATEUR else None

    async def _refusal(self, user_id: int) -> str:
        def is_staff() -> bool:
            with self.database.session() as session:
                return member_of(session, user_id) is not None

        return COORDINATORS_ONLY_TEXT if await asyncio.to_thread(is_staff) else FOR_TEAM_TEXT

    def _team(self, user_id: int) -> tuple[str, list[list[InlineKeyboardButton]]] | None:
        with self.database.session() as session:
            member = member_of(session, user_id)
            if member is None:
                return None
            people = team(session, member.structure_id)
            lines = [TEAM_TEXT.format(structure=member.structure.name)]
            lines += [f"• {p.first_name or 'Sans prénom'} — {ROLE_LABELS[p.role]}" for p in people]
            buttons = []
            if member.role == COORDINATEUR:
                buttons = [
                    [
                        InlineKeyboardButton(
                            f"Retirer {p.first_name or 'cette personne'}",
                            callback_data=f"{CALLBACK_PREFIX}remove|{p.id}",
                        )
                    ]
                    for p in people
                    if p.id != member.id
                ]
            return "\n".join(lines), buttons

    def _invite(self, user_id: int, role: str, bot_username: str) -> str:
        now = datetime.now(UTC)
        with self.database.session() as session:
            member = member_of(session, user_id)
            if member is None or member.role != COORDINATEUR:
                log.warning("Telegram user %s tried to invite without being a coordinator", user_id)
                return COORDINATORS_ONLY_TEXT
            code = create_invitation(session, member.structure, role, now, created_by=member)
        return LINK_TEXT.format(role=ROLE_LABELS[role], days=DEFAULT_VALIDITY.days, link=deep_link(bot_username, code))

    def _remove(self, user_id: int, member_id: int, group_id: int | None = None) -> str:
        """A coordinator removes a member; the requests the member had go back to the queue, their citizens told and
        the staff group (`group_id`) shown them again, in the same transaction."""
        now = datetime.now(UTC)
        with self.database.session() as session:
            outcome = remove_member(session, user_id, member_id, now)
            if outcome != "removed":
                return REMOVAL_TEXTS[outcome]
            requeued = hand_back(session, member_id, group_id, now)
            if requeued:
                log.info("Staff member %s removed: %s handoff(s) back in the queue", member_id, len(requeued))
            removed = session.get(StaffMember, member_id)
            text = REMOVED_TEXT.format(name=removed.first_name if removed else "Cette personne")
            if requeued:
                one, several = HANDED_BACK_TEXTS
                text += " " + (one if len(requeued) == 1 else several.format(count=len(requeued)))
            return text


def staff_chat_id(context: ContextTypes.DEFAULT_TYPE) -> int | None:
    """The staff group's chat id (STAFF_CHAT_ID, from the settings the application was built with), if set."""
    settings = context.bot_data.get("settings") if isinstance(context.bot_data, dict) else None
    return getattr(settings, "staff_chat_id", None)


def _remove_button(member: StaffMember) -> InlineKeyboardButton:
    name = member.first_name or "cette personne"
    return InlineKeyboardButton(f"Retirer {name}", callback_data=f"{CALLBACK_PREFIX}remove|{member.id}")
