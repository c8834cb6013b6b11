"""What a médiateur reads about loans (French): the steps of a request, each refusal's reason, the catalogue, the
availability, their loans. Buttons are {"title", "payload"} rows; `loan|…` payloads only say what was pressed."""

from __future__ import annotations

from datetime import date, datetime

from knowledge.french import PARIS, clock, day
from knowledge.loans.terms import NATURES, PUBLICS

Buttons = list[list[dict[str, str]]]

NOT_FOR_YOU_TEXT = (
    "Le prêt de matériel est réservé aux médiateurs des structures membres du réseau. "
    "Vous cherchez un atelier près de chez vous ? Je peux vous aider à le trouver."
)
NOT_FOR_YOU_BUTTONS: Buttons = [[{"title": "Trouver un atelier", "payload": "/find_place"}]]
NO_KIT_TEXT = "Aucun matériel n'est à prêter pour le moment."
WHICH_KIT_TEXT = "Quel matériel voulez-vous emprunter ?"
WHEN_TEXT = (
    "Pour quelles dates ? Écrivez-les simplement, par exemple : « du 3 au 10 mars », « la semaine prochaine », "
    "« à partir du 12 pour 15 jours »."
)
PERIOD_REASONS = {
    "unreadable": "Je n'ai pas compris ces dates.",
    "end_before_start": "La date de fin est avant la date de début.",
    "past": "Ces dates sont passées.",
    "no_end": "Il me manque la date de retour.",
}
CLOSED_DAY_TEXT = "Le site de retrait est fermé le {day}. Choisissez d'autres dates."
PICKUP_TEXT = "Retrait le {day}, au {site}. À quelle heure ?"
RETURN_TEXT = "Retour le {day}. À quelle heure ?"
NATURE_TEXT = "Pour quel type d'action ?"
PUBLIC_TEXT = "Pour quel public ?"
PARTICIPANTS_TEXT = "Combien de participants attendez-vous ? Touchez un nombre ou écrivez-le."
BAD_NUMBER_TEXT = "Écrivez un nombre de participants, par exemple 12."
CONFIRM_TEXT = "Voici votre demande :\n{details}\n\nJe l'envoie au prêteur ?"
LONG_TEXT = "Plus de {days} jours : le prêteur doit donner son accord explicite."
SENT_TEXT = "Demande envoyée. Le prêteur vous répond ici. Tapez « mes prêts » pour la suivre."
CANCELLED_TEXT = "C'est annulé. Le matériel est libéré."
DROPPED_TEXT = "D'accord, j'abandonne cette demande."
STALE_TEXT = "Ce bouton n'est plus valable. Pour emprunter du matériel, écrivez par exemple « réserver les drones »."
REFUSALS = {
    "not_mediator": NOT_FOR_YOU_TEXT,
    "no_membership": "Votre structure n'a pas de convention valable avec {detail} à ces dates.",
    "unknown_kit": "Ce matériel n'existe pas ou plus.",
    "kit_unavailable": "Ce matériel n'est pas disponible pour le moment ({detail}).",
    "end_before_start": "La date de retour est avant la date de retrait.",
    "past": "Ce créneau est déjà passé.",
    "pickup_closed": "Le site est fermé à l'heure du retrait.",
    "return_closed": "Le site est fermé à l'heure du retour.",
    "bad_details": "Il manque une information à la demande.",
    "blocked": "Le prêteur a réservé ce matériel à ces dates ({detail}). Il est prioritaire.",
    "overlap": "Ce matériel est déjà prêté à ces dates.",
}
CONDITIONS = {"en_panne": "en panne", "a_verifier": "à vérifier", "retire": "retiré", "prete": "prêté"}
PROPOSAL_TEXT = "Il est libre du {first} au {last}. Je fais la demande pour ces dates ?"
MY_LOANS_EMPTY_TEXT = "Vous n'avez aucun prêt en cours ni demandé."
STATUS_LABELS = {
    "requested": "demandé, en attente",
    "approved": "accepté",
    "checked_out": "en cours",
    "returned": "rendu",
}


def period_words(first: date, last: date) -> str:
    return day(first) if first == last else f"du {day(first)} au {day(last)}"


def slot_buttons(kind: str, slots: list[datetime]) -> Buttons:
    rows, row = [], []
    for slot in slots:
        row.append({"title": clock(slot), "payload": f"loan|{kind}|{slot.astimezone(PARIS):%H%M}"})
        if len(row) == 4:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    return [*rows, DROP_ROW]


DROP_ROW = [{"title": "Abandonner", "payload": "loan|drop"}]


def choice_buttons(kind: str, choices: dict[str, str]) -> Buttons:
    return [[{"title": label.capitalize(), "payload": f"loan|{kind}|{key}"}] for key, label in choices.items()] + [
        DROP_ROW
    ]


NATURE_BUTTONS = choice_buttons("nature", NATURES)
PUBLIC_BUTTONS = choice_buttons("public", PUBLICS)
PARTICIPANT_BUTTONS: Buttons = [
    [{"title": str(n), "payload": f"loan|participants|{n}"} for n in (5, 10, 15, 20, 30)],
    DROP_ROW,
]
CONFIRM_BUTTONS: Buttons = [
    [{"title": "Envoyer la demande", "payload": "loan|send"}],
    [{"title": "Changer les dates", "payload": "loan|redo"}],
    DROP_ROW,
]
