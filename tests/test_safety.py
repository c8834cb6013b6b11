"""Safety first: the lexicon recognises every message of the danger and scam test sets; near-misses stay quiet;
the answers give the right numbers, each backed by an official page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from knowledge.fiches import is_official
from knowledge.safety import (
    ALREADY_PAID,
    CHILD,
    MEDICAL,
    SITUATIONS,
    SUICIDE,
    SUSPICIOUS,
    VIOLENCE,
    VIOLENCE_AT_HOME,
    LexiconError,
    assess,
    danger_text,
    load_answers,
    load_lexicon,
    normalise,
)

DATA = Path(__file__).resolve().parent / "data"


def _lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


DANGER_SET = _lines("danger_messages.jsonl")
SCAM_SET = _lines("scam_messages.jsonl")


def test_the_sets_are_as_large_as_promised() -> None:
    assert sum(item["danger"] for item in DANGER_SET) >= 150
    assert sum(not item["danger"] for item in DANGER_SET) >= 50
    assert sum(item["scam"] == SUSPICIOUS for item in SCAM_SET) >= 30
    assert sum(item["scam"] == ALREADY_PAID for item in SCAM_SET) >= 15


def test_every_danger_message_of_the_set_is_recognised() -> None:
    missed = [item["text"] for item in DANGER_SET if item["danger"] and not assess(item["text"]).danger]
    assert missed == [], f"{len(missed)} danger message(s) not recognised"


@pytest.mark.parametrize(
    "text",
    [
        "je meurs de rire",
        "ce site me tue",
        "mon téléphone est mort",
        "tuer une application",
        "ma batterie est morte",
        "je suis mort de fatigue avec cette déclaration",
        "je me suis fait tuer dans le jeu",
        "je veux en finir avec ce dossier caf",
        "mon opérateur me menace de couper ma ligne",
        "comment supprimer mon compte facebook",
        "mon père est mort le mois dernier, comment fermer son compte bancaire",
    ],
)
def test_near_misses_do_not_raise_an_alarm(text: str) -> None:
    assert assess(text).situations == ()


@pytest.mark.parametrize(
    ("text", "situation"),
    [
        ("je veux mourir", SUICIDE),
        ("jveu plu vivre", SUICIDE),
        ("J'EN PEUX PLUS DE VIVRE", SUICIDE),
        ("il me frappe", VIOLENCE_AT_HOME),
        ("mon mari me menace de me tuer", VIOLENCE_AT_HOME),
        ("mon fils a avalé des médicaments", MEDICAL),
        ("ma mère respire plus", MEDICAL),
        ("le voisin frappe ses enfants", CHILD),
        ("on veut me tuer", VIOLENCE),
    ],
)
def test_the_situation_decides_the_numbers(text: str, situation: str) -> None:
    assert situation in assess(text).situations


def test_an_overdose_is_answered_as_a_medical_emergency_first() -> None:
    situations = assess("j'ai pris toute la boite de cachets").situations
    assert situations[:2] == (MEDICAL, SUICIDE)
    text = danger_text(situations)
    assert text.index("le 15") < text.index("3114")


def test_every_scam_message_of_the_set_gets_its_answer() -> None:
    wrong = [(item["scam"], item["text"]) for item in SCAM_SET if assess(item["text"]).scam != item["scam"]]
    assert wrong == [], f"{len(wrong)} scam message(s) misread"


def test_the_scam_of_the_issue_is_recognised_whatever_organisation_it_names() -> None:
    text = "jai recu un sms de lassurance maladie pour ma carte vitale il faut payer 2 euros"
    assert assess(text).scam == SUSPICIOUS
    assert assess("j'ai donné mon code au monsieur de la banque").scam == ALREADY_PAID
    assert assess("j'ai cliqué et rempli mes coordonnées bancaires").scam == ALREADY_PAID


@pytest.mark.parametrize(
    ("situations", "numbers"),
    [
        ((SUICIDE,), ["3114", "15", "112"]),
        ((VIOLENCE_AT_HOME,), ["17", "3919"]),
        ((CHILD,), ["119", "17"]),
        ((MEDICAL,), ["15", "112", "18"]),
        ((VIOLENCE,), ["17", "112"]),
        ((), ["3114", "17", "112"]),
    ],
)
def test_each_danger_answer_names_its_numbers_and_the_114(situations: tuple[str, ...], numbers: list[str]) -> None:
    text = danger_text(situations)
    for number in [*numbers, "114"]:
        assert re.search(rf"\ble {number}\b|\bau {number}\b|\b{number}\b", text), number
    assert "conseiller" in text
    assert len(text) < 4096


def test_every_number_in_the_answers_is_backed_by_an_official_source() -> None:
    answers = load_answers()
    assert all(is_official(source.url) for source in answers.sources)
    facts = " ".join(source.fact.replace(" ", "") for source in answers.sources)
    texts = [*answers.danger.values(), *answers.scam.values()]
    numbers = {m.replace(" ", "") for text in texts for m in re.findall(r"\b(?:\d ?){2,10}\d\b", text)}
    numbers = {n for n in numbers if n not in {"24", "7"}}  # "24 h/24, 7 j/7"
    unbacked = sorted(n for n in numbers if n not in facts)
    assert unbacked == []


def test_every_situation_has_an_answer() -> None:
    answers = load_answers()
    assert set(SITUATIONS) <= set(answers.danger)
    assert {"sourds", "conclusion"} <= set(answers.danger)
    assert {SUSPICIOUS, ALREADY_PAID} <= set(answers.scam)


def test_normalisation_reads_sms_spelling_without_accents() -> None:
    assert normalise("Jveux plus VIVRE, jpp !!!", load_lexicon().spellings) == "je veux plus vivre j en peux plus"
    assert normalise("ça m'énèèèrve") == "ca m enerve"


def test_a_broken_lexicon_is_refused_with_its_section(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yml"
    path.write_text("danger:\n  suicide:\n    - '(?:unclosed'\nscam:\n  channel: 'sms'\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"danger\.suicide"):
        load_lexicon(path)
    path.write_text("danger:\n  boredom:\n    - 'ennui'\nscam:\n  channel: 'sms'\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="unknown danger situation"):
        load_lexicon(path)
