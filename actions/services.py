"""What the actions share: the database, opened once per action-server process."""

from __future__ import annotations

from functools import cache

from knowledge.db import Database
from knowledge.settings import DataSettings


@cache
def database() -> Database:
    return Database(DataSettings().database_url)
