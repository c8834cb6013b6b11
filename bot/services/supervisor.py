"""One process manager for the Rasa server, the action server and the bot.

Services start in order and are checked for readiness; their logs are prefixed with the service name
(or written to var/log/ when the terminal is used for the console chat). Ctrl-C or SIGTERM stops
everything in reverse order; if one service dies, the others are stopped too.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from knowledge.settings import VAR_DIR

log = logging.getLogger(__name__)
LOG_DIR = VAR_DIR / "log"
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


class ServiceFailed(Exception):
    pass


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Supervisor:
    def __init__(self, log_dir: Path | None = None) -> None:
        """Logs go to standard output with a prefix per service, or to `log_dir`/<service>.log when given."""
        self.services: list[Service] = []
        self.log_dir = log_dir
        self._stopping = threading.Event()
        self._print_lock = threading.Lock()

    def start(self, service: Service) -> None:
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
        self.services.append(service)
        log.info("Started %s (pid %s)", service.name, service.process.pid)
        if service.ready_url:
            self._wait_ready(service)

    def run(self) -> int:
        """Wait until a service exits or we are told to stop; then stop everything. Returns an exit code."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        code = 0
        try:
            while not self._stopping.is_set():
                for service in self.services:
                    status = service.process.poll() if service.process else None
                    if status is not None:
                        if service.interactive and status == 0:
                            log.info("%s ended", service.name)
                        else:
                            log.error("%s exited with code %s; stopping the others", service.name, status)
                            code = 1
                        self._stopping.set()
                        break
                self._stopping.wait(0.3)
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def stop_all(self, timeout: float = 15.0) -> None:
        for service in reversed(self.services):
            process = service.process
            if process is None or process.poll() is not None:
                continue
            log.info("Stopping %s…", service.name)
            process.send_signal(signal.SIGINT if service.interactive else signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", service.name, timeout)
                process.kill()
                process.wait()

    def _on_signal(self, signum: int, _frame: object) -> None:
        log.info("Received %s, shutting down", signal.Signals(signum).name)
        self._stopping.set()

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
            try:
                if httpx.get(service.ready_url or "", timeout=2).status_code == 200:
                    log.info("%s is ready", service.name)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise ServiceFailed(f"{service.name} not ready after {service.ready_timeout:.0f} s at {service.ready_url}")

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
