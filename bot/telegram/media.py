"""What the assistant answers to a photo, a file, a voice message… sent outside a handoff.

The assistant reads only text. Instead of a bare « I only read text », each kind of media gets what the citizen can
do instead: type the suspicious SMS, describe the problem, use the phone's dictation, or reach a person. Only the
kind of message is looked at: the file is never downloaded nor stored (no getFile), and its caption is not read.

During a handoff, media go to the conseiller (bot/staff/handoffs.py) and never reach this module.
"""

from __future__ import annotations

import mimetypes
from typing import Literal

from telegram import Message

from bot.replies import Button, Reply

Family = Literal["image", "document", "recording", "other"]

ONLY_TEXT_TEXT = "Je ne sais lire que les messages écrits pour l'instant. Écrivez votre question, s'il vous plaît."
IMAGE_TEXT = (
    "Je ne sais pas lire les photos : je n'ai pas ouvert la vôtre.\n\n"
    "C'est la capture d'un SMS ou d'un e-mail qui vous inquiète ? Recopiez son texte ici, "
    "en commençant par « J'ai reçu ce SMS : » ou « J'ai reçu ce mail : ». "
    "Je vous dirai s'il ressemble à une arnaque.\n\n"
    "N'envoyez jamais de photo de vos papiers d'identité, de votre carte bancaire ou de votre avis d'impôt. "
    "Pour effacer une photo envoyée, appuyez longuement dessus, puis sur « Supprimer ».\n\n"
    "Vous pouvez aussi parler à un conseiller, ou trouver un lieu d'aide près de chez vous."
)
DOCUMENT_TEXT = (
    "Je ne sais pas ouvrir les fichiers : je n'ai pas ouvert le vôtre.\n\n"
    "Décrivez votre problème en quelques mots. "
    "Par exemple : « Je n'arrive pas à télécharger mon attestation CAF. »\n\n"
    "N'envoyez pas de documents personnels dans une conversation : pièce d'identité, avis d'imposition, RIB, "
    "bulletin de salaire… Pour effacer un fichier envoyé, appuyez longuement dessus, puis sur « Supprimer ».\n\n"
    "Vous pouvez aussi parler à un conseiller, ou trouver un lieu d'aide près de chez vous."
)
RECORDING_TEXT = (
    "Désolé, je ne peux pas écouter les messages vocaux ni regarder les vidéos.\n\n"
    "Écrivez votre question en quelques mots. Par exemple : « Comment créer une adresse e-mail ? »\n\n"
    "Astuce : votre téléphone peut écrire ce que vous dites. Touchez la zone « Message », "
    "puis appuyez sur le micro 🎤 du clavier (pas sur celui à droite de la zone « Message »). "
    "Parlez, vérifiez le texte, puis envoyez-le."
)

REQUEST_HUMAN = Button("Parler à un conseiller", "/request_human")
FIND_PLACE = Button("Trouver de l'aide près de chez moi", "/find_place")
HELP = Button("Ce que je sais faire", "/help")

RECORDINGS = ("voice", "audio", "video_note", "video")
OTHER_KINDS = ("animation", "sticker", "contact", "poll", "dice", "venue", "location", "game", "story")
"""Checked before `document`: Telegram sends a GIF (animation) with a `document` too."""


def media_kind(message: Message) -> str:
    """Telegram's name for what the message carries (« photo », « voice », « sticker »…), for the logs; « other »
    when none is known. Never the content, the caption or the file id."""
    for kind in ("photo", *OTHER_KINDS, *RECORDINGS, "document"):
        if getattr(message, kind, None):
            return kind
    return "other"


def family_of(message: Message) -> Family:
    """Which answer the message gets: an image (a photo, or a picture sent as a file), another file, a recording
    (voice, audio, video), or anything else."""
    kind = media_kind(message)
    if kind == "photo" or (kind == "document" and _is_image_file(message)):
        return "image"
    if kind == "document":
        return "document"
    if kind in RECORDINGS:
        return "recording"
    return "other"


def media_reply(message: Message) -> Reply:
    """The answer to a message that is not text, with the buttons that help next."""
    family = family_of(message)
    if family == "image":
        return Reply(IMAGE_TEXT, ((REQUEST_HUMAN,), (FIND_PLACE,)))
    if family == "document":
        return Reply(DOCUMENT_TEXT, ((REQUEST_HUMAN,), (FIND_PLACE,)))
    if family == "recording":
        return Reply(RECORDING_TEXT, ((REQUEST_HUMAN,), (HELP,)))
    return Reply(ONLY_TEXT_TEXT)


def _is_image_file(message: Message) -> bool:
    document = message.document
    if document is None:
        return False
    mime_type = document.mime_type or mimetypes.guess_type(document.file_name or "")[0] or ""
    return mime_type.startswith("image/")
