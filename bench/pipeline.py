# ruff: noqa: E402
"""Benchmark of the whole pipeline. Prints its figures; not a test.

Measures, on this machine:
- environment set-up on a fresh clone (`make setup` in a `git clone` of this repo; skip with --skip-setup),
- a cold training of the whole model (NLU and dialogue) in that clone (no Rasa cache; skip with --skip-training),
- `make test` in that clone, environments installed, model trained (skip with --skip-make-test),
- start-up time and peak memory of the action server, the Rasa server and the bot,
- the latency of one message through bot → Rasa → actions → reply, median and p95 over N messages
  (fake Telegram Bot API server, real bot process, real Rasa and action servers).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.services.processes import action_server, bot_process, rasa_server
from bot.services.supervisor import (
    Supervisor,
    free_port,
)
from bot.settings import Settings
from knowledge.migrate import upgrade
from tests.fake_telegram import FakeTelegram

MESSAGES = [
    "bonjour",
    "comment je cree une adresse mail",
    "j'ai oublié mon mot de passe",
    "jarrive pas a me connecter a ameli",
    "c'est quoi franceconnect",
    "j ai recu un sms bizarre pour un colis",
    "merci",
    "xqzw plokm vbnrt",
]


class PeakMemory:
    """Samples the resident memory of a process and its children; keeps the peak (MiB)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                root = psutil.Process(self.pid)
                total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
                self.peak = max(self.peak, total / 2**20)
            except psutil.Error:
                pass
            self._stop.wait(0.2)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    memory = PeakMemory(process.pid)
    _, err = process.communicate()
    peak = memory.stop()
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{err.decode()[-2000:]}")
    return time.perf_counter() - start, peak


def bench_fresh_clone(results: list[tuple[str, str]], skip_setup: bool, skip_training: bool, make_test: bool) -> None:
    """`make setup`, a cold training (no Rasa cache) and `make test` in a fresh clone of the committed tree."""
    clone = Path(tempfile.mkdtemp(prefix="passerelle-bench-"))
    repo = clone / "repo"
    make = ["make"]
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        if skip_setup:
            # This checkout's environments, marked up to date; the clone's code runs from its own folder.
            for venv in (".venv", ".venv-rasa"):
                (repo / venv).symlink_to(ROOT / venv)
                (repo / venv / ".installed").touch()
            make += ["PASSERELLE=.venv/bin/python -m bot"]
        else:
            seconds, peak = timed(["make", "setup"], repo)
            results.append(("set-up on a fresh clone (make setup)", f"{seconds:.0f} s, peak {peak:.0f} MiB"))
        if not skip_training:
            seconds, peak = timed([str(repo / ".venv/bin/python"), "-m", "bot", "nlu", "train"], repo)
            results.append(("training, cold: NLU and dialogue, no Rasa cache", f"{seconds:.1f} s, peak {peak:.0f} MiB"))
        if make_test:
            seconds, _ = timed([*make, "test"], repo)
            results.append(("make test on a fresh clone, environments installed", f"{seconds:.0f} s"))
    finally:
        shutil.rmtree(clone, ignore_errors=True)


def peak_memory_mib(pid: int) -> float:
    """The peak resident memory of a running process (VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) / 1024


def start_measured(supervisor: Supervisor, service, ready=None) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    supervisor.start(service)
    if ready:
        ready()
    elapsed = time.perf_counter() - start
    return elapsed, peak_memory_mib(service.process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--skip-setup", action="store_true", help="do not time `make setup` on a fresh clone")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-make-test", action="store_true", help="do not time `make test` on a fresh clone")
    args = parser.parse_args()
    results: list[tuple[str, str]] = []

    if not (args.skip_setup and args.skip_training and args.skip_make_test):
        bench_fresh_clone(results, args.skip_setup, args.skip_training, make_test=not args.skip_make_test)

    work = Path(tempfile.mkdtemp(prefix="passerelle-bench-"))
    settings = Settings(  # type: ignore[call-arg]
        database_url=f"sqlite:///{work / 'passerelle.db'}",
        rasa_tracker_store_url=f"sqlite:///{work / 'tracker.db'}",
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_url=f"http://127.0.0.1:{free_port()}/webhook",
        log_level="WARNING",
    )
    upgrade(settings.database_url)
    supervisor = Supervisor(log_dir=work / "logs")
    telegram = FakeTelegram().start()
    try:
        seconds, peak = start_measured(supervisor, action_server(settings))
        results.append(("action server start-up", f"{seconds:.1f} s, peak {peak:.0f} MiB"))
        seconds, peak = start_measured(supervisor, rasa_server(settings, endpoints_path=work / "endpoints.yml"))
        results.append(("Rasa server start-up (model loaded)", f"{seconds:.1f} s, peak {peak:.0f} MiB"))
        bot_settings = settings.model_copy(
            update={
                "telegram_token": telegram.token,
                "telegram_base_url": telegram.base_url,
                "telegram_base_file_url": telegram.base_file_url,
            }
        )
        seconds, peak = start_measured(
            supervisor, bot_process(bot_settings), ready=lambda: telegram.wait_for_polling(timeout=60)
        )
        results.append(("bot start-up (first getUpdates)", f"{seconds:.1f} s, peak {peak:.0f} MiB"))

        latencies = []
        for number in range(args.messages):
            chat_id = 50_000 + number % 20
            mark = telegram.mark()
            start = time.perf_counter()
            telegram.user_sends_text(chat_id, MESSAGES[number % len(MESSAGES)])
            telegram.wait_for_messages(chat_id, since=mark, count=1, timeout=30)
            latencies.append((time.perf_counter() - start) * 1000)
        latencies.sort()
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
        results.append(
            (
                f"message latency over {len(latencies)} messages",
                f"median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms",
            )
        )
        for service in supervisor.services:
            hwm = peak_memory_mib(service.process.pid)
            results.append((f"{service.name} peak memory after the run", f"{hwm:.0f} MiB"))
    finally:
        supervisor.stop_all()
        telegram.stop()
        shutil.rmtree(work, ignore_errors=True)

    width = max(len(name) for name, _ in results)
    print("\nPasserelle pipeline benchmark")
    for name, value in results:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
