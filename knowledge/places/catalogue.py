"""Places of digital help from the national open data: import (idempotent by `id`), retirement, and lookup.

The file follows the « standard des lieux de médiation numérique » (fields and allowed values derived into
knowledge/data/places_standard.json by scripts/derive_places_standard.py). CSV (`,` or `;`) or JSON; multi-valued
cells are `|`-separated and kept so. A bad row is rejected with its reason and never stops the import; the whole
import is one transaction, so a file that cannot be read leaves the data as it was.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from knowledge.db import Database
from knowledge.models import Place
from knowledge.places.communes import CommuneIndex, communes
from knowledge.sources import Rejected, SourceError, decode_utf8, read_source

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
STANDARD_PATH = DATA_DIR / "places_standard.json"
DEMO_PLACES = DATA_DIR / "places_demo.csv"
DEMO_ATELIERS = DATA_DIR / "ateliers_demo.ics"
MULTI_SEPARATOR = "|"
BATCH = 1000


@dataclass(frozen=True)
class Standard:
    fields: tuple[str, ...]
    required: tuple[str, ...]
    patterns: dict[str, str]
    choices: dict[str, tuple[str, ...]]


@cache
def standard() -> Standard:
    raw = json.loads(STANDARD_PATH.read_text(encoding="utf-8"))
    return Standard(
        fields=tuple(raw["fields"]),
        required=tuple(raw["required"]),
        patterns=dict(raw["patterns"]),
        choices={name: tuple(values) for name, values in raw["choices"].items()},
    )


def services_catalogue() -> tuple[str, ...]:
    """The standard's services, in its order."""
    return standard().choices["services"]


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    approximate: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.retired)

    def summary(self) -> str:
        text = (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected, {self.retired} retired"
        )
        if self.approximate:
            text += f" ({self.approximate} placed at their commune's centre)"
        return text + ("" if self.changed else ": nothing changed")


@dataclass(frozen=True)
class CleanRow:
    source_id: str
    fields: dict[str, str]
    latitude: float
    longitude: float
    approximate: bool

    def content_hash(self) -> str:
        payload = json.dumps(
            [self.fields, round(self.latitude, 7), round(self.longitude, 7), self.approximate],
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def read_rows(data: bytes, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, raw row) pairs from a CSV (`,` or `;`, detected) or JSON export. Raises SourceError if unreadable."""
    text = decode_utf8(data, name)
    stripped = text.lstrip()
    if name.lower().endswith(".json") or stripped.startswith(("[", "{")):
        yield from _json_rows(stripped, name)
    else:
        yield from _csv_rows(text, name)


def _json_rows(text: str, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceError(f"{name} is not valid JSON: {error}") from error
    if isinstance(document, dict):
        document = next((value for value in document.values() if isinstance(value, list)), None)
    if not isinstance(document, list):
        raise SourceError(f"{name}: expected a JSON list of places (or an object holding one)")
    for number, item in enumerate(document, start=1):
        yield f"item {number}", item if isinstance(item, dict) else {}


def _csv_rows(text: str, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if not reader.fieldnames or "id" not in [column.strip() for column in reader.fieldnames]:
        raise SourceError(f"{name}: no `id` column in the header; is it a file of the national standard?")
    try:
        for row in reader:
            yield f"line {reader.line_num}", {(key or "").strip(): value for key, value in row.items()}
    except csv.Error as error:
        raise SourceError(f"{name}: malformed CSV at line {reader.line_num}: {error}") from error


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(_text(item) for item in value if _text(item))
    return " ".join(str(value).split())


def _number(value: str) -> float | None:
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def clean_row(where: str, raw: dict[str, Any], index: CommuneIndex) -> CleanRow | Rejected:
    """Check one raw row: a place needs an id, a name, and coordinates or a commune to place it."""
    spec = standard()
    fields = {name: _text(raw.get(name)) for name in spec.fields}
    source_id = fields["id"]
    if not source_id:
        return Rejected(where, "no id")
    if not fields["nom"]:
        return Rejected(where, "no name", source_id)
    for name, allowed in spec.choices.items():
        if fields[name]:
            values = [value.strip() for value in fields[name].split(MULTI_SEPARATOR)]
            fields[name] = MULTI_SEPARATOR.join(value for value in values if value in allowed)
    latitude, longitude = _number(fields["latitude"]), _number(fields["longitude"])
    if latitude is not None and longitude is not None and index.locate(latitude, longitude).status == "found":
        return CleanRow(source_id, fields, latitude, longitude, approximate=False)
    centre = _commune_centre(fields, index)
    if centre is None:
        return Rejected(where, "no coordinates and no commune to place it", source_id)
    return CleanRow(source_id, fields, centre[0], centre[1], approximate=True)


def _commune_centre(fields: dict[str, str], index: CommuneIndex) -> tuple[float, float] | None:
    if fields["code_insee"] and (commune := index.by_insee(fields["code_insee"])) is not None:
        return commune.lat, commune.lon
    query = " ".join(part for part in (fields["commune"], fields["code_postal"]) if part)
    if not query:
        return None
    resolution = index.resolve(query)
    if resolution.status == "found" and resolution.place is not None:
        return resolution.place.lat, resolution.place.lon
    return None


def import_places(
    session: Session,
    rows: Iterable[tuple[str, dict[str, Any]]],
    now: datetime,
    *,
    full: bool = False,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> ImportReport:
    """Add, update or leave each place by its `id`; with `full`, retire the places absent from `rows`.

    Runs in the caller's transaction: an error leaves nothing half-imported."""
    index = communes()
    report = ImportReport()
    existing = {
        source_id: (place_id, content_hash, retired_at)
        for place_id, source_id, content_hash, retired_at in session.execute(
            select(Place.id, Place.source_id, Place.content_hash, Place.retired_at)
        )
    }
    seen: dict[str, str] = {}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for where, raw in progress(rows) if progress else rows:
        row = clean_row(where, raw, index)
        if isinstance(row, Rejected):
            report.rejected.append(row)
            continue
        if row.source_id in seen:
            report.rejected.append(Rejected(where, f"duplicate id (first at {seen[row.source_id]})", row.source_id))
            continue
        seen[row.source_id] = where
        report.approximate += row.approximate
        content_hash = row.content_hash()
        values = _values(row, content_hash, now)
        if row.source_id not in existing:
            inserts.append({**values, "imported_at": now})
            report.added += 1
        elif existing[row.source_id][1] != content_hash or existing[row.source_id][2] is not None:
            updates.append({**values, "id": existing[row.source_id][0], "retired_at": None})
            report.updated += 1
        else:
            report.unchanged += 1
    for start in range(0, len(inserts), BATCH):
        session.execute(insert(Place), inserts[start : start + BATCH])
    for start in range(0, len(updates), BATCH):
        session.execute(update(Place), updates[start : start + BATCH])
    if full:
        gone = [
            {"id": place_id, "retired_at": now, "updated_at": now}
            for source_id, (place_id, _hash, retired_at) in existing.items()
            if source_id not in seen and retired_at is None
        ]
        for start in range(0, len(gone), BATCH):
            session.execute(update(Place), gone[start : start + BATCH])
        report.retired = len(gone)
    return report


def _values(row: CleanRow, content_hash: str, now: datetime) -> dict[str, Any]:
    return {
        "source_id": row.source_id,
        "nom": row.fields["nom"][:500],
        "commune": row.fields["commune"][:255],
        "code_postal": row.fields["code_postal"][:10] or None,
        "code_insee": row.fields["code_insee"][:10] or None,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "approximate": row.approximate,
        "services": row.fields["services"],
        "fields": row.fields,
        "content_hash": content_hash,
        "updated_at": now,
    }


def split_values(value: str | None) -> list[str]:
    """A multi-valued cell as a list."""
    return [item.strip() for item in (value or "").split(MULTI_SEPARATOR) if item.strip()]


def active_places(session: Session, source_ids: Iterable[str]) -> dict[str, Place]:
    """Places by national id, retired ones left out."""
    ids = list(source_ids)
    if not ids:
        return {}
    query = select(Place).where(Place.source_id.in_(ids), Place.retired_at.is_(None))
    return {place.source_id: place for place in session.scalars(query)}


def place_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Place).where(Place.retired_at.is_(None))) or 0


def import_places_from(
    database: Database,
    location: str,
    now: datetime,
    *,
    full: bool = False,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> ImportReport:
    """Read a file or URL and import it in one transaction. SourceError when it cannot be read (nothing changed)."""
    data = read_source(location)
    name = location.rsplit("/", 1)[-1]
    rows = list(read_rows(data, name))  # read everything first: an unreadable file changes nothing
    if not rows:
        raise SourceError(f"{location} holds no place")
    with database.session() as session:
        return import_places(session, rows, now, full=full, progress=progress)


def postal_address(place: Place, *, with_name: bool = False) -> str:
    """'Maison des services, 12 rue X, 50000 Saint-Lô': what a citizen needs to go there."""
    fields = place.fields
    town = f"{place.code_postal or ''} {place.commune}".strip()
    parts = (place.nom if with_name else None, fields.get("adresse"), fields.get("complement_adresse"), town)
    return ", ".join(part for part in parts if part)
