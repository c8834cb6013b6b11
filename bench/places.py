# ruff: noqa: E402
"""Benchmark of the places of help. Prints its figures; not a test.

Measures, on this machine:
- import of a synthetic national-scale file (scripts/generate_places.py, 20,000 places at real commune centres,
  dirty rows included) into an empty SQLite database: wall time and peak memory of the import, then a re-import
  of the same file (nothing changes);
- nearest search among those places, in process (scipy cKDTree): median and p95 per query, plain and with a
  service filter, over random points in metropolitan France;
- one "places near me" reply through the whole pipeline (fake Telegram → bot → Rasa → actions → reply, venue and
  text): median and p95 over N messages, half shared locations, half postcodes (skip with --skip-pipeline).
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline import start_measured
from bot.services.processes import action_server, bot_process, rasa_server
from bot.services.supervisor import Supervisor, free_port
from bot.settings import Settings
from knowledge.db import Database
from knowledge.migrate import upgrade
from knowledge.places.catalogue import standard
from knowledge.places.communes import communes
from knowledge.places.index import PlaceIndex
from tests.fake_telegram import FakeTelegram

IMPORT_CHILD = """
import resource, sys, time
from datetime import UTC, datetime
from knowledge.places.communes import communes
from knowledge.places.communes import communes
from knowledge.db import Database
from knowledge.places.catalogue import import_places_from
communes()  # loaded once per process, as in a running service
database = Database(sys.argv[1])
start = time.perf_counter()
report = import_places_from(database, sys.argv[2], datetime.now(UTC))
elapsed = time.perf_counter() - start
print(f"{elapsed:.2f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} {report.summary()}")
"""
POSTCODES = ["50000", "42000", "62500", "33160", "50100", "75011", "69003", "13001", "31000", "59000"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def bench_import(work: Path, count: int, results: list[tuple[str, str]]) -> str:
    source = work / "national.csv"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/generate_places.py"), "--count", str(count), "--seed", "1", str(source)],
        check=True,
        capture_output=True,
    )
    results.append((f"generate {count:,} synthetic places", f"{time.perf_counter() - start:.1f} s"))
    url = f"sqlite:///{work / 'places.db'}"
    upgrade(url)
    for label in ("import into an empty database", "re-import of the same file"):
        out = subprocess.run(
            [sys.executable, "-c", IMPORT_CHILD, url, str(source)], check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout.split(maxsplit=2)
        results.append((f"{label} ({count:,} rows)", f"{out[0]} s, peak {out[1]} MiB: {out[2].strip()}"))
    return url


def bench_nearest(url: str, queries: int, results: list[tuple[str, str]]) -> None:
    database = Database(url)
    start = time.perf_counter()
    with database.session() as session:
        index = PlaceIndex.build(session)
    results.append((f"index build ({len(index):,} places)", f"{(time.perf_counter() - start) * 1000:.0f} ms"))
    rng = random.Random(5)
    points = [(rng.uniform(43.0, 50.8), rng.uniform(-4.5, 7.5)) for _ in range(queries)]
    service = standard().choices["services"][0]
    for label, kwargs in (("nearest 3", {}), (f"nearest 3 offering « {service} »", {"service": service})):
        timings = []
        for lat, lon in points:
            begin = time.perf_counter_ns()
            index.nearest(lat, lon, limit=3, **kwargs)
            timings.append((time.perf_counter_ns() - begin) / 1e6)
        results.append(
            (
                f"{label}, {queries:,} queries",
                f"median {statistics.median(timings):.4f} ms, p95 {percentile(timings, 0.95):.4f} ms",
            )
        )
    database.dispose()


def bench_pipeline(work: Path, url: str, messages: int, results: list[tuple[str, str]]) -> None:
    settings = Settings(  # type: ignore[call-arg]
        database_url=url,
        rasa_tracker_store_url=f"sqlite:///{work / 'tracker.db'}",
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_url=f"http://127.0.0.1:{free_port()}/webhook",
        log_level="WARNING",
    )
    supervisor = Supervisor(log_dir=work / "logs")
    telegram = FakeTelegram().start()
    try:
        start_measured(supervisor, action_server(settings))
        start_measured(supervisor, rasa_server(settings, endpoints_path=work / "endpoints.yml"))
        bot_settings = settings.model_copy(
            update={
                "telegram_token": telegram.token,
                "telegram_base_url": telegram.base_url,
                "telegram_base_file_url": telegram.base_file_url,
            }
        )
        start_measured(supervisor, bot_process(bot_settings), ready=lambda: telegram.wait_for_polling(timeout=60))
        rng = random.Random(9)
        towns = [c for c in communes().all_current() if c.departement < "96"]
        latencies = []
        for number in range(messages):
            chat_id = 60_000 + number % 20
            mark = telegram.mark()
            begin = time.perf_counter()
            if number % 2:
                telegram.user_sends_text(chat_id, POSTCODES[number % len(POSTCODES)])
            else:
                town = rng.choice(towns)
                telegram.user_sends_location(chat_id, town.lat + rng.uniform(-0.02, 0.02), town.lon)
            telegram.wait_for_messages(chat_id, since=mark, count=2, timeout=30)  # the venue, then the places
            latencies.append((time.perf_counter() - begin) * 1000)
        results.append(
            (
                f"'places near me' reply through the pipeline, {messages} messages",
                f"median {statistics.median(latencies):.0f} ms, p95 {percentile(latencies, 0.95):.0f} ms",
            )
        )
    finally:
        supervisor.stop_all()
        telegram.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000, help="synthetic places (default 20,000)")
    parser.add_argument("--queries", type=int, default=10_000, help="nearest-search queries (default 10,000)")
    parser.add_argument("--messages", type=int, default=100, help="pipeline messages (default 100)")
    parser.add_argument("--skip-pipeline", action="store_true", help="no Rasa, actions or bot: data layer only")
    args = parser.parse_args()
    results: list[tuple[str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="passerelle-places-bench-"))
    try:
        url = bench_import(work, args.count, results)
        bench_nearest(url, args.queries, results)
        if not args.skip_pipeline:
            bench_pipeline(work, url, args.messages, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(name) for name, _ in results)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPasserelle places benchmark (peak memory of this script: {peak:.0f} MiB)")
    for name, value in results:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
