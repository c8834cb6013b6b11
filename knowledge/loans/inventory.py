"""The lender's inventory from a YAML file (`passerelle kits import`): the lender (site, opening hours, rules), its
member structures with the dates of their convention, and its kits with their contents checklist.

Idempotent: kits by their `id`, members by structure name; a second import of the same file changes nothing. A kit
that is wrong (no id, no name, an empty checklist, an unknown condition) is rejected with its reason and the rest
goes on; a file that cannot be read, or a lender without a site or valid opening hours, changes nothing. A kit's
condition comes from the file when the kit is created, or when the file retires it; otherwise the chat owns it (a
breakdown reported, a kit checked).

    lender:
      name: Département de la Manche
      structure: Département de la Manche, inclusion numérique   # its coordinateurs decide
      site: Maison du Département, 98 route de Candol, 50000 Saint-Lô
      hours: "Mo-Fr 09:00-12:00,14:00-17:00"
      max_days: 30          # optional, 30 by default
      buffer_days: 1        # optional
      slot_minutes: 30      # optional
    members:
      - structure: EPN de Saint-Lô
        from: 2025-01-01
        to: 2027-12-31
    kits:
      - id: casques-vr
        name: Kit casques de réalité virtuelle
        description: Six casques autonomes pour des ateliers de découverte.
        checklist: [6 casques, 6 paires de manettes, 1 chargeur multiple, 1 valise]
        aliases: [casque, vr, réalité virtuelle, oculus]   # optional: words that name it in a request
        photo: https://…     # optional
        condition: ok        # ok, en_panne, a_verifier or retire
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.db import Database
from knowledge.models import Kit, Lender, Membership
from knowledge.places.hours import parse_hours
from knowledge.sources import Rejected, SourceError, decode_utf8, read_source
from knowledge.staff import structure_named

DEMO_KITS = Path(__file__).resolve().parent.parent / "data" / "kits_demo.yml"
CONDITIONS = {"ok": "disponible", "en_panne": "en panne", "a_verifier": "à vérifier", "retire": "retiré"}
MAX_ITEMS = 40


@dataclass
class InventoryReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    members: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.added} kits added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected; {self.members} member structures"
        )
        return text + ("" if self.added or self.updated else ": nothing changed")


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _int(value: Any, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SourceError(f"lender {name} must be a whole number from {low} to {high}, not {value!r}")
    return value


def _day(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SourceError(f"{where}: {value!r} is not a date (write 2025-01-31)") from None


def _lender(session: Session, raw: Any, now: datetime) -> Lender:
    if not isinstance(raw, dict):
        raise SourceError("the file has no `lender:` section")
    name, site, hours = _text(raw.get("name")), _text(raw.get("site")), _text(raw.get("hours"))
    if not name or not site:
        raise SourceError("the lender needs a name and a site (the address where kits are picked up)")
    if not hours or parse_hours(hours) is None:
        raise SourceError(f"the lender's hours {hours!r} are not valid OpenStreetMap opening_hours")
    structure = structure_named(session, _text(raw.get("structure")) or name, now)
    lender = session.scalars(select(Lender).where(Lender.name == name[:255])).first()
    if lender is None:
        lender = Lender(name=name[:255], structure_id=structure.id, site=site, hours=hours[:500])
        session.add(lender)
    lender.structure_id, lender.site, lender.hours = structure.id, site, hours[:500]
    lender.max_days = _int(raw.get("max_days"), "max_days", 30, 1, 365)
    lender.buffer_days = _int(raw.get("buffer_days"), "buffer_days", 1, 0, 30)
    lender.slot_minutes = _int(raw.get("slot_minutes"), "slot_minutes", 30, 5, 240)
    session.flush()
    return lender


def _members(session: Session, lender: Lender, raw: Any, now: datetime) -> int:
    if raw is None:
        return 0
    if not isinstance(raw, list):
        raise SourceError("`members:` must be a list")
    for index, entry in enumerate(raw, start=1):
        where = f"member {index}"
        if not isinstance(entry, dict) or not _text(entry.get("structure")):
            raise SourceError(f"{where}: needs a structure name")
        starts, ends = _day(entry.get("from"), where), _day(entry.get("to"), where)
        if ends < starts:
            raise SourceError(f"{where}: its convention ends before it starts")
        structure = structure_named(session, _text(entry["structure"]), now)
        membership = session.scalars(
            select(Membership).where(Membership.lender_id == lender.id, Membership.structure_id == structure.id)
        ).first()
        if membership is None:
            membership = Membership(lender_id=lender.id, structure_id=structure.id, starts_on=starts, ends_on=ends)
            session.add(membership)
        membership.starts_on, membership.ends_on = starts, ends
    session.flush()
    return len(raw)


def _kit_values(entry: Any, index: int) -> tuple[str, dict[str, Any]] | Rejected:
    where = f"kit {index}"
    if not isinstance(entry, dict):
        return Rejected(where, "not a mapping of fields")
    code = _text(entry.get("id"))
    if not code:
        return Rejected(where, "no id")
    checklist = entry.get("checklist")
    if not isinstance(checklist, list) or not [i for i in checklist if _text(i)]:
        return Rejected(where, "no checklist (the list of what the kit holds)", code)
    condition = _text(entry.get("condition")) or "ok"
    if condition not in CONDITIONS:
        return Rejected(where, f"unknown condition {condition!r} (one of {', '.join(CONDITIONS)})", code)
    name = _text(entry.get("name"))
    if not name:
        return Rejected(where, "no name", code)
    values = {
        "name": name[:255],
        "description": _text(entry.get("description")),
        "checklist": [_text(i)[:255] for i in checklist if _text(i)][:MAX_ITEMS],
        "photo": _text(entry.get("photo"))[:500] or None,
        "aliases": [_text(a)[:64] for a in entry.get("aliases") or [] if _text(a)][:MAX_ITEMS],
    }
    return code[:64], values | {"condition": condition}


def import_inventory(session: Session, data: Any, now: datetime) -> InventoryReport:
    if not isinstance(data, dict):
        raise SourceError("the inventory must be a YAML mapping with `lender:`, `members:` and `kits:`")
    report = InventoryReport()
    lender = _lender(session, data.get("lender"), now)
    report.members = _members(session, lender, data.get("members"), now)
    kits = data.get("kits") or []
    if not isinstance(kits, list):
        raise SourceError("`kits:` must be a list")
    seen: set[str] = set()
    for index, entry in enumerate(kits, start=1):
        parsed = _kit_values(entry, index)
        if isinstance(parsed, Rejected):
            report.rejected.append(parsed)
            continue
        code, values = parsed
        condition = values.pop("condition")
        if code in seen:
            report.rejected.append(Rejected(f"kit {index}", "duplicate id", code))
            continue
        seen.add(code)
        content_hash = hashlib.sha256(json.dumps([lender.id, values], ensure_ascii=False).encode()).hexdigest()
        kit = session.scalars(select(Kit).where(Kit.code == code)).first()
        if kit is None:
            kit = Kit(code=code, lender_id=lender.id, condition=condition, content_hash=content_hash, updated_at=now)
            session.add(kit)
            for name, value in values.items():
                setattr(kit, name, value)
            report.added += 1
            continue
        changed = False
        if condition == "retire" and kit.condition != "retire":  # the file retires a kit; other changes come by chat
            kit.condition, changed = "retire", True
        if kit.content_hash != content_hash:
            for name, value in values.items():
                setattr(kit, name, value)
            kit.lender_id, kit.content_hash, changed = lender.id, content_hash, True
        if changed:
            kit.updated_at = now
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    return report


def import_inventory_from(database: Database, location: str, now: datetime) -> InventoryReport:
    """Read a YAML file or URL and import it in one transaction (nothing changes if it cannot be read)."""
    text = decode_utf8(read_source(location), location.rsplit("/", 1)[-1])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SourceError(f"{location} is not valid YAML: {error}") from None
    with database.session() as session:
        return import_inventory(session, data, now)
