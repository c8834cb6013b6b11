"""Sensitive data is masked before it is forwarded or stored; ordinary numbers are left alone."""

from __future__ import annotations

import pytest

from knowledge.privacy import mask_sensitive, warning_for


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
