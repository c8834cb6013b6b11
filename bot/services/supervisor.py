"""One process manager for the Rasa server, the action server and the bot.

Services start in order and are checked for readiness; their logs are prefixed with the service name
(or written to var/log/ when the terminal is used for the console chat). A service that dies is restarted
with an exponential backoff while the others keep running; Ctrl-C or SIGTERM stops everything in reverse
order. The supervisor gives up (and stops everything) only when a service cannot start at all: at start-up,
or after `MAX_FAILED_STARTS` restarts in a row that never became ready. The state of each service is written
to a JSON file that `passerelle status` reads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import httpx

from knowledge.settings import VAR_DIR

log = logging.getLogger(__name__)
LOG_DIR = VAR_DIR / "log"
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0
"""A service that stayed up this many seconds is healthy again: its next crash restarts it after BACKOFF_FIRST."""
MAX_FAILED_STARTS = 5
_COLOURS = {"rasa": "\033[35m", "actions": "\033[36m", "bot": "\033[32m"}


@dataclass
class Service:
    name: str
    argv: list[str]
    ready_url: str | None = None
    ready_timeout: float = 180.0
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    interactive: bool = False
    process: subprocess.Popen[bytes] | None = None
    state: str = "stopped"
    since: datetime | None = None
    restarts: int = 0
    last_exit: int | None = None
    failed_starts: int = 0
    backoff: float = BACKOFF_FIRST
    next_start: float | None = None
    ready_since: float | None = None
    started: float = 0.0


class ServiceFailed(Exception):
    pass


def describe_exit(status: int | None) -> str:
    """'exited with code 1' or 'was killed by SIGKILL', for the logs and `passerelle status`."""
    if status is None:
        return "stopped"
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with code {status}"


def probe(url: str | None, timeout: float) -> bool | None:
    """Whether a service answers: an HTTP URL with 200, a tcp://host:port by accepting a connection (Redis). None
    when the service has nothing to ask."""
    if not url:
        return None
    if url.startswith("tcp://"):
        host, _, port = url.removeprefix("tcp://").rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=timeout).close()
        except OSError:
            return False
        return True
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Supervisor:
    def __init__(
        self,
        log_dir: Path | None = None,
        status_path: Path | None = None,
        backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_MAX),
        stable_after: float = STABLE_AFTER,
    ) -> None:
        """Logs go to standard output with a prefix per service, or to `log_dir`/<service>.log when given.
        The state of the services is written to `status_path` when given (`passerelle status` reads it).
        A crashed service is restarted after backoff[0] seconds, doubled at each crash up to backoff[1], reset
        once it has stayed up `stable_after` seconds."""
        self.services: list[Service] = []
        self.backoff_first, self.backoff_max = backoff
        self.stable_after = stable_after
        self.log_dir = log_dir
        self.status_path = status_path
        self.started_at = datetime.now(UTC)
        self._stopping = threading.Event()
        self._print_lock = threading.Lock()

    def start(self, service: Service) -> None:
        """First start of a service: raises ServiceFailed if it does not become ready."""
        service.backoff = self.backoff_first
        self.services.append(service)
        self._spawn(service)
        if service.ready_url:
            self._wait_ready(service)
        self._mark_ready(service)

    def run(self) -> int:
        """Keep the services up until told to stop; returns 0, or 1 when a service cannot start at all."""
        main = threading.current_thread() is threading.main_thread()  # only the main thread may handle signals
        signals = (signal.SIGINT, signal.SIGTERM) if main else ()
        previous = {sig: signal.signal(sig, self._on_signal) for sig in signals}
        try:
            while not self._stopping.is_set():
                for service in list(self.services):
                    code = self._watch(service)
                    if code is not None:
                        return code
                self._stopping.wait(0.3)
            return 0
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop_all(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        for service in reversed(self.services):
            process = service.process
            if process is not None and process.poll() is None:
                log.info("Stopping %s…", service.name)
                self.signal(service, signal.SIGINT if service.interactive else signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop in %.0f s; killing it", service.name, timeout)
                    process.kill()
                    process.wait()
            self.signal(service, signal.SIGKILL)  # what the service left behind (e.g. a Sanic worker)
            service.state, service.since = "stopped", datetime.now(UTC)
        self._write_status(stopped=True)

    def _watch(self, service: Service) -> int | None:
        """One look at a service: restart it when it died, when its backoff is over. Returns an exit code to stop."""
        now = time.monotonic()
        if service.state == "restarting":
            if service.next_start is not None and now >= service.next_start:
                log.info("Restarting %s (restart %d)", service.name, service.restarts)
                self._spawn(service)
            return None
        process = service.process
        status = process.poll() if process else None
        if service.state == "starting":
            if status is None and self._is_ready(service):
                self._mark_ready(service)
                return None
            if status is None and now - service.started < service.ready_timeout:
                return None
            if status is None:
                log.error("%s not ready after %.0f s; killing it", service.name, service.ready_timeout)
                assert process is not None
                process.kill()
                status = process.wait()
            return self._failed(service, status)
        if status is None:
            if service.ready_since is not None and now - service.ready_since >= self.stable_after:
                service.backoff, service.failed_starts = self.backoff_first, 0
            return None
        if service.interactive and status == 0:
            log.info("%s ended", service.name)
            return 0
        return self._failed(service, status)

    def signal(self, service: Service, signum: int) -> None:
        """Signal a service and every process it started (its own process group; the console chat shares ours)."""
        process = service.process
        if process is None:
            return
        if service.interactive:
            if process.poll() is None:
                process.send_signal(signum)
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)

    def _failed(self, service: Service, status: int | None) -> int | None:
        # A dead service's children (Sanic's worker process holds the port) must go before it starts again.
        self.signal(service, signal.SIGKILL)
        stable = service.ready_since is not None and time.monotonic() - service.ready_since >= self.stable_after
        service.failed_starts = 0 if stable else service.failed_starts + 1
        if stable:
            service.backoff = self.backoff_first
        service.last_exit = status
        if service.failed_starts >= MAX_FAILED_STARTS:
            log.error(
                "%s %s; it failed %d times in a row without staying up: giving up and stopping the others",
                service.name,
                describe_exit(status),
                service.failed_starts,
            )
            self._write_status()
            return 1
        delay = service.backoff
        service.backoff = min(service.backoff * 2, self.backoff_max)
        service.restarts += 1
        service.state, service.since, service.ready_since = "restarting", datetime.now(UTC), None
        service.next_start = time.monotonic() + delay
        log.error("%s %s; restarting it in %g s", service.name, describe_exit(status), delay)
        self._write_status()
        return None

    def _spawn(self, service: Service) -> None:
        env = {**os.environ, **service.env, "PYTHONUNBUFFERED": "1"}
        if service.interactive:
            # The console chat keeps the terminal: same process group, so Ctrl-C reaches it directly.
            service.process = subprocess.Popen(service.argv, env=env, cwd=service.cwd)
        else:
            service.process = subprocess.Popen(
                service.argv,
                env=env,
                cwd=service.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            threading.Thread(target=self._pump, args=(service,), daemon=True).start()
        service.state, service.since, service.started = "starting", datetime.now(UTC), time.monotonic()
        service.next_start = service.ready_since = None
        log.info("Started %s (pid %s)", service.name, service.process.pid)
        self._write_status()

    def _mark_ready(self, service: Service) -> None:
        service.state, service.since, service.ready_since = "running", datetime.now(UTC), time.monotonic()
        if service.ready_url:
            log.info("%s is ready", service.name)
        self._write_status()

    def stop(self) -> None:
        """Ask run() to stop everything and return (from another thread)."""
        self._stopping.set()

    def _on_signal(self, signum: int, _frame: object) -> None:
        log.info("Received %s, shutting down", signal.Signals(signum).name)
        self._stopping.set()

    def _is_ready(self, service: Service) -> bool:
        return probe(service.ready_url, timeout=1) is not False

    def _wait_ready(self, service: Service) -> None:
        deadline = time.monotonic() + service.ready_timeout
        while time.monotonic() < deadline:
            if self._stopping.is_set():
                raise ServiceFailed("interrupted")
            if service.process and service.process.poll() is not None:
                raise ServiceFailed(
                    f"{service.name} exited with code {service.process.returncode} while starting"
                    + (f"; see {self.log_dir / service.name}.log" if self.log_dir else "")
                )
            if self._is_ready(service):
                return
            time.sleep(0.5)
        raise ServiceFailed(f"{service.name} not ready after {service.ready_timeout:.0f} s at {service.ready_url}")

    def _write_status(self, stopped: bool = False) -> None:
        if self.status_path is None:
            return
        state = {
            "supervisor": {
                "pid": os.getpid(),
                "started_at": self.started_at.isoformat(),
                "state": "stopped" if stopped else "running",
            },
            "services": [
                {
                    "name": s.name,
                    "state": s.state,
                    "pid": s.process.pid if s.process and s.state in {"starting", "running"} else None,
                    "since": s.since.isoformat() if s.since else None,
                    "restarts": s.restarts,
                    "last_exit": s.last_exit,
                    "ready_url": s.ready_url,
                }
                for s in self.services
            ],
        }
        self.status_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.status_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2), encoding="utf-8")
        temporary.replace(self.status_path)

    def _pump(self, service: Service) -> None:
        assert service.process and service.process.stdout
        sink: IO[str]
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            sink = open(self.log_dir / f"{service.name}.log", "a", encoding="utf-8")  # noqa: SIM115
        else:
            sink = sys.stdout
        colour = _COLOURS.get(service.name, "") if sink.isatty() else ""
        reset = "\033[0m" if colour else ""
        prefix = f"{colour}{service.name:<8}|{reset} "
        for raw in iter(service.process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip()
            with self._print_lock:
                sink.write(f"{line}\n" if self.log_dir else f"{prefix}{line}\n")
                sink.flush()
        if sink is not sys.stdout:
            sink.close()
