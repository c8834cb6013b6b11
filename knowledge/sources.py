"""Read an import source, a local file or an URL, as bytes, with clear English errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

MAX_SOURCE_BYTES = 200 * 1024 * 1024
DOWNLOAD_TIMEOUT = 60.0


@dataclass(frozen=True)
class Rejected:
    """A row of an import left out, and why (English, for the operator). The rest of the import goes on."""

    where: str  # "line 4", "entry 2 (id=abc)", "event abc@x at 2026-09-08 14:00"
    reason: str  # "no start date", "duplicate id (first at line 2)"
    source_id: str | None = None


class SourceError(Exception):
    """The source could not be read at all: nothing was imported."""


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def read_source(location: str, *, timeout: float = DOWNLOAD_TIMEOUT) -> bytes:
    """The bytes of a file path or an http(s) URL."""
    if is_url(location):
        try:
            with httpx.Client(timeout=timeout, follow_redirects=True) as client:
                response = client.get(location)
        except httpx.HTTPError as error:
            raise SourceError(f"cannot download {location}: {error.__class__.__name__}: {error}") from error
        if response.status_code != 200:
            raise SourceError(f"cannot download {location}: HTTP {response.status_code}")
        if len(response.content) > MAX_SOURCE_BYTES:
            raise SourceError(f"{location} is larger than {MAX_SOURCE_BYTES // 1024 // 1024} MB")
        return response.content
    path = Path(location)
    if not path.is_file():
        raise SourceError(f"no such file: {location}")
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise SourceError(f"{location} is larger than {MAX_SOURCE_BYTES // 1024 // 1024} MB")
    return path.read_bytes()


def decode_utf8(data: bytes, name: str) -> str:
    """UTF-8 text (a BOM is accepted); any other encoding is refused with how to fix it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(
            f"{name} is not UTF-8 (byte {error.object[error.start]:#04x} at offset {error.start}): "
            "re-export it as UTF-8 (e.g. `iconv -f WINDOWS-1252 -t UTF-8`)"
        ) from error
