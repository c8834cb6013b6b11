"""`passerelle status`: what the supervisor of `make run` runs, since when, and whether it answers."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.services.supervisor import describe_exit, probe

RUNNING, DEGRADED, NOT_RUNNING = 0, 1, 3
"""Exit codes, as systemd's `status` uses them: 0 all up, 1 something is down, 3 not running."""


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_status(path: Path) -> dict[str, Any] | None:
    """The supervisor's state file, checked against the processes that really run."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    supervisor = state["supervisor"]
    supervisor["alive"] = supervisor["state"] == "running" and pid_alive(supervisor["pid"])
    for service in state["services"]:
        service["alive"] = supervisor["alive"] and pid_alive(service["pid"])
        service["answers"] = probe(service.get("ready_url"), timeout=2) if service["alive"] else False
        if not supervisor["alive"]:
            service["state"] = "stopped"
    return state


def exit_code(state: dict[str, Any] | None) -> int:
    if state is None or not state["supervisor"]["alive"]:
        return NOT_RUNNING
    healthy = all(s["state"] == "running" and s["alive"] and s["answers"] is not False for s in state["services"])
    return RUNNING if healthy else DEGRADED


def format_status(state: dict[str, Any] | None, path: Path, now: datetime | None = None) -> str:
    if state is None:
        return f"Passerelle has not been started here (no {path})."
    now = now or datetime.now(UTC)
    supervisor = state["supervisor"]
    if supervisor["alive"]:
        head = f"Passerelle: running (supervisor pid {supervisor['pid']}) {_since(supervisor['started_at'], now)}"
    else:
        head = f"Passerelle: not running (last started {_when(supervisor['started_at'])})"
    rows = [("service", "state", "pid", "since", "restarts", "last exit", "health")]
    for service in state["services"]:
        health = {None: "-", True: "answers", False: "no answer"}[service["answers"]]
        rows.append(
            (
                service["name"],
                service["state"],
                str(service["pid"] or "-"),
                _since(service["since"], now) if service["since"] else "-",
                str(service["restarts"]),
                describe_exit(service["last_exit"]) if service["last_exit"] is not None else "-",
                health if service["alive"] else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([head, *table])


def _when(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _since(iso: str, now: datetime) -> str:
    seconds = int((now - datetime.fromisoformat(iso)).total_seconds())
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, seconds = divmod(rest, 60)
    span = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"
    return f"since {_when(iso)} ({span})"
