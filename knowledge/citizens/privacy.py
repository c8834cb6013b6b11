"""Masking of sensitive data (NIR, bank details, card numbers, passwords and secret codes) before anything is
stored or forwarded.

Numbers are masked only when their checksum is valid (python-stdnum), so that dates, phone numbers, postcodes,
amounts and reference numbers are left alone. A number may be written with spaces, dots or dashes, split over two
lines, and followed by words: every run of number-like chunks is searched for its longest valid part.

Passwords and codes are found after a label ("mot de passe", "mdp", "code reçu par sms"…): the word after an
explicit introducer (":", "=", "c'est", "est"), unless it is plain French ("trop", "pas"…); a word that looks like a
secret right after the label; or, for a code, its digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import iban, luhn
from stdnum.fr import nir, siret

from knowledge.french import fold

NIR_MASK = "[numéro de sécurité sociale masqué]"
IBAN_MASK = "[IBAN masqué]"
CARD_MASK = "[numéro de carte masqué]"
PASSWORD_MASK = "[mot de passe masqué]"
CODE_MASK = "[code masqué]"
_MASKS = re.compile("|".join(re.escape(m) for m in (NIR_MASK, IBAN_MASK, CARD_MASK, PASSWORD_MASK, CODE_MASK)))

_CHUNK = re.compile(r"[A-Za-z0-9]+")
_SEPARATOR = re.compile(r"[ \t.\-]{0,2}(?:\r?\n[ \t]*)?")
"""What may stand between two chunks of one number: spaces, a dot or a dash, or a line break."""

_LONGEST = 34
"""The longest IBAN, in characters."""
_CARD_LABELS = {"carte", "cb", "visa", "mastercard", "card", "bancaire"}
_REFERENCE_LABELS = {
    "siret",
    "siren",
    "commande",
    "facture",
    "colis",
    "suivi",
    "fiscal",
    "allocataire",
    "identifiant",
    "dossier",
    "contrat",
    "client",
    "reference",
    "ref",
    "tva",
}
"""Labels of reference numbers that may pass a Luhn check by chance (a SIRET always does)."""


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: frozenset[str]

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str
    mask: str


def mask_sensitive(text: str) -> Masked:
    """Return the text with sensitive data replaced, and which kinds were found. Idempotent: what an earlier pass
    masked (« [mot de passe masqué] ») is left as it is."""
    masks = [_Span(m.start(), m.end(), "mask", m[0]) for m in _MASKS.finditer(text)]
    spans = [span for span in _number_spans(text) if not any(_overlap(span, mask) for mask in masks)]
    spans += [span for span in _secret_spans(text) if not any(_overlap(span, taken) for taken in spans + masks)]
    spans.sort(key=lambda span: span.start)
    pieces: list[str] = []
    position = 0
    for span in spans:
        pieces.append(text[position : span.start])
        pieces.append(span.mask)
        position = span.end
    pieces.append(text[position:])
    return Masked(text="".join(pieces), kinds=frozenset(span.kind for span in spans))


# --- Numbers with a checksum -------------------------------------------------------------------------------------


def _number_spans(text: str) -> list[_Span]:
    spans: list[_Span] = []
    for run in _runs(text):
        spans.extend(_valid_parts(text, run))
    return spans


def _runs(text: str) -> list[list[tuple[int, int]]]:
    """Runs of alphanumeric chunks joined by separators, each run holding at least one digit."""
    runs: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    for match in _CHUNK.finditer(text):
        if current:
            gap = text[current[-1][1] : match.start()]
            if not _SEPARATOR.fullmatch(gap):
                runs.append(current)
                current = []
        if _is_word_boundary(text, match.start(), match.end()):
            current.append((match.start(), match.end()))
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    return [run for run in runs if any(any(c.isdigit() for c in text[s:e]) for s, e in run)]


def _is_word_boundary(text: str, start: int, end: int) -> bool:
    """A chunk is not glued to letters with accents or apostrophes (part of a word like "numéro")."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalpha() or before in "'’") and not after.isalpha()


def _valid_parts(text: str, run: list[tuple[int, int]]) -> list[_Span]:
    """The longest valid numbers in a run of chunks, left to right, without overlap."""
    found: list[_Span] = []
    first = 0
    while first < len(run):
        best: _Span | None = None
        start = run[first][0]
        if text[start].isdigit() or re.match(r"[A-Za-z]{2}\d{2}", text[start : run[first][1]]):
            candidates: list[tuple[int, str]] = []
            compact = ""
            for chunk_start, chunk_end in run[first:]:
                compact += text[chunk_start:chunk_end].upper()
                if len(compact) > _LONGEST:
                    break
                candidates.append((chunk_end, compact))
            for end, number in reversed(candidates):
                kind = _kind_of(number, text, start)
                if kind is not None:
                    best = _Span(start, end, *kind)
                    break
        if best is None:
            first += 1
            continue
        found.append(best)
        first = next((i for i, chunk in enumerate(run) if chunk[0] >= best.end), len(run))
    return found


def _kind_of(compact: str, text: str, start: int) -> tuple[str, str] | None:
    if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact) and iban.is_valid(compact):
        return "iban", IBAN_MASK
    if re.fullmatch(r"[1-478]\d{4}(?:\d{2}|2[AB])\d{6}\d{2}", compact) and nir.is_valid(compact):
        return "nir", NIR_MASK
    if compact.isdigit() and _is_card(compact, _label_before(text, start)):
        return "card", CARD_MASK
    return None


def _is_card(digits: str, label: str | None) -> bool:
    """A payment card number: a known issuer prefix, its length, a valid Luhn checksum, not a reference number."""
    if label in _REFERENCE_LABELS or not luhn.is_valid(digits):
        return False
    if len(digits) == 14 and siret.is_valid(digits) and label not in _CARD_LABELS:
        return False
    lengths = {
        "4": {13, 16, 19},  # Visa
        "5": {16},  # Mastercard (51-55), Maestro
        "2": {16},  # Mastercard 2-series
        "34": {15},  # American Express
        "37": {15},
        "6": {16, 19},  # Discover, Maestro, UnionPay
        "35": {16, 19},  # JCB
        "30": {14},  # Diners Club
        "36": {14},
        "38": {14},
    }
    for prefix in sorted(lengths, key=len, reverse=True):
        if digits.startswith(prefix):
            return len(digits) in lengths[prefix]
    return False


def _label_before(text: str, start: int) -> str | None:
    """The nearest card or reference label among the four words before a number, accents folded."""
    words = re.findall(r"[^\W\d_]+", fold(text[max(0, start - 60) : start]))[-4:]
    for word in reversed(words):
        if word in _CARD_LABELS or word in _REFERENCE_LABELS:
            return word
    return None


# --- Passwords and codes -----------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\S+")
_PASSWORD_LABEL = re.compile(r"\b(?:mots?\s*de\s*passe|mdp|mot2passe|password|passwd|pwd)\b", re.IGNORECASE)
_CODE_LABEL = re.compile(
    r"\b(?:code(?:\s*(?:pin|secret|confidentiel))?|pin|otp)\b(?!\s*(?:postal|promo|de\s*la\s*route|naf|ape|insee|"
    r"barre|source|couleur|civil|p[ée]nal|du\s*travail|de\s*la\s*sant[ée]|de\s*conduite))",
    re.IGNORECASE,
)
_INTRODUCERS = {":", "=", "est", "c'est", "cest", "c", "cé", "sera", "c'était", "etait", "était", "->", "=>", "c’est"}
_PLAIN_WORDS_TEXT = """
    a à au aux avec bien bon bonne ce ces cet cette comme comment correct correcte court courte dans de des déjà
    demandé differents différent différente difficile du écrit encore en erroné erronée est et expiré expirée
    faible faux fausse fort forte il incorrect incorrecte invalide je la le les long longue ma mauvais mauvaise mes
    mon n ne nul nulle obligatoire oublié oubliée où ou par pas perdu perdue plus pour quoi quel quelle qui refusé
    refusée sa sans se ses simple son sur toujours tous tout trop très tu un une valide vide bloqué bloquée changé
    changée modifié modifiée sécurisé sécurisée compliqué compliquée personnel personnelle secret secrète rien
    demande nouveau nouvelle ancien ancienne actuel actuelle provisoire temporaire reçu reçue envoyé envoyée
    marche fonctionne faut dois doit peux peut veux sais svp merci oui non ok accepté acceptée même pareil
"""
_PLAIN_WORDS = frozenset(fold(word) for word in _PLAIN_WORDS_TEXT.split())
"""French words that follow "mot de passe est…" in a question, never a secret."""
_WINDOW = 8
"""How many words after a password label may hold the introducer ("mot de passe pour le site de la caf est…")."""
_NAME_WORDS = 4
"""How many words after a password label may name the site before the secret ("mot de passe la poste X")."""
_FILLERS = frozenset({"toujours", "encore", "juste", "simplement", "actuellement", "maintenant", "normalement"})
"""Words between an introducer and the secret ("mon mdp c'est toujours Lucas2012")."""
_CODE_WINDOW = 10
"""How many words after a code label may come before its digits ("le code que la banque m'a envoyé c'est…")."""
_CODE_WORDS = re.compile(r"\d+ (?:chiffres|caract[eè]res|lettres)|\d[\d ]*\d|\d|\S+")
"""Words after a code label: "6 chiffres" is a word, a group of digits (spaces inside) may be the code."""
_OTHER_NUMBER_LABELS = frozenset(
    {"numero", "n°", "no", "tel", "telephone", "portable", "postal", "client", "dossier", "commande", "colis"}
    | _REFERENCE_LABELS
)
"""A word between a code label and digits that says the digits are something else."""


def _secret_spans(text: str) -> list[_Span]:
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
    spans: list[_Span] = []
    for label in _PASSWORD_LABEL.finditer(text):
        for span in (_password_after(text, tokens, label.end()), _password_before(text, tokens, label.start())):
            if span is not None:
                spans.append(span)
    for label in _CODE_LABEL.finditer(text):
        span = _code_after(text, label.end())
        if span is not None:
            spans.append(span)
    return _without_overlaps(spans)


def _password_after(text: str, tokens: list[tuple[int, int, str]], label_end: int) -> _Span | None:
    following = _tokens_after(text, tokens, label_end)
    if not following:
        return None
    # An explicit introducer within a few words: "mot de passe ameli c'est Soleil2024!", "mdp de la caf : chaton75".
    for index, (_start, _end, word) in enumerate(following[:_WINDOW]):
        introducer = _introducer(word)
        if introducer is None:
            continue
        if introducer:  # "mdp:secret" glued
            start = _start + len(word) - len(introducer)
            return _password_span(start, start + len(introducer.rstrip(".,;!?")), introducer)
        rest = [token for token in following[index + 1 :] if fold(token[2]) not in _FILLERS][:1]
        if rest:
            start, _end, secret = rest[0]
            trimmed = secret.rstrip(".,;?")
            if fold(trimmed).strip("«»\"'") in _PLAIN_WORDS:
                return None
            return _password_span(start, start + len(trimmed), trimmed)
        return None
    # No introducer: a word that looks like a secret shortly after the label ("mot de passe la poste Coucou2022").
    for start, _end, word in following[:_NAME_WORDS]:
        trimmed = word.rstrip(".,;")
        if _looks_like_secret(trimmed) and not _is_other_number(trimmed):
            return _password_span(start, start + len(trimmed), trimmed)
    return None


def _password_before(text: str, tokens: list[tuple[int, int, str]], label_start: int) -> _Span | None:
    """A secret typed before its label: "j'ai tapé 3X7pQ9zW comme mot de passe"."""
    before = [token for token in tokens if token[1] <= label_start][-2:]
    if len(before) == 2 and fold(before[1][2]) in {"comme", "en"}:
        start, _end, word = before[0]
        if _looks_like_secret(word) and not _is_other_number(word):
            return _password_span(start, start + len(word), word)
    return None


def _password_span(start: int, end: int, secret: str) -> _Span | None:
    return _Span(start, end, "password", PASSWORD_MASK) if len(secret) >= 3 else None


def _introducer(word: str) -> str | None:
    """None when `word` is not an introducer; "" when it is one; the glued secret for "mdp:secret"."""
    folded = word.lower().replace("’", "'")
    if folded in _INTRODUCERS or folded.rstrip(":") in _INTRODUCERS:
        return ""
    glued = re.match(r"^(?::|=)(.+)$", word)
    if glued:
        return glued[1]
    return None


def _code_after(text: str, label_end: int) -> _Span | None:
    """The digits of a code within a few words after its label: "le code reçu par sms est 482 913"."""
    window = text[label_end : label_end + 80]
    stop = re.search(r"[.?!;](?:\s|$)|\n\n", window)
    if stop:
        window = window[: stop.start()]
    for words_before, match in enumerate(_CODE_WORDS.finditer(window)):
        if words_before > _CODE_WINDOW:
            return None
        if fold(match.group(0)).strip(".,:;") in _OTHER_NUMBER_LABELS:
            return None
        value = match.group(0).strip()
        if value.replace(" ", "").isdigit():
            digits = value.replace(" ", "")
            if 4 <= len(digits) <= 8 and all(len(group) >= 2 for group in value.split()):
                return _Span(label_end + match.start(), label_end + match.start() + len(value), "code", CODE_MASK)
            return None
    return None


def _tokens_after(text: str, tokens: list[tuple[int, int, str]], position: int) -> list[tuple[int, int, str]]:
    following = [token for token in tokens if token[0] >= position]
    if tokens and any(start < position < end for start, end, _ in tokens):
        # The label ends inside a token ("mdp:secret"): keep the rest of that token.
        end = next(token[1] for token in tokens if token[0] < position < token[1])
        following.insert(0, (position, end, text[position:end]))
    cut = next((i for i, (_, _, word) in enumerate(following) if word in {".", "?", "!"}), len(following))
    return following[:cut]


def _looks_like_secret(word: str) -> bool:
    """A word that is not plain French: it has a digit, a symbol, or a capital letter after the first."""
    return len(word) >= 3 and bool(re.search(r"\d|[^\w'’-]|\w[A-Z]", word))


def _is_other_number(word: str) -> bool:
    """A date, an amount or a phone number right after the label is not the password."""
    return bool(re.fullmatch(r"[\d/.:,€h-]+", word))


# --- Helpers -----------------------------------------------------------------------------------------------------


def _overlap(a: _Span, b: _Span) -> bool:
    return a.start < b.end and b.start < a.end


def _without_overlaps(spans: list[_Span]) -> list[_Span]:
    kept: list[_Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if not any(_overlap(span, other) for other in kept):
            kept.append(span)
    return kept


WARNING_TEXT = (
    "Attention : votre message contenait une donnée sensible ({what}). Je l'ai masquée. "
    "Ne donnez jamais ce type d'information dans une conversation : personne de sérieux ne vous la demandera ici."
)
_KIND_NAMES = {
    "nir": "numéro de sécurité sociale",
    "iban": "coordonnées bancaires",
    "card": "numéro de carte bancaire",
    "password": "mot de passe",
    "code": "code secret",
}


def warning_for(kinds: frozenset[str]) -> str:
    """The French warning shown to a user who sent sensitive data."""
    what = ", ".join(_KIND_NAMES[kind] for kind in sorted(kinds))
    return WARNING_TEXT.format(what=what)


_EMAIL = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_PHONE = re.compile(r"(?<![\d+])((?:\+33[\s.-]?|0)[1-9])((?:[\s.-]?\d{2}){3})([\s.-]?\d{2})(?!\d)")


def mask_contacts(text: str) -> str:
    """For a conseiller's summary: e-mail addresses and phone numbers partly masked (« j***@gmail.com »,
    « 06 ** ** ** 78 »), enough to recognise them with the person, not to use them."""
    text = _EMAIL.sub(lambda m: f"{m[1]}***@{m[2]}", text)
    return _PHONE.sub(lambda m: m[1] + re.sub(r"\d", "*", m[2]) + m[3], text)
