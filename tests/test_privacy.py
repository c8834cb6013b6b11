"""Sensitive data is masked before it is forwarded or stored; ordinary numbers are left alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.citizens.privacy import mask_sensitive, warning_for


@pytest.mark.parametrize(
    ("text", "kind", "secret"),
    [
        ("mon numero de secu c'est 2 84 05 76 451 089 78", "nir", "451 089"),
        ("NIR 284057645108978 svp", "nir", "284057645108978"),
        ("voici mon rib FR76 3000 6000 0112 3456 7890 189", "iban", "3000 6000"),
        ("carte 4970 1012 3456 7893 exp 12/27", "card", "4970 1012"),
        ("mon mdp: soleil", "password", "soleil"),
        ("mon mot de passe est Soleil2024", "password", "Soleil2024"),
    ],
)
def test_sensitive_data_is_masked(text: str, kind: str, secret: str) -> None:
    masked = mask_sensitive(text)
    assert kind in masked.kinds
    assert secret not in masked.text


@pytest.mark.parametrize(
    "text",
    [
        "j'ai oublié mon mot de passe",
        "le mot de passe est trop long",
        "appelez le 06 12 34 56 78 le 12/03/2024",
        "je suis au 75011 Paris",
        "mon numéro fiscal ne marche pas",
        "carte 4970 1012 3456 7890",  # fails the Luhn check: not a card number
    ],
)
def test_ordinary_messages_are_left_alone(text: str) -> None:
    masked = mask_sensitive(text)
    assert masked.text == text
    assert not masked.changed


def test_the_warning_names_what_was_masked_in_french() -> None:
    text = warning_for(frozenset({"nir", "password"}))
    assert "numéro de sécurité sociale" in text
    assert "mot de passe" in text


MASKING_SET = [
    json.loads(line)
    for line in (Path(__file__).resolve().parent / "data" / "masking_messages.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]


def test_the_masking_set_is_as_large_as_promised() -> None:
    assert len(MASKING_SET) >= 150
    assert sum(bool(item["secrets"]) for item in MASKING_SET) >= 100


def test_every_secret_of_the_set_is_masked() -> None:
    leaked = []
    for item in MASKING_SET:
        masked = mask_sensitive(item["text"])
        for secret in item["secrets"]:
            # A number split over two lines must not survive in either half.
            parts = [secret, *(part.strip() for part in secret.split("\n") if len(part.strip()) >= 4)]
            if any(part in masked.text for part in parts) or not masked.changed:
                leaked.append(item["text"])
    assert leaked == [], f"{len(leaked)} secret(s) not masked"


def test_look_alikes_of_the_set_are_left_untouched() -> None:
    touched = [item["text"] for item in MASKING_SET if not item["secrets"] and mask_sensitive(item["text"]).changed]
    assert touched == [], f"{len(touched)} false mask(s)"


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        (
            "mon IBAN FR76 3000 6000 0112 3456 7890 189 pour le remboursement caf",
            "3000 6000",
            "pour le remboursement caf",
        ),
        (
            "mon mot de passe ameli c'est Soleil2024! pourquoi ca marche pas",
            "Soleil2024",
            "pourquoi ca marche pas",
        ),
        ("le code reçu par sms est 482 913, je le mets où ?", "482 913", "je le mets où ?"),
    ],
)
def test_the_words_around_a_secret_are_kept(text: str, secret: str, kept: str) -> None:
    masked = mask_sensitive(text)
    assert secret not in masked.text
    assert masked.text.endswith(kept)


@pytest.mark.parametrize(
    "text",
    [
        "mon mot de passe est Soleil2024",
        "mdp de la caf : chaton75",
        "code reçu par sms : 483920",
        "mon numéro de sécu 1 84 12 76 451 089 46 et mon mot de passe c'est Azerty123!",
        "j'ai tapé 3X7pQ9zW comme mot de passe",
    ],
)
def test_masking_twice_changes_nothing_more(text: str) -> None:
    """A text masked once (stored, then relayed) comes out the same from a second pass."""
    once = mask_sensitive(text).text
    assert once != text
    assert mask_sensitive(once).text == once
