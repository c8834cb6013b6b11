"""`passerelle places …` and `passerelle ateliers …`: thin commands over knowledge/, English for the operator."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from bot.settings import Settings
from knowledge.ateliers.signups import import_ateliers_from
from knowledge.ateliers.sources import AtelierSourceError
from knowledge.db import Database
from knowledge.loans.inventory import DEMO_KITS, import_inventory_from
from knowledge.migrate import upgrade
from knowledge.models import Kit
from knowledge.places.catalogue import DEMO_ATELIERS, DEMO_PLACES, import_places_from, place_count
from knowledge.places.communes import communes
from knowledge.places.index import PlaceIndex
from knowledge.places.search import as_contract, service_named
from knowledge.sources import Rejected, SourceError
from knowledge.staff import StaffError

log = logging.getLogger(__name__)


def _error(message: str) -> int:
    print(f"passerelle: {message}", file=sys.stderr)
    return 1


def _progress(rows: list[object]) -> tqdm:
    return tqdm(rows, desc="places", unit=" rows", file=sys.stderr, disable=None, mininterval=0.5)


class _Report(Protocol):
    rejected: Sequence[Rejected]

    def summary(self) -> str: ...


def _import(settings: Settings, location: str, run: Callable[[Database, datetime], _Report]) -> int:
    """Migrate, import in one transaction, print one line per rejected row and the counts."""
    upgrade(settings.database_url)
    database = Database(settings.database_url)
    try:
        report = run(database, datetime.now(UTC))
    except (SourceError, AtelierSourceError, StaffError) as error:
        return _error(f"{error}; nothing was imported")
    except SQLAlchemyError as error:
        return _error(f"database error, nothing was imported: {error.__class__.__name__}: {error}")
    finally:
        database.dispose()
    for rejected in report.rejected:
        ident = f" (id {rejected.source_id})" if rejected.source_id else ""
        print(f"rejected {rejected.where}{ident}: {rejected.reason}")
    print(f"{location}: {report.summary()}")
    return 0


def import_places(settings: Settings, location: str, *, full: bool) -> int:
    return _import(
        settings, location, lambda db, now: import_places_from(db, location, now, full=full, progress=_progress)
    )


def import_ateliers(
    settings: Settings, location: str, *, place: str | None, capacity: int, conseiller: int | None = None
) -> int:
    if capacity < 1:
        return _error("--capacity must be at least 1")
    return _import(
        settings,
        location,
        lambda db, now: import_ateliers_from(
            db, location, now, default_place=place, default_capacity=capacity, runner_user_id=conseiller
        ),
    )


def near(settings: Settings, args: argparse.Namespace) -> int:
    if args.limit < 1:
        return _error("--limit must be at least 1")
    service = None
    if args.service:
        service = service_named(args.service)
        if service is None:
            return _error(f"unknown service {args.service!r}: use a service of the national standard")
    if args.lat is not None:
        resolution = communes().locate(args.lat, args.lon)
    elif args.postcode is not None:
        resolution = communes().resolve(args.postcode)
    else:
        resolution = communes().resolve(args.commune)
    if resolution.status == "ambiguous":
        names = ", ".join(f"{c.label} [{c.insee}]" for c in resolution.candidates)
        return _error(f"ambiguous commune, one of: {names}")
    if resolution.place is None:
        return _error(f"cannot place this ({resolution.reason})")
    latitude, longitude = (args.lat, args.lon) if args.lat is not None else (resolution.place.lat, resolution.place.lon)
    upgrade(settings.database_url)
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            index = PlaceIndex.build(session)
    finally:
        database.dispose()
    found = index.nearest(latitude, longitude, limit=args.limit, service=service)
    print(json.dumps(as_contract(found, datetime.now(UTC)), ensure_ascii=False, indent=2))
    return 0


def ensure_places(settings: Settings) -> None:
    """At start-up, a database without places gets PLACES_SOURCE, or else the demo data (clearly marked demo),
    and the ateliers of their sources."""
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            if place_count(session):
                return
        refresh(settings, database, places_source=settings.places_source or str(DEMO_PLACES))
    except SQLAlchemyError as error:
        log.error("Could not load places at start-up (%s); place search will find nothing until an import", error)
    finally:
        database.dispose()


def import_kits(settings: Settings, location: str) -> int:
    return _import(settings, location, lambda db, now: import_inventory_from(db, location, now))


def ensure_kits(settings: Settings) -> None:
    """At start-up, a database without kits gets KITS_SOURCE, or else the demo inventory (a fictional lender)."""
    database = Database(settings.database_url)
    source = settings.kits_source or str(DEMO_KITS)
    try:
        with database.session() as session:
            if session.scalars(select(Kit.id).limit(1)).first() is not None:
                return
        report = import_inventory_from(database, source, datetime.now(UTC))
        log.info("Kits imported from %s: %s", source, report.summary())
    except (SourceError, SQLAlchemyError) as error:
        log.error("Kits from %s not loaded at start-up (%s); no loan is possible until an import", source, error)
    finally:
        database.dispose()


def nightly_imports(settings: Settings, database: Database) -> None:
    """Every night: PLACES_SOURCE again (--full), and the ateliers' sources (their recurring events move on)."""
    refresh(settings, database, places_source=settings.places_source)


def refresh(settings: Settings, database: Database, *, places_source: str | None) -> None:
    """Import the places (--full) then the ateliers: ATELIERS_SOURCES, or the demo feed when no real places are
    configured. Each failure is logged and keeps the current data."""
    now = datetime.now(UTC)
    if places_source:
        try:
            report = import_places_from(database, places_source, now, full=True)
            log.info("Places imported from %s: %s", places_source, report.summary())
        except (SourceError, SQLAlchemyError) as error:
            log.error("Places import from %s failed, current data kept: %s", places_source, error)
    for source in settings.atelier_source_list or ([] if settings.places_source else [str(DEMO_ATELIERS)]):
        try:
            ateliers = import_ateliers_from(database, source, now)
            log.info("Ateliers imported from %s: %s", source, ateliers.summary())
        except (SourceError, AtelierSourceError, SQLAlchemyError) as error:
            log.error("Ateliers import from %s failed, current data kept: %s", source, error)
