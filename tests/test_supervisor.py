"""The process manager: readiness, logs, one failure stops everything, a signal stops everything in order."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.services.supervisor import Service, ServiceFailed, Supervisor, free_port

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]


def http_server(port: int, delay: float = 0.0) -> list[str]:
    code = (
        f"import time, http.server; time.sleep({delay}); print('serving', flush=True); "
        f"http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()"
    )
    return [sys.executable, "-c", code]


def test_waits_for_readiness_and_writes_logs(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path)
    port = free_port()
    try:
        supervisor.start(Service("web", http_server(port, delay=1.0), ready_url=f"http://127.0.0.1:{port}/"))
        assert supervisor.services[0].process.poll() is None  # type: ignore[union-attr]
    finally:
        supervisor.stop_all()
    assert "serving" in (tmp_path / "web.log").read_text()


def test_a_service_that_dies_while_starting_is_reported(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path)
    crash = Service("crash", [sys.executable, "-c", "raise SystemExit(3)"], ready_url="http://127.0.0.1:9/")
    with pytest.raises(ServiceFailed, match="crash exited with code 3 while starting"):
        supervisor.start(crash)


def test_one_failure_stops_the_others(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path)
    supervisor.start(Service("sleeper", SLEEPER))
    supervisor.start(Service("crash", [sys.executable, "-c", "import time; time.sleep(0.5); raise SystemExit(3)"]))
    started = time.monotonic()
    assert supervisor.run() == 1
    assert time.monotonic() - started < 10
    assert all(s.process.poll() is not None for s in supervisor.services)  # type: ignore[union-attr]


def test_sigterm_stops_everything_cleanly(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path)
    supervisor.start(Service("one", SLEEPER))
    supervisor.start(Service("two", SLEEPER))
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
    assert supervisor.run() == 0
    assert all(s.process.returncode == -signal.SIGTERM for s in supervisor.services)  # type: ignore[union-attr]
