"""Masking of sensitive data (NIR, bank details, card numbers, passwords) before anything is stored or forwarded.

Numbers are masked only when their checksum is valid (python-stdnum), so that dates, phone numbers and
postcodes are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import iban, luhn
from stdnum.fr import nir

NIR_MASK = "[numéro de sécurité sociale masqué]"
IBAN_MASK = "[IBAN masqué]"
CARD_MASK = "[numéro de carte masqué]"
PASSWORD_MASK = "[mot de passe masqué]"

# 15 characters with optional spaces, dots or dashes: sex, year, month, département (2A/2B), commune, order, key.
_NIR = re.compile(
    r"(?<![\w])[12][\s.-]?\d{2}[\s.-]?\d{2}[\s.-]?(?:\d{2}|2[ABab])[\s.-]?\d{3}[\s.-]?\d{3}[\s.-]?\d{2}(?![\w])"
)
_IBAN = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?:[\s-]?[A-Za-z0-9]){11,30}(?![\w])")
_CARD = re.compile(r"(?<![\w])\d(?:[\s-]?\d){12,18}(?![\w])")
_PASSWORD = re.compile(
    r"(?P<label>\b(?:mot\s*de\s*passe|mdp|password|pass|code\s*secret|code\s*pin|code\s*confidentiel)\b"
    r"\s*(?:est|c'?est|=|:)?\s*:?\s*)(?P<secret>\S{3,})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: frozenset[str]

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


def mask_sensitive(text: str) -> Masked:
    """Return the text with sensitive data replaced, and which kinds were found."""
    kinds: set[str] = set()

    def replace(pattern: re.Pattern[str], check: object, mask: str, kind: str, value: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            compact = re.sub(r"[\s.-]", "", match.group(0))
            if check(compact):  # type: ignore[operator]
                kinds.add(kind)
                return mask
            return match.group(0)

        return pattern.sub(substitute, value)

    text = replace(_NIR, nir.is_valid, NIR_MASK, "nir", text)
    text = replace(_IBAN, iban.is_valid, IBAN_MASK, "iban", text)
    text = replace(_CARD, luhn.is_valid, CARD_MASK, "card", text)

    def password(match: re.Match[str]) -> str:
        explicit = ":" in match["label"] or "=" in match["label"]
        if not explicit and not _looks_like_secret(match["secret"]):
            return match.group(0)
        kinds.add("password")
        return f"{match['label']}{PASSWORD_MASK}"

    text = _PASSWORD.sub(password, text)
    return Masked(text=text, kinds=frozenset(kinds))


def _looks_like_secret(word: str) -> bool:
    """A word that is not plain French: it has a digit, a symbol, or a capital letter after the first."""
    return bool(re.search(r"\d|[^\w'’-]|\w[A-Z]", word.rstrip(".,;!?")))


WARNING_TEXT = (
    "Attention : votre message contenait une donnée sensible ({what}). Je l'ai masquée. "
    "Ne donnez jamais ce type d'information dans une conversation : personne de sérieux ne vous la demandera ici."
)
_KIND_NAMES = {
    "nir": "numéro de sécurité sociale",
    "iban": "coordonnées bancaires",
    "card": "numéro de carte bancaire",
    "password": "mot de passe",
}


def warning_for(kinds: frozenset[str]) -> str:
    """The French warning shown to a user who sent sensitive data."""
    what = ", ".join(_KIND_NAMES[kind] for kind in sorted(kinds))
    return WARNING_TEXT.format(what=what)
