"""The knowledge base of fiches: Markdown files with YAML front matter, one per topic.

A fiche lives in `knowledge/fiches/<id>.md`; the questions people ask about it, used to train the
assistant, live next to it in `knowledge/fiches/<id>.questions.txt` (one per line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import yaml

FICHES_DIR = Path(__file__).resolve().parent / "fiches"
SHORT_ANSWER_MAX = 600
FAQ_INTENT_PREFIX = "faq_"
TOPICS_FILE = Path(__file__).resolve().parent / "topics.yml"
OFFICIAL_DOMAINS = (
    # Administrations and public bodies (every *.gouv.fr site), and the public services' own sites.
    "gouv.fr",
    "service-public.fr",
    "ameli.fr",
    "caf.fr",
    "msa.fr",
    "francetravail.fr",
    "info-retraite.fr",
    "lassuranceretraite.fr",
    "agirc-arrco.fr",
    "monespacesante.fr",
    "sante.fr",
    "applicartevitale.fr",
    "cnil.fr",
    "arcep.fr",
    "33700.fr",
    "pix.fr",
    "laposte.fr",
    "e-enfance.org",
    "solidarite-numerique.fr",
    "lesbonsclics.fr",
    "emmaus-connect.org",
    "inc-conso.fr",
    "senat.fr",
    "assemblee-nationale.fr",
    "ccomptes.fr",
    "cramif.fr",
    "europa.eu",
    # The makers' own help pages, for how their products work.
    "support.google.com",
    "support.apple.com",
    "support.microsoft.com",
    "faq.whatsapp.com",
    "support.zoom.com",
    "android.com",
    "laposte.net",
    "index-education.com",
    # Other public bodies.
    "banque-france.fr",
    "gendinfo.fr",
    "ameli-cpam21.fr",
    "mon-ent-occitanie.fr",
    "3114.fr",  # the national suicide prevention line's own site
    "1000-premiers-jours.fr",  # Ministry of Health
    "iedom.fr",  # Institut d'émission des départements d'outre-mer, a public body of the Banque de France group
)
"""Sites a fiche may link to or cite: official, public bodies, recognised public-interest resources."""
_ACADEMY = re.compile(r"(^|\.)ac-[a-z-]+\.fr$")
"""The rectorats and schools of the Éducation nationale: ac-<académie>.fr and its subdomains."""
_SECTIONS = {
    "En bref": "short_answer",
    "Étapes": "steps",
    "À préparer": "prepare",
    "Pièges à éviter": "pitfalls",
}
_FRONT_MATTER = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*\n(?P<body>.*)\Z", re.DOTALL)
_ID = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class FicheError(ValueError):
    """A fiche file that cannot be used, with the file and the reason."""


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Source:
    fact: str
    url: str


@dataclass(frozen=True)
class Fiche:
    id: str
    title: str
    summary: str
    reviewed: date
    links: tuple[Link, ...]
    sources: tuple[Source, ...]
    short_answer: str
    steps: tuple[str, ...]
    prepare: tuple[str, ...]
    pitfalls: tuple[str, ...]
    questions: tuple[str, ...]


def parse_fiche(path: Path) -> Fiche:
    """Read and check one fiche and its questions file."""
    match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    if not match:
        raise FicheError(f"{path}: no YAML front matter between '---' lines")
    try:
        meta = yaml.safe_load(match["meta"]) or {}
    except yaml.YAMLError as error:
        raise FicheError(f"{path}: invalid front matter: {error}") from error
    for key in ("id", "title", "summary", "reviewed", "links"):
        if not meta.get(key):
            raise FicheError(f"{path}: front matter has no {key!r}")
    fiche_id = str(meta["id"])
    if not _ID.match(fiche_id) or path.name != f"{fiche_id}.md":
        raise FicheError(f"{path}: id {fiche_id!r} must be lower_snake_case and match the file name")
    if not isinstance(meta["reviewed"], date):
        raise FicheError(f"{path}: 'reviewed' must be a date (YYYY-MM-DD)")
    sections = _sections(path, match["body"])
    short_answer = " ".join(sections["short_answer"]).strip()
    if len(short_answer) > SHORT_ANSWER_MAX:
        raise FicheError(f"{path}: 'En bref' has {len(short_answer)} characters, over {SHORT_ANSWER_MAX}")
    links = tuple(_link(path, item) for item in meta["links"])
    sources = tuple(_source(path, item) for item in meta.get("sources") or ())
    return Fiche(
        id=fiche_id,
        title=str(meta["title"]).strip(),
        summary=str(meta["summary"]).strip(),
        reviewed=meta["reviewed"],
        links=links,
        sources=sources,
        short_answer=short_answer,
        steps=_list_items(sections["steps"]),
        prepare=_list_items(sections["prepare"]),
        pitfalls=_list_items(sections["pitfalls"]),
        questions=read_questions(path.with_suffix(".questions.txt")),
    )


def read_questions(path: Path) -> tuple[str, ...]:
    """The training questions of a fiche: one per non-blank line; none when the file is missing."""
    if not path.exists():
        return ()
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(line for line in lines if line)


@cache
def load_fiches(directory: Path = FICHES_DIR) -> dict[str, Fiche]:
    """All fiches of a folder, by id (cached: the content changes only with a new release)."""
    fiches = [parse_fiche(path) for path in sorted(directory.glob("*.md")) if path.name != "README.md"]
    return {fiche.id: fiche for fiche in fiches}


def faq_intent(topic: str) -> str:
    """The NLU intent of a fiche's questions."""
    return f"{FAQ_INTENT_PREFIX}{topic}"


def topic_of_intent(intent: str | None) -> str | None:
    """The fiche id behind a faq_<id> intent; None for other intents."""
    if intent and intent.startswith(FAQ_INTENT_PREFIX) and len(intent) > len(FAQ_INTENT_PREFIX):
        return intent[len(FAQ_INTENT_PREFIX) :]
    return None


def get_fiche(topic: str, directory: Path = FICHES_DIR) -> Fiche | None:
    return load_fiches(directory).get(topic)


def _sections(path: Path, body: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in body.splitlines():
        heading = re.match(r"^##\s+(.+?)\s*$", line)
        if heading:
            title = heading[1]
            if title not in _SECTIONS:
                raise FicheError(f"{path}: unknown section {title!r}; expected {', '.join(_SECTIONS)}")
            current = _SECTIONS[title]
            found[current] = []
        elif current is not None and line.strip():
            found[current].append(line.strip())
    missing = [title for title, key in _SECTIONS.items() if not found.get(key)]
    if missing:
        raise FicheError(f"{path}: missing or empty section(s): {', '.join(missing)}")
    return found


def _list_items(lines: list[str]) -> tuple[str, ...]:
    return tuple(re.sub(r"^(\d+[.)]|[-*])\s+", "", line) for line in lines)


def is_official(url: str) -> bool:
    """Whether a URL is on an official or recognised site (see OFFICIAL_DOMAINS)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return bool(_ACADEMY.search(host)) or any(host == d or host.endswith(f".{d}") for d in OFFICIAL_DOMAINS)


def load_topics(path: Path = TOPICS_FILE) -> dict[str, str]:
    """The topic ids of the contract (knowledge/topics.yml, derived from the shared spec) and their scope."""
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))["faq_topics"])


def _link(path: Path, item: object) -> Link:
    if not isinstance(item, dict) or not item.get("label") or not item.get("url"):
        raise FicheError(f"{path}: each link needs a 'label' and a 'url'")
    url = str(item["url"])
    if not url.startswith("https://"):
        raise FicheError(f"{path}: link {url!r} is not https")
    if not is_official(url):
        raise FicheError(f"{path}: link {url!r} is not an official site (see OFFICIAL_DOMAINS in knowledge/fiches.py)")
    return Link(str(item["label"]), url)


def _source(path: Path, item: object) -> Source:
    if not isinstance(item, dict) or not item.get("fact") or not item.get("url"):
        raise FicheError(f"{path}: each source needs a 'fact' and a 'url'")
    return Source(str(item["fact"]), str(item["url"]))


def answer_text(fiche: Fiche) -> str:
    """The first answer: the title, then the short answer."""
    return f"{fiche.title}\n\n{fiche.short_answer}"


def steps_text(fiche: Fiche) -> str:
    """The detailed answer: numbered steps, what to prepare, pitfalls."""
    steps = "\n".join(f"{number}. {step}" for number, step in enumerate(fiche.steps, start=1))
    prepare = "\n".join(f"• {item}" for item in fiche.prepare)
    pitfalls = "\n".join(f"• {item}" for item in fiche.pitfalls)
    return f"Les étapes :\n{steps}\n\nÀ préparer :\n{prepare}\n\nPièges à éviter :\n{pitfalls}"


def links_text(fiche: Fiche) -> str:
    """The official links of a fiche, one per line."""
    lines = "\n".join(f"• {link.label} : {link.url}" for link in fiche.links)
    return f"Lien officiel :\n{lines}" if len(fiche.links) == 1 else f"Liens officiels :\n{lines}"
