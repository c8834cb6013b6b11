"""Shared fixtures: a database URL for each backend (SQLite file and a throwaway PostgreSQL server)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.db import Database
from knowledge.migrate import upgrade
from tests.postgres import ThrowawayPostgres, find_bin_dir

_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        if os.environ.get("PASSERELLE_SKIP_POSTGRES") == "1":
            pytest.skip("PostgreSQL binaries not installed and PASSERELLE_SKIP_POSTGRES=1")
        pytest.fail("PostgreSQL binaries not found: run scripts/ensure-services.sh (make test does)")
    server = ThrowawayPostgres(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'passerelle.db'}"
    server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
    return server.create_database(f"test_{os.getpid()}_{next(_counter)}")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    upgrade(database_url)
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def network(database: Database) -> Database:
    """A lending network on each backend (tests/loan_network.py)."""
    from tests.loan_network import build_network

    return build_network(database)
