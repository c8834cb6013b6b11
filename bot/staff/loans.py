"""Loans in Telegram, after Rasa has recognised the first message (actions/loans.py):

- the médiateur's steps: buttons (`loan|kit|3`, `loan|pickup|0900`…) and the dates or the number of participants
  typed while their draft waits for them; « Mes prêts » with cancel and breakdown reports; the bilan after a return;
- the lender's coordinateurs: `/demandes` (approve, refuse with a reason), `/prets` (check-out and check-in item by
  item), `/kits` (condition, blocks, the month, the iCalendar file).

Free answers to a question the bot asked (a refusal's reason, a note on an item, a breakdown, the dates of a block,
the bilan) are replies to that question: the question ends with a reference (« réf. panne 12 ») that says what the
answer is for; who may answer is always read from the database. These handlers run before the dialogue and stop
the update when they used it."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram import ForceReply, InputFile, Message, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.replies import Reply, buttons_from
from bot.staff.accounts import FOR_TEAM_TEXT, STALE_BUTTON_TEXT
from bot.telegram.outbox import Front
from knowledge.db import Database
from knowledge.french import PARIS
from knowledge.loans import drafts
from knowledge.loans import messages as texts
from knowledge.loans.bilans import bilan_answer
from knowledge.loans.bookings import (
    approve,
    cancel_loan,
    coordinated_lender,
    kit_status,
    lender_bookings,
    lender_coordinator,
    place_block,
    refuse,
    settle_conflict,
)
from knowledge.loans.inspections import (
    CHECK_IN,
    CHECK_OUT,
    DAMAGED,
    MISSING,
    PRESENT,
    InspectionStep,
    inspection_record,
    record_item,
    report_incident,
    set_condition,
    start_inspection,
)
from knowledge.loans.overview import catalogue, kit_ics, month_view, my_loans
from knowledge.loans.periods import Period, explain_period
from knowledge.loans.reminders import render_request, request_details
from knowledge.loans.terms import PUBLICS
from knowledge.models import Booking, Kit, Lender, Notification
from knowledge.staff import member_of

log = logging.getLogger(__name__)

ANSWERS_GROUP = -2
"""Typed answers are read before the handoff relay (group -1): a draft waiting for dates takes them."""
BUTTONS_GROUP = -1
REFERENCE = re.compile(r"réf\. (?P<what>[a-z]+) (?P<id>\d+)(?: (?P<extra>[a-z0-9]+))?\s*$")
PHASE_CODES = {"o": CHECK_OUT, "i": CHECK_IN}
STATE_CODES = {"p": PRESENT, "m": MISSING, "d": DAMAGED}
REFUSAL_REASONS = {
    "prio": "Le matériel est réservé par le prêteur à ces dates.",
    "conv": "La demande sort du cadre de la convention.",
    "info": "Il manque des informations : contactez la coordination.",
}
CONDITION_LABELS = {"ok": "Disponible", "a_verifier": "À vérifier", "en_panne": "En panne", "retire": "Retiré"}
LENDER_ONLY_TEXT = "Cette commande est réservée aux coordinateurs du prêteur."
NO_REQUEST_TEXT = "Aucune demande de prêt en attente."
NO_LOAN_TEXT = "Aucun prêt à remettre ou à reprendre."
DONE_TEXT = "C'est noté."
APPROVED_TEXT = "Demande n° {id} acceptée. La personne est prévenue."
REFUSED_TEXT = "Demande n° {id} refusée. La personne est prévenue, avec le motif."
NEEDS_EXCEPTION_TEXT = "Cette demande dépasse la durée maximale : utilisez « Approuver l'exception »."
ALREADY_TEXT = "Cette demande est déjà traitée."
WHY_TEXT = "Pourquoi refuser la demande n° {id} ?"
OTHER_REASON_TEXT = "Écrivez le motif du refus, en réponse à ce message.\nréf. refus {id}"
INCIDENT_TEXT = (
    "Décrivez la panne ou le dommage en réponse à ce message, avec une photo si possible. "
    "Ne réparez pas vous-même.\nréf. panne {id}"
)
INCIDENT_SENT_TEXT = "Merci, le prêteur est prévenu. Il vous dira quoi faire."
INCIDENT_FOR_LENDER_TEXT = "Panne signalée sur « {kit} » (prêt n° {id}) :\n{text}"
NOTE_TEXT = "« {item} » : {state}. Ajoutez une note ou une photo en réponse à ce message (ou « - »).\nréf. note {ref}"
BLOCK_TEXT = (
    "Pour quelles dates bloquer « {kit} », et pourquoi ? Répondez à ce message, par exemple : "
    "« du 3 au 10 mars, maintenance ».\nréf. blocage {id}"
)
BLOCK_TEXTS = {
    "blocked": "« {kit} » est bloqué {when}.",
    "conflict": "« {kit} » est bloqué {when}, mais un prêt accepté tombe pendant ce temps : la personne est prévenue. "
    "Décidez : annuler ce prêt, ou garder le prêt et lever le blocage.",
    "already_blocked": "Ce matériel est déjà bloqué à ces dates.",
    "not_allowed": LENDER_ONLY_TEXT,
}
BILAN_QUESTIONS = {
    "reached": "Combien de personnes avez-vous touchées ? Répondez par un nombre, en réponse à ce message.\n"
    "réf. bilan {id} reached",
    "reached_public": "Quel public ?",
    "rating": "Votre appréciation, de 1 (pas satisfait) à 5 (très satisfait) ?",
    "comment": "Un commentaire pour le prêteur ? Répondez à ce message (ou « - »).\nréf. bilan {id} comment",
}
BILAN_DONE_TEXT = "Merci pour ce bilan. Il aide le réseau à rendre compte de ses actions."


class Loans:
    def __init__(self, database: Database, front: Front) -> None:
        self.database = database
        self.front = front

    def register(self, application: Application) -> None:
        private = filters.ChatType.PRIVATE
        answers = private & ~filters.COMMAND & (filters.TEXT | filters.PHOTO)
        application.add_handler(MessageHandler(answers, self.on_answer), group=ANSWERS_GROUP)
        handlers = [
            CommandHandler("reserver", self.on_book, filters=private),
            CommandHandler("mes_prets", self.on_my_loans, filters=private),
            CommandHandler("demandes", self.on_requests, filters=private),
            CommandHandler("prets", self.on_loans, filters=private),
            CommandHandler("kits", self.on_kits, filters=private),
            CallbackQueryHandler(self.on_button, pattern=r"^loan[|]"),
        ]
        for handler in handlers:
            application.add_handler(handler, group=BUTTONS_GROUP)

    # --- sending ------------------------------------------------------------------------------------------

    async def _send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str, buttons=None) -> None:  # type: ignore[no-untyped-def]
        await self.front.send(context.bot, chat_id, Reply(text, buttons_from(buttons or [])))

    async def _step(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, step: drafts.Step | None) -> None:
        await self._send(context, chat_id, step.text if step else STALE_BUTTON_TEXT, step.buttons if step else None)

    async def _ask(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str) -> None:
        """A question answered by replying to it (its last line is the reference)."""
        await context.bot.send_message(chat_id, text, reply_markup=ForceReply(selective=True))

    # --- typed answers --------------------------------------------------------------------------------------

    async def on_answer(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id:
            found = REFERENCE.search(replied.text or "")
            if found is not None:
                await self._referenced(context, message, user.id, found["what"], int(found["id"]), found["extra"])
                raise ApplicationHandlerStop
        if not message.text:
            return
        now = datetime.now(UTC)
        step = await asyncio.to_thread(drafts.awaits_text, self.database, user.id, now)
        if step is None:
            return  # not waiting for anything: the handoff relay or the dialogue reads it
        await self._step(
            context,
            message.chat_id,
            await asyncio.to_thread(drafts.answer, self.database, user.id, step, message.text, now),
        )
        raise ApplicationHandlerStop

    async def _referenced(
        self, context: ContextTypes.DEFAULT_TYPE, message: Message, user_id: int, what: str, ref: int, extra: str | None
    ) -> None:
        text = (message.text or message.caption or "").strip()
        photo = message.photo[-1].file_id if message.photo else None
        now = datetime.now(UTC)
        chat = message.chat_id
        if what == "refus":
            await self._refuse(context, chat, user_id, ref, text)
        elif what == "panne":
            await self._incident(context, chat, user_id, ref, text, photo)
        elif what == "note" and extra and len(extra) >= 3 and extra[0] in PHASE_CODES and extra[-1] in STATE_CODES:
            phase, state, index = PHASE_CODES[extra[0]], STATE_CODES[extra[-1]], extra[1:-1]
            note = "" if text == "-" else text
            step = await asyncio.to_thread(
                record_item, self.database, user_id, ref, phase, int(index), state, now, note, photo
            )
            await self._inspection(context, chat, step)
        elif what == "blocage":
            await self._block(context, chat, user_id, ref, text)
        elif what == "bilan" and extra:
            step = await asyncio.to_thread(bilan_answer, self.database, user_id, ref, extra, text, now)
            await self._bilan(context, chat, ref, step)
        else:
            await context.bot.send_message(chat, STALE_BUTTON_TEXT)

    # --- commands -------------------------------------------------------------------------------------------

    async def on_book(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        step = await asyncio.to_thread(drafts.start, self.database, update.effective_user.id, "", datetime.now(UTC))
        await self._step(context, update.effective_chat.id, step)
        raise ApplicationHandlerStop

    async def on_my_loans(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        def listing() -> tuple[str, list]:  # type: ignore[type-arg]
            with self.database.session() as session:
                return my_loans(session, update.effective_user.id, datetime.now(UTC))

        text, buttons = await asyncio.to_thread(listing)
        await self._send(context, update.effective_chat.id, text, buttons)
        raise ApplicationHandlerStop

    async def _for_lender(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        build: Callable[[Session, Lender, datetime], list[Reply]],
    ) -> None:
        """A command of the lender's coordinateurs: `build` the replies, or tell anyone else it is not for them."""
        user_id = update.effective_user.id

        def listing() -> list[Reply] | None:
            with self.database.session() as session:
                lender = coordinated_lender(session, user_id)
                return None if lender is None else build(session, lender, datetime.now(UTC))

        replies = await asyncio.to_thread(listing)
        for reply in replies or [Reply(await self._refusal(user_id))]:
            await self.front.send(context.bot, update.effective_chat.id, reply)
        raise ApplicationHandlerStop

    async def on_requests(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        def build(session: Session, lender: Lender, now: datetime) -> list[Reply]:
            replies = []
            for booking in lender_bookings(session, lender, ("requested",))[:10]:
                probe = Notification(kind="loan_request", ref_id=booking.id, chat_id=update.effective_user.id)
                outgoing = render_request(session, probe, now)
                if outgoing is not None:
                    replies.append(Reply(outgoing.text, buttons_from(outgoing.buttons)))
            return replies or [Reply(NO_REQUEST_TEXT)]

        await self._for_lender(update, context, build)

    async def on_loans(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        def build(session: Session, lender: Lender, now: datetime) -> list[Reply]:
            replies = []
            for loan in lender_bookings(session, lender, ("approved", "checked_out"))[:15]:
                late = loan.status == "checked_out" and loan.ends_at < now
                head = ("EN RETARD — " if late else "") + f"Prêt n° {loan.id} ({texts.STATUS_LABELS[loan.status]})"
                if loan.flagged:
                    head += f"\n⚠️ {loan.flag_note}"
                phase, title = ("o", "Remise du matériel") if loan.status == "approved" else ("i", "Retour du matériel")
                buttons = [[{"title": title, "payload": f"loan|inspect|{loan.id}|{phase}"}]]
                replies.append(Reply(f"{head}\n{request_details(loan)}", buttons_from(buttons)))
            return replies or [Reply(NO_LOAN_TEXT)]

        await self._for_lender(update, context, build)

    async def on_kits(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        def build(session: Session, lender: Lender, now: datetime) -> list[Reply]:
            replies = []
            for kit in session.scalars(select(Kit).where(Kit.lender_id == lender.id).order_by(Kit.name)):
                status = kit_status(session, kit, now)
                label = {"disponible": "disponible", "prete": "prêté"}.get(status, texts.CONDITIONS.get(status, status))
                changes = [
                    {"title": f"→ {name}", "payload": f"loan|condition|{kit.id}|{code}"}
                    for code, name in CONDITION_LABELS.items()
                    if code != kit.condition
                ]
                buttons = [
                    changes[:2],
                    changes[2:],
                    [
                        {"title": "Bloquer des dates", "payload": f"loan|block|{kit.id}"},
                        {"title": "Le mois", "payload": f"loan|month|{kit.id}"},
                        {"title": "Agenda (.ics)", "payload": f"loan|ics|{kit.id}"},
                    ],
                ]
                replies.append(Reply(f"{kit.name} : {label}", buttons_from(buttons)))
            return replies

        await self._for_lender(update, context, build)

    async def _refusal(self, user_id: int) -> str:
        def is_staff() -> bool:
            with self.database.session() as session:
                return member_of(session, user_id) is not None

        return LENDER_ONLY_TEXT if await asyncio.to_thread(is_staff) else FOR_TEAM_TEXT

    # --- buttons ----------------------------------------------------------------------------------------------

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user_id, chat = update.callback_query, update.effective_user.id, update.effective_chat.id
        parts = (query.data or "").split("|")[1:]
        await query.answer()
        action, args = (parts[0] if parts else ""), parts[1:]
        handler = self._buttons().get(action)
        if handler is None:
            log.warning("Forged or stale loan button %r from Telegram user %s", query.data, user_id)
            await context.bot.send_message(chat, STALE_BUTTON_TEXT)
        else:
            try:
                await handler(context, chat, user_id, args)
            except (ValueError, IndexError, KeyError):
                log.warning("Malformed loan button %r from Telegram user %s", query.data, user_id)
                await context.bot.send_message(chat, STALE_BUTTON_TEXT)
        raise ApplicationHandlerStop

    def _buttons(self) -> dict[str, Callable[[ContextTypes.DEFAULT_TYPE, int, int, list[str]], Awaitable[None]]]:
        def step(name: str) -> Callable[[ContextTypes.DEFAULT_TYPE, int, int, list[str]], Awaitable[None]]:
            async def run(context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
                now = datetime.now(UTC)
                answer = await asyncio.to_thread(
                    drafts.answer, self.database, user_id, name, args[0] if args else "", now
                )
                await self._step(context, chat, answer)

            return run

        table: dict[str, Callable[[ContextTypes.DEFAULT_TYPE, int, int, list[str]], Awaitable[None]]] = {
            name: step(name) for name in drafts.BUTTON_STEPS
        }
        table.update(
            send=self._send_request,
            month=self._month,
            catalogue=self._catalogue,
            ics=self._ics,
            cancel=self._cancel,
            incident=self._ask_incident,
            approve=self._approve,
            refuse=self._why,
            refuse_r=self._refuse_button,
            inspect=self._inspect,
            item=self._item,
            condition=self._condition,
            block=self._ask_block,
            settle=self._settle,
            bilan=self._bilan_button,
            bilan_public=self._bilan_button,
            bilan_rating=self._bilan_button,
        )
        return table

    async def _send_request(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        await self._step(context, chat, await asyncio.to_thread(drafts.send, self.database, user_id, datetime.now(UTC)))

    async def _month(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        month = date.fromisoformat(args[1] + "-01") if len(args) > 1 else datetime.now(PARIS).date()

        def view() -> str:
            with self.database.session() as session:
                return month_view(session, int(args[0]), month)

        following = (month.replace(day=28) + timedelta(days=4)).strftime("%Y-%m")
        buttons = [[{"title": "Mois suivant", "payload": f"loan|month|{int(args[0])}|{following}"}]]
        await self._send(context, chat, await asyncio.to_thread(view), buttons)

    async def _catalogue(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        def text() -> str:
            with self.database.session() as session:
                return catalogue(session, datetime.now(UTC))

        await context.bot.send_message(chat, await asyncio.to_thread(text))

    async def _ics(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        def file() -> bytes | None:
            with self.database.session() as session:
                kit = session.get(Kit, int(args[0]))
                if kit is None or lender_coordinator(session, user_id, kit.lender) is None:
                    return None
                return kit_ics(session, kit.id)

        content = await asyncio.to_thread(file)
        if content is None:
            await context.bot.send_message(chat, LENDER_ONLY_TEXT)
            return
        await context.bot.send_document(chat, InputFile(content, filename=f"materiel-{int(args[0])}.ics"))

    async def _cancel(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        decision = await asyncio.to_thread(cancel_loan, self.database, user_id, int(args[0]), datetime.now(UTC))
        text = {"cancelled": texts.CANCELLED_TEXT}.get(decision.status, ALREADY_TEXT)
        await context.bot.send_message(chat, text if decision.status != "not_allowed" else STALE_BUTTON_TEXT)

    async def _ask_incident(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        await self._ask(context, chat, INCIDENT_TEXT.format(id=int(args[0])))

    async def _incident(
        self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, booking_id: int, text: str, photo: str | None
    ) -> None:
        now = datetime.now(UTC)
        report = await asyncio.to_thread(
            report_incident, self.database, user_id, text, now, booking_id=booking_id, photo_file_id=photo
        )
        if report.status != "reported":
            await context.bot.send_message(
                chat, STALE_BUTTON_TEXT if report.status != "empty" else INCIDENT_TEXT.format(id=booking_id)
            )
            return
        await context.bot.send_message(chat, INCIDENT_SENT_TEXT)

        def kit_name() -> str:
            with self.database.session() as session:
                kit = session.get(Kit, report.kit_id)
                return kit.name if kit else ""

        name = await asyncio.to_thread(kit_name)
        for coordinator in report.coordinators:
            await self._tell(
                context,
                coordinator,
                INCIDENT_FOR_LENDER_TEXT.format(kit=name, id=booking_id, text=text or "(photo)"),
                photo,
            )

    async def _tell(self, context: ContextTypes.DEFAULT_TYPE, chat: int, text: str, photo: str | None = None) -> None:
        try:
            await context.bot.send_message(chat, text)
            if photo:
                await context.bot.send_photo(chat, photo)
        except Exception as error:
            log.info("Could not tell Telegram user %s about a loan: %s", chat, error)

    async def _approve(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        exception = len(args) > 1 and args[1] == "x"
        decision = await asyncio.to_thread(
            approve, self.database, user_id, int(args[0]), datetime.now(UTC), exception=exception
        )
        text = {
            "approved": APPROVED_TEXT.format(id=int(args[0])),
            "needs_exception": NEEDS_EXCEPTION_TEXT,
            "already_decided": ALREADY_TEXT,
        }.get(decision.status, LENDER_ONLY_TEXT)
        await context.bot.send_message(chat, text)

    async def _why(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        booking = int(args[0])
        buttons = [
            [{"title": reason, "payload": f"loan|refuse_r|{booking}|{code}"}]
            for code, reason in REFUSAL_REASONS.items()
        ]
        buttons.append([{"title": "Autre motif (l'écrire)", "payload": f"loan|refuse_r|{booking}|autre"}])
        await self._send(context, chat, WHY_TEXT.format(id=booking), buttons)

    async def _refuse_button(
        self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]
    ) -> None:
        booking, code = int(args[0]), args[1]
        if code == "autre":
            await self._ask(context, chat, OTHER_REASON_TEXT.format(id=booking))
            return
        await self._refuse(context, chat, user_id, booking, REFUSAL_REASONS[code])

    async def _refuse(
        self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, booking: int, reason: str
    ) -> None:
        if not reason:
            await self._ask(context, chat, OTHER_REASON_TEXT.format(id=booking))
            return
        decision = await asyncio.to_thread(refuse, self.database, user_id, booking, reason, datetime.now(UTC))
        text = {"refused": REFUSED_TEXT.format(id=booking), "already_decided": ALREADY_TEXT}.get(
            decision.status, LENDER_ONLY_TEXT
        )
        await context.bot.send_message(chat, text)

    async def _inspect(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        phase = PHASE_CODES[args[1]]
        step = await asyncio.to_thread(start_inspection, self.database, user_id, int(args[0]), phase, datetime.now(UTC))
        await self._inspection(context, chat, step)

    async def _item(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        booking, code, index, state = int(args[0]), args[1], int(args[2]), STATE_CODES[args[3]]
        if state != PRESENT:  # a note (and a photo) first, then the item is recorded

            def item_name() -> str:
                with self.database.session() as session:
                    loan = session.get(Booking, booking)
                    items = list(dict.fromkeys(loan.kit.checklist)) if loan is not None else []
                    return items[index] if 0 <= index < len(items) else ""

            label = {MISSING: "manquant", DAMAGED: "abîmé"}[state]
            ref = f"{booking} {code}{index}{args[3]}"
            await self._ask(
                context, chat, NOTE_TEXT.format(item=await asyncio.to_thread(item_name), state=label, ref=ref)
            )
            return
        step = await asyncio.to_thread(
            record_item, self.database, user_id, booking, PHASE_CODES[code], index, state, datetime.now(UTC)
        )
        await self._inspection(context, chat, step)

    async def _inspection(self, context: ContextTypes.DEFAULT_TYPE, chat: int, step: InspectionStep) -> None:
        if step.status == "next":
            code = "o" if step.phase == CHECK_OUT else "i"
            label = "Remise" if step.phase == CHECK_OUT else "Retour"
            text = f"{label} du prêt n° {step.booking_id}, élément {step.done + 1} sur {step.total} :\n{step.item}"
            buttons = [
                [
                    {"title": "✅ Présent", "payload": f"loan|item|{step.booking_id}|{code}|{step.index}|p"},
                    {"title": "❌ Manquant", "payload": f"loan|item|{step.booking_id}|{code}|{step.index}|m"},
                    {"title": "⚠️ Abîmé", "payload": f"loan|item|{step.booking_id}|{code}|{step.index}|d"},
                ]
            ]
            await self._send(context, chat, text, buttons)
            return
        if step.status != "finished":
            text = {
                "wrong_status": ALREADY_TEXT,
                "kit_unavailable": "Le kit doit être remis en état « disponible » avant d'être prêté.",
            }.get(step.status, LENDER_ONLY_TEXT)
            await context.bot.send_message(chat, text)
            return

        def record() -> str:
            with self.database.session() as session:
                return inspection_record(session, step.booking_id, step.phase)

        text = await asyncio.to_thread(record)
        await context.bot.send_message(chat, text)
        if step.borrower_chat is not None:
            await self._tell(context, step.borrower_chat, text)

    async def _condition(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        change = await asyncio.to_thread(
            set_condition, self.database, user_id, int(args[0]), args[1], datetime.now(UTC)
        )
        text = {"changed": DONE_TEXT, "unchanged": DONE_TEXT}.get(change.status, LENDER_ONLY_TEXT)
        await context.bot.send_message(chat, text)

    async def _ask_block(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        def kit_name() -> str | None:
            with self.database.session() as session:
                kit = session.get(Kit, int(args[0]))
                return kit.name if kit is not None and lender_coordinator(session, user_id, kit.lender) else None

        name = await asyncio.to_thread(kit_name)
        if name is None:
            await context.bot.send_message(chat, LENDER_ONLY_TEXT)
            return
        await self._ask(context, chat, BLOCK_TEXT.format(kit=name, id=int(args[0])))

    async def _block(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, kit_id: int, text: str) -> None:
        now = datetime.now(UTC)
        dates, _, reason = text.partition(",")
        period = explain_period(dates, now.astimezone(PARIS).date())
        if not isinstance(period, Period):
            await context.bot.send_message(
                chat, texts.PERIOD_REASONS[period] + " " + BLOCK_TEXT.split("\n")[0].format(kit="ce matériel")
            )
            return
        start = datetime.combine(period.first_day, time(0, 0), PARIS)
        end = datetime.combine(period.last_day + timedelta(days=1), time(0, 0), PARIS)
        outcome = await asyncio.to_thread(
            place_block, self.database, user_id, kit_id, start, end, reason.strip() or "usage du prêteur", now
        )

        def kit_name() -> str:
            with self.database.session() as session:
                kit = session.get(Kit, kit_id)
                return kit.name if kit else ""

        when = texts.period_words(period.first_day, period.last_day)
        template = BLOCK_TEXTS.get(outcome.status, LENDER_ONLY_TEXT)
        buttons = None
        if outcome.status == "conflict":
            buttons = [
                [{"title": "Annuler le prêt", "payload": f"loan|settle|{outcome.block_id}|cancel"}],
                [{"title": "Garder le prêt", "payload": f"loan|settle|{outcome.block_id}|keep"}],
            ]
        await self._send(context, chat, template.format(kit=await asyncio.to_thread(kit_name), when=when), buttons)

    async def _settle(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        keep = args[1] == "keep"
        decision = await asyncio.to_thread(
            settle_conflict, self.database, user_id, int(args[0]), keep, datetime.now(UTC)
        )
        text = {
            "block_active": "Le prêt est annulé et la personne prévenue. Le blocage s'applique.",
            "block_dropped": "Le prêt est gardé. Le blocage est levé.",
            "kit_out": "Le matériel est déjà sorti : il doit revenir avant. Le prêt est gardé.",
            "already_decided": ALREADY_TEXT,
        }.get(decision.status, LENDER_ONLY_TEXT)
        await context.bot.send_message(chat, text)

    async def _bilan_button(self, context: ContextTypes.DEFAULT_TYPE, chat: int, user_id: int, args: list[str]) -> None:
        booking = int(args[0])
        question = args[1] if len(args) > 1 else None
        value = args[2] if len(args) > 2 else ""
        step = await asyncio.to_thread(
            bilan_answer, self.database, user_id, booking, question, value, datetime.now(UTC)
        )
        await self._bilan(context, chat, booking, step)

    async def _bilan(self, context: ContextTypes.DEFAULT_TYPE, chat: int, booking: int, step) -> None:  # type: ignore[no-untyped-def]
        if step.status == "not_allowed":
            await context.bot.send_message(chat, STALE_BUTTON_TEXT)
        elif step.status == "done":
            await context.bot.send_message(chat, BILAN_DONE_TEXT)
        elif step.question in ("reached", "comment"):
            await self._ask(context, chat, BILAN_QUESTIONS[step.question].format(id=booking))
        elif step.question == "reached_public":
            buttons = [
                [{"title": label.capitalize(), "payload": f"loan|bilan|{booking}|reached_public|{key}"}]
                for key, label in PUBLICS.items()
            ]
            await self._send(context, chat, BILAN_QUESTIONS["reached_public"], buttons)
        else:
            buttons = [[{"title": str(n), "payload": f"loan|bilan|{booking}|rating|{n}"} for n in range(1, 6)]]
            await self._send(context, chat, BILAN_QUESTIONS["rating"], buttons)
