"""The knowledge base: every fiche parses, is usable in Telegram, and has training questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.fiches import (
    SHORT_ANSWER_MAX,
    FicheError,
    answer_text,
    faq_intent,
    is_official,
    links_text,
    load_fiches,
    load_topics,
    parse_fiche,
    steps_text,
    topic_of_intent,
)

FICHES = load_fiches()
TELEGRAM_LIMIT = 4096


TOPICS = load_topics()


@pytest.mark.parametrize("topic", list(TOPICS))
def test_every_topic_of_the_contract_has_a_fiche(topic: str) -> None:
    assert topic in FICHES, f"no fiche knowledge/fiches/{topic}.md for topic {topic!r} of topics.yml"


@pytest.mark.parametrize("fiche", FICHES.values(), ids=list(FICHES))
def test_every_link_and_source_is_official(fiche) -> None:  # type: ignore[no-untyped-def]
    assert fiche.links, "a fiche needs at least one official link"
    assert all(is_official(link.url) for link in fiche.links)
    unofficial = [source.url for source in fiche.sources if not is_official(source.url)]
    assert not unofficial, f"facts must be checked on official pages: {unofficial}"


def test_is_official_checks_the_host_not_the_text() -> None:
    assert is_official("https://www.impots.gouv.fr/accueil")
    assert is_official("https://assure.ameli.fr/")
    assert not is_official("https://impots-gouv.fr.example.com/")
    assert not is_official("https://www.example.com/?ameli.fr")


@pytest.mark.parametrize("fiche", FICHES.values(), ids=list(FICHES))
def test_fiche_is_complete_and_fits_telegram(fiche) -> None:  # type: ignore[no-untyped-def]
    assert fiche.links, "a fiche needs at least one official link"
    assert all(link.url.startswith("https://") for link in fiche.links)
    assert fiche.sources, "every fact a citizen acts on is cited"
    assert fiche.steps and fiche.prepare and fiche.pitfalls
    assert len(fiche.short_answer) <= SHORT_ANSWER_MAX
    assert len(answer_text(fiche)) <= SHORT_ANSWER_MAX, "the first answer, title included, stays short"
    assert len(steps_text(fiche)) < TELEGRAM_LIMIT
    assert fiche.id in links_text(fiche) or fiche.links[0].url in links_text(fiche)


@pytest.mark.parametrize("fiche", FICHES.values(), ids=list(FICHES))
def test_fiche_has_enough_distinct_training_questions(fiche) -> None:  # type: ignore[no-untyped-def]
    lowered = [q.lower() for q in fiche.questions]
    assert len(lowered) >= 20
    assert len(set(lowered)) == len(lowered), "duplicate training questions"


def test_no_question_trains_two_fiches() -> None:
    owners: dict[str, str] = {}
    for fiche in FICHES.values():
        for question in fiche.questions:
            assert owners.setdefault(question.lower(), fiche.id) == fiche.id, question


def test_intent_names_round_trip() -> None:
    assert topic_of_intent(faq_intent("mot_de_passe")) == "mot_de_passe"
    assert topic_of_intent("greet") is None
    assert topic_of_intent("faq_") is None


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


VALID = """---
id: demo
title: Démo
summary: Une démo.
reviewed: 2026-11-25
links:
  - label: Service-public.fr
    url: https://www.service-public.fr/
---

## En bref
Court.

## Étapes
1. Un.
2. Deux.

## À préparer
- Rien.

## Pièges à éviter
- Aucun.
"""


def test_a_valid_fiche_parses_with_its_questions(tmp_path: Path) -> None:
    _write(tmp_path, "demo.questions.txt", "question un\n\nquestion deux\n")
    fiche = parse_fiche(_write(tmp_path, "demo.md", VALID))
    assert fiche.steps == ("Un.", "Deux.")
    assert fiche.questions == ("question un", "question deux")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("## Étapes", "## Etapes"), "unknown section"),
        (lambda t: t.replace("## À préparer\n- Rien.\n", ""), "missing or empty section"),
        (lambda t: t.replace("https://www.service-public.fr/", "http://example.com"), "not https"),
        (lambda t: t.replace("id: demo", "id: autre"), "match the file name"),
        (lambda t: t.replace("Court.", "x" * (SHORT_ANSWER_MAX + 1)), "over 600"),
        (
            lambda t: t.replace("links:\n  - label: Service-public.fr\n    url: https://www.service-public.fr/\n", ""),
            "no 'links'",
        ),
    ],
)
def test_a_broken_fiche_is_refused_with_the_reason(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FicheError, match=message):
        parse_fiche(_write(tmp_path, "demo.md", change(VALID)))
