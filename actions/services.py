"""What the actions share: the settings and the database, opened once per action-server process."""

from __future__ import annotations

from functools import cache

from knowledge.db import Database
from knowledge.settings import DataSettings


@cache
def settings() -> DataSettings:
    return DataSettings()


@cache
def database() -> Database:
    return Database(settings().database_url)
