"""Without a Telegram token, the bot is a chat in the terminal through the same Rasa and action servers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.settings import Settings
from knowledge.fiches import get_fiche

pytestmark = pytest.mark.e2e


def run_command(settings: Settings, args: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        env={**settings.as_env(), "PATH": "/usr/bin:/bin", "USER": "camille"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_console_chat_answers_questions_and_buttons(services: Settings) -> None:
    fiche = get_fiche("email")
    assert fiche is not None
    result = run_command(services, ["bot"], "comment je cree une adresse mail\n1\nquitter\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Passerelle > Bonjour, je suis Passerelle." in out
    assert "[1] Poser une question" in out
    assert f"Passerelle > {fiche.title}" in out
    assert "[1] Voir les étapes" in out
    assert f"Les étapes :\n1. {fiche.steps[0]}" in out
    assert out.rstrip().endswith("Au revoir.")
    assert "Traceback" not in result.stderr


def test_classify_prints_one_json_line_per_input(services: Settings) -> None:
    lines = [
        {"text": "bonjour"},
        {"text": "comment je cree une adresse mail"},
        {"text": "j ai recu un sms bizarre qui me demande de payer un colis"},
        {"text": "xqzw plokm vbnrt"},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\nceci n'est pas du json\n"
    result = run_command(services, ["classify", "--rasa-url", services.rasa_url], stdin)
    assert result.returncode == 1, "a malformed line is reported"
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 5
    assert rows[0]["intent"] == "greet" and rows[0]["fiche"] is None
    assert rows[1] | {"confidence": None} == {
        "text": lines[1]["text"],
        "intent": "faq",
        "confidence": None,
        "fiche": "email",
    }
    assert 0 < rows[1]["confidence"] <= 1
    assert rows[2]["fiche"] == "arnaques"
    assert rows[3] | {"confidence": None} == {
        "text": lines[3]["text"],
        "intent": "out_of_scope",
        "confidence": None,
        "fiche": None,
    }, "a message the assistant rejects is out of scope"
    assert rows[4]["intent"] is None and "error" in rows[4]
    assert "line 5" in result.stderr


def test_classify_says_how_to_start_rasa_when_it_is_down(services: Settings) -> None:
    result = run_command(services, ["classify", "--rasa-url", "http://127.0.0.1:9"], '{"text": "bonjour"}\n')
    assert result.returncode == 2
    assert "make serve" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_finds_a_place_by_postcode_and_signs_up(services: Settings) -> None:
    result = run_command(services, ["bot"], "2\n50000\n1\nquitter\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Tapez un numéro" not in out, "a postcode is text, not a button number"
    assert "Passerelle > Voici les lieux d'aide au numérique les plus proches de 50000 Saint-Lô" in out
    assert "\n📍 " in out and "] 📍 Plan 1" in out  # the nearest place's pin; each place's on demand
    assert "Passerelle > C'est noté. Vous êtes inscrit(e) :" in out
    assert "Fichier enregistré : " in out and out.split("Fichier enregistré : ")[1].split()[0].endswith(".ics")


def test_a_loan_can_be_tried_in_the_terminal_after_an_invitation(services: Settings) -> None:
    """The README's promise: `passerelle staff invite`, then `/start <code>` and a loan request in the terminal."""
    from tests.e2e.test_loans import _words, _working_days

    invite = subprocess.run(
        [sys.executable, "-m", "bot", "staff", "invite", "--role", "mediateur", "--structure", "EPN de démonstration"],
        env={**services.as_env(), "PATH": "/usr/bin:/bin", "TELEGRAM_BOT_USERNAME": "passerelle_bot"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert invite.returncode == 0, invite.stderr
    code = invite.stdout.strip().rsplit("?start=", 1)[1]
    first, last = _working_days(12)
    stdin = "\n".join(
        [
            f"/start {code}",
            f"je voudrais réserver le kit radio du {_words(first)} au {_words(last)}",
            "1",  # the first pickup slot
            "1",  # the first return slot
            "1",  # atelier
            "1",  # the first public
            "12",  # participants, typed (not a choice: there are 6)
            "1",  # send
            "quitter",
        ]
    )
    result = run_command(services, ["bot"], stdin + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Bienvenue, Camille. Vous faites partie de l'équipe « EPN de démonstration » comme médiateur." in out
    assert "Passerelle > Retrait le lundi" in out and "[1] 9 h" in out
    assert "Passerelle > Voici votre demande :\nKit radio mobile" in out and "Participants attendus : 12" in out
    assert "Passerelle > Demande envoyée." in out
    assert "Traceback" not in result.stderr
