"""What the team reads about the ateliers it runs (French): the list with who registered (first names only),
attendance, cancellation and entrusting an atelier. Buttons are {"title", "payload"} rows; payloads start with
`animate|` and only say what was pressed: the handler checks who may do it."""

from __future__ import annotations

from datetime import datetime

from knowledge.ateliers.animation import RunAtelier
from knowledge.french import short_day, when
from knowledge.models import Atelier, Registration, StaffMember
from knowledge.places.catalogue import postal_address

Buttons = list[list[dict[str, str]]]

NONE_RUN_TEXT = (
    "Aucun atelier ne vous est confié pour le moment. Un coordinateur de votre structure peut vous en confier "
    "avec /attribuer."
)
NOTHING_TO_ASSIGN_TEXT = (
    "Aucun atelier à venir pour votre structure. Les ateliers arrivent par l'import (passerelle ateliers import)."
)
ASSIGN_INTRO_TEXT = "Les prochains ateliers de votre structure. Choisissez celui à confier :"
WHO_RUNS_TEXT = "À qui confier « {title} » ({day}) ?"
ASSIGNED_TEXT = "« {title} » est confié à {name} ({dates} date{plural})."
ENTRUSTED_TEXT = (
    "{coordinator} vous a confié l'atelier « {title} » ({dates} date{plural}, la première {when}). "
    "Tapez /mes_ateliers pour voir les inscrits."
)
CONFIRM_CANCEL_TEXT = (
    "Annuler « {title} » du {when} ? {count} personne{plural} inscrite{plural} {verb} prévenue{plural} tout de suite."
)
CANCELLED_BY_TEAM_TEXT = "Atelier « {title} » annulé. {told} personne{plural} {verb} prévenue{plural}."
KEPT_TEXT = "D'accord, l'atelier est maintenu."
ATTENDANCE_TEXT = "Présences pour « {title} » ({day}). Touchez un prénom pour le marquer présent ou absent."
NO_PARTICIPANT_TEXT = "Personne n'est inscrit à cet atelier."
TOO_EARLY_TEXT = "Vous pourrez noter les présences à partir d'une demi-heure avant le début de l'atelier."
NOT_YOURS_TEXT = (
    "Cet atelier ne vous est pas confié. Seuls la personne qui l'anime et un coordinateur de sa structure "
    "peuvent le gérer."
)
GONE_TEXT = "Cet atelier n'est plus disponible."
ALREADY_CANCELLED_TEXT = "Cet atelier est déjà annulé."
PAST_TEXT = "Cet atelier a déjà commencé : il ne peut plus être annulé."

MARKS = {True: "✅", False: "❌", None: "⬜"}


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def run_atelier_text(view: RunAtelier, now: datetime) -> str:
    atelier = view.atelier
    heading = f"« {atelier.title} », {when(atelier.start, atelier.end)}"
    lines = [("ANNULÉ — " if atelier.cancelled else "") + heading]
    if view.place is not None:
        lines.append(f"Lieu : {postal_address(view.place, with_name=True)}")
    names = ", ".join(r.first_name or "(sans prénom)" for r in view.confirmed)
    lines.append(f"Inscrits : {len(view.confirmed)} / {atelier.capacity}" + (f" — {names}" if names else ""))
    if view.waiting:
        lines.append(f"Liste d'attente : {view.waiting}")
    if view.attendance_open(now) and view.confirmed:
        present = sum(1 for r in view.confirmed if r.attended)
        absent = sum(1 for r in view.confirmed if r.attended is False)
        lines.append(f"Présences : {present} présent{_plural(present)}, {absent} absent{_plural(absent)}")
    return "\n".join(lines)


def run_atelier_buttons(view: RunAtelier, now: datetime) -> Buttons:
    atelier = view.atelier
    rows: Buttons = []
    if view.attendance_open(now) and view.confirmed:
        rows.append([{"title": "Noter les présences", "payload": f"animate|attendance|{atelier.id}"}])
    if not atelier.cancelled and atelier.start > now:
        rows.append([{"title": "Annuler l'atelier", "payload": f"animate|cancel|{atelier.id}"}])
    return rows


def attendance_text(view: RunAtelier) -> str:
    if not view.confirmed:
        return NO_PARTICIPANT_TEXT
    return ATTENDANCE_TEXT.format(title=view.atelier.title, day=short_day(view.atelier.start))


def attendance_buttons(confirmed: list[Registration]) -> Buttons:
    """One button per participant; pressing sets the next mark (not marked or absent → present → absent)."""
    return [
        [
            {
                "title": f"{MARKS[r.attended]} {r.first_name or '(sans prénom)'}",
                "payload": f"animate|mark|{r.id}|{0 if r.attended else 1}",
            }
        ]
        for r in confirmed
    ]


def confirm_cancel(atelier: Atelier, count: int) -> tuple[str, Buttons]:
    text = CONFIRM_CANCEL_TEXT.format(
        title=atelier.title,
        when=when(atelier.start, atelier.end),
        count=count,
        plural=_plural(count),
        verb="sera" if count == 1 else "seront",
    )
    buttons = [
        [{"title": "Oui, annuler l'atelier", "payload": f"animate|cancel_yes|{atelier.id}"}],
        [{"title": "Non, le garder", "payload": f"animate|keep|{atelier.id}"}],
    ]
    return text, buttons


def cancelled_text(title: str, told: int) -> str:
    return CANCELLED_BY_TEAM_TEXT.format(
        title=title, told=told, plural=_plural(told), verb="est" if told == 1 else "sont"
    )


def assignable_buttons(ateliers: list[Atelier], runners: dict[int, StaffMember]) -> Buttons:
    rows = []
    for atelier in ateliers:
        runner = runners.get(atelier.staff_member_id or 0)
        by = f" — {runner.first_name}" if runner is not None else ""
        title = f"{short_day(atelier.start)} {atelier.title[:30]}{by}"
        rows.append([{"title": title, "payload": f"animate|assign|{atelier.id}"}])
    return rows


def runner_buttons(atelier_id: int, members: list[StaffMember]) -> Buttons:
    return [
        [{"title": m.first_name or f"Compte n° {m.id}", "payload": f"animate|to|{atelier_id}|{m.id}"}] for m in members
    ]


def assigned_texts(atelier: Atelier, runner: StaffMember, dates: int, coordinator: str) -> tuple[str, str]:
    """(for the coordinator, for the person who now runs it)."""
    plural = _plural(dates)
    return (
        ASSIGNED_TEXT.format(title=atelier.title, name=runner.first_name, dates=dates, plural=plural),
        ENTRUSTED_TEXT.format(
            coordinator=coordinator,
            title=atelier.title,
            dates=dates,
            plural=plural,
            when=when(atelier.start, atelier.end),
        ),
    )
