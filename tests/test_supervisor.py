"""The process manager: readiness, logs, restarts with backoff, giving up, a signal stops everything in order."""

from __future__ import annotations

import itertools
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bot.services.status import exit_code, format_status, read_status
from bot.services.supervisor import MAX_FAILED_STARTS, Service, ServiceFailed, Supervisor, free_port

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


def run_in_thread(supervisor: Supervisor) -> tuple[threading.Thread, list[int]]:
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(supervisor.run()), daemon=True)
    thread.start()
    return thread, codes


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def test_a_crashed_service_is_restarted_while_the_others_keep_running(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path, status_path=tmp_path / "services.json", backoff=(0.2, 1.0))
    port = free_port()
    web = Service("web", http_server(port), ready_url=f"http://127.0.0.1:{port}/")
    supervisor.start(web)
    supervisor.start(Service("sleeper", SLEEPER))
    sleeper_pid = supervisor.services[1].process.pid  # type: ignore[union-attr]
    thread, codes = run_in_thread(supervisor)
    try:
        first = web.process.pid  # type: ignore[union-attr]
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: web.state == "running" and web.process.pid != first)  # type: ignore[union-attr]
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
        assert supervisor.services[1].process.pid == sleeper_pid  # type: ignore[union-attr]
        state = read_status(tmp_path / "services.json")
        assert state is not None and exit_code(state) == 0
        (row,) = [s for s in state["services"] if s["name"] == "web"]
        assert (row["restarts"], row["last_exit"], row["pid"]) == (1, -signal.SIGKILL, web.process.pid)  # type: ignore[union-attr]
        assert row["answers"] is True
    finally:
        supervisor.stop()
        thread.join(20)
    assert codes == [0]
    assert exit_code(read_status(tmp_path / "services.json")) == 3


def test_the_restart_delay_doubles_at_each_crash(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    supervisor = Supervisor(log_dir=tmp_path, backoff=(0.5, 2.0))
    flaky = Service("flaky", [sys.executable, "-c", "import time; time.sleep(0.3); raise SystemExit(2)"])
    supervisor.start(flaky)
    starts: list[float] = [time.monotonic()]
    with caplog.at_level(logging.INFO, logger="bot.services.supervisor"):
        thread, _codes = run_in_thread(supervisor)
        try:
            pid = flaky.process.pid  # type: ignore[union-attr]
            while len(starts) < 5:
                if flaky.process is not None and flaky.process.pid != pid:
                    pid = flaky.process.pid
                    starts.append(time.monotonic())
                time.sleep(0.01)
        finally:
            supervisor.stop()
            thread.join(20)
    delays = [float(m) for m in re.findall(r"flaky exited with code 2; restarting it in ([\d.]+) s", caplog.text)]
    assert delays[:4] == [0.5, 1.0, 2.0, 2.0]  # doubled at each crash, up to the ceiling
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= 0.3 + delay for gap, delay in zip(gaps, delays, strict=False))
    assert flaky.restarts >= 4 and flaky.last_exit == 2


def test_gives_up_when_a_service_cannot_start_at_all(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path, backoff=(0.05, 0.1))
    supervisor.start(Service("sleeper", SLEEPER))
    supervisor.start(Service("crash", [sys.executable, "-c", "import time; time.sleep(0.2); raise SystemExit(3)"]))
    started = time.monotonic()
    assert supervisor.run() == 1
    assert time.monotonic() - started < 15
    assert supervisor.services[1].failed_starts == MAX_FAILED_STARTS
    assert all(s.process.poll() is not None for s in supervisor.services)  # type: ignore[union-attr]


def test_the_console_chat_ending_stops_everything(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path)
    supervisor.start(Service("sleeper", SLEEPER))
    supervisor.start(Service("chat", [sys.executable, "-c", "import time; time.sleep(0.3)"], interactive=True))
    assert supervisor.run() == 0
    assert supervisor.services[0].process.returncode == -signal.SIGTERM  # type: ignore[union-attr]


def test_status_says_what_runs_and_since_when(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path, status_path=tmp_path / "services.json")
    assert format_status(None, tmp_path / "services.json").startswith("Passerelle has not been started here")
    supervisor.start(Service("one", SLEEPER))
    try:
        state = read_status(tmp_path / "services.json")
        text = format_status(state, tmp_path / "services.json")
        assert text.splitlines()[0].startswith(f"Passerelle: running (supervisor pid {os.getpid()}) since ")
        assert re.search(rf"^one\s+running\s+{supervisor.services[0].process.pid}\s+since ", text, re.M)  # type: ignore[union-attr]
    finally:
        supervisor.stop_all()
    text = format_status(read_status(tmp_path / "services.json"), tmp_path / "services.json")
    assert text.startswith("Passerelle: not running (last started ")
    assert re.search(r"^one\s+stopped\s+-", text, re.M)


def test_sigterm_stops_everything_cleanly(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path)
    supervisor.start(Service("one", SLEEPER))
    supervisor.start(Service("two", SLEEPER))
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
    assert supervisor.run() == 0
    assert all(s.process.returncode == -signal.SIGTERM for s in supervisor.services)  # type: ignore[union-attr]


def test_redis_is_probed_by_a_connection_and_its_absence_is_explained(tmp_path: Path) -> None:
    import socket

    from bot.services.processes import redis_server
    from bot.services.supervisor import probe
    from bot.settings import Settings

    with socket.create_server(("127.0.0.1", 0)) as listening:
        assert probe(f"tcp://127.0.0.1:{listening.getsockname()[1]}", timeout=1) is True
    assert probe(f"tcp://127.0.0.1:{free_port()}", timeout=1) is False
    assert probe(None, timeout=1) is None
    settings = Settings(rasa_workers=2, redis_bin=str(tmp_path / "no-redis-here"))  # type: ignore[call-arg]
    with pytest.raises(ServiceFailed, match=r"RASA_WORKERS=2 needs Redis.*apt-get install redis-server"):
        redis_server(settings)
