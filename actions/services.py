"""What the actions share: the database, opened once per action-server process."""

from __future__ import annotations

import logging
from functools import cache

from knowledge.db import Database
from knowledge.settings import DataSettings

log = logging.getLogger(__name__)


@cache
def database() -> Database:
    return Database(DataSettings().database_url)
