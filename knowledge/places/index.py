"""Nearest places, in process: a k-d tree (scipy cKDTree) on unit vectors, built once from the database.

Chord distances on the unit sphere order points exactly as great-circle distances do, so the tree's k nearest are
the k nearest on Earth; distances are converted back to kilometres (haversine-exact)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.db import Database
from knowledge.models import Place
from knowledge.places.catalogue import split_values

EARTH_RADIUS_KM = 6371.0088
RECHECK_SECONDS = 30.0
NO_PUBLIC = "Ce lieu n'accueille pas de public"
"""A place of the standard that receives no public (a coordination office) is never offered to citizens."""


@dataclass(frozen=True)
class IndexedPlace:
    id: int
    source_id: str
    nom: str
    commune: str
    code_postal: str | None
    latitude: float
    longitude: float
    services: tuple[str, ...]
    horaires: str


@dataclass(frozen=True)
class Nearby:
    place: IndexedPlace
    distance_km: float


def _unit_vectors(latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(latitudes), np.radians(longitudes)
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def chord_to_km(chord: float) -> float:
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, chord / 2))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class PlaceIndex:
    """An immutable snapshot of the active places, queried by distance."""

    def __init__(self, places: list[IndexedPlace], signature: tuple[object, ...] = ()) -> None:
        self.places = places
        self.signature = signature
        self._trees: dict[str | None, tuple[cKDTree, np.ndarray]] = {}
        if places:
            points = _unit_vectors(
                np.fromiter((p.latitude for p in places), float, len(places)),
                np.fromiter((p.longitude for p in places), float, len(places)),
            )
            self._trees[None] = (cKDTree(points), np.arange(len(places)))
            # One tree per service: a filtered search is as fast as a plain one.
            for service in {s for p in places for s in p.services}:
                positions = np.array([i for i, p in enumerate(places) if service in p.services])
                self._trees[service] = (cKDTree(points[positions]), positions)

    def __len__(self) -> int:
        return len(self.places)

    @classmethod
    def build(cls, session: Session) -> PlaceIndex:
        rows = session.execute(
            select(
                Place.id,
                Place.source_id,
                Place.nom,
                Place.commune,
                Place.code_postal,
                Place.latitude,
                Place.longitude,
                Place.services,
                Place.fields["horaires"].as_string(),
                Place.fields["modalites_acces"].as_string(),
            )
            .where(Place.retired_at.is_(None))
            .order_by(Place.id)
        )
        places = [
            IndexedPlace(id_, sid, nom, commune, cp, lat, lon, tuple(split_values(services)), horaires or "")
            for id_, sid, nom, commune, cp, lat, lon, services, horaires, access in rows
            if NO_PUBLIC not in (access or "")
        ]
        return cls(places, signature(session))

    def nearest(
        self,
        latitude: float,
        longitude: float,
        *,
        limit: int = 3,
        offset: int = 0,
        service: str | None = None,
        max_km: float | None = None,
    ) -> list[Nearby]:
        """The places nearest to a point, nearest first, optionally offering `service`, within `max_km`."""
        tree = self._trees.get(service)
        if tree is None or limit <= 0:
            return []
        kdtree, positions = tree
        wanted = min(offset + limit, len(positions))
        if wanted <= offset:
            return []
        point = _unit_vectors(np.array([latitude]), np.array([longitude]))[0]
        distances, indices = kdtree.query(point, k=wanted)
        found = []
        for chord, index in zip(np.atleast_1d(distances)[offset:], np.atleast_1d(indices)[offset:], strict=True):
            km = chord_to_km(float(chord))
            if max_km is not None and km > max_km:
                break
            found.append(Nearby(self.places[int(positions[int(index)])], km))
        return found


def signature(session: Session) -> tuple[object, ...]:
    """Changes whenever an import adds, updates or retires places."""
    count, latest = session.execute(select(func.count(Place.id), func.max(Place.updated_at))).one()
    return (count, latest)


class IndexCache:
    """One index per process, rebuilt when the places change (checked at most every RECHECK_SECONDS)."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.clock = clock
        self._index: PlaceIndex | None = None
        self._checked = -math.inf
        self._lock = threading.Lock()

    def get(self) -> PlaceIndex:
        with self._lock:
            now = self.clock()
            if self._index is None or now - self._checked >= RECHECK_SECONDS:
                with self.database.session() as session:
                    if self._index is None or signature(session) != self._index.signature:
                        self._index = PlaceIndex.build(session)
                self._checked = now
            return self._index
