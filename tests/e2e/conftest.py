"""End-to-end harness: the real Rasa server (trained model), the real action server, the bot process started
unmodified against our fake Telegram Bot API server. Started once per test session."""

from __future__ import annotations

import itertools
import signal
import socket
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.rasa.project import TrainingError, current_model
from bot.services.processes import action_server, bot_process, rasa_server, redis_server
from bot.services.supervisor import Supervisor, free_port
from bot.settings import Settings
from bot.tools.data_commands import ensure_kits, ensure_places
from knowledge.db import Database
from knowledge.migrate import upgrade
from knowledge.staff import create_invitation, redeem, structure_named
from tests.fake_telegram import FakeTelegram
from tests.tcp_proxy import TcpProxy

_chats = itertools.count(7001)
STAFF_GROUP = -100500
"""The staff group where requests for a conseiller are posted (tests/e2e/test_handoff.py)."""


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def services_settings(e2e_dir: Path) -> Settings:
    try:
        current_model()
    except TrainingError as error:
        pytest.fail(f"{error} (make test trains before running the tests)")
    settings = Settings(  # type: ignore[call-arg]
        database_url=f"sqlite:///{e2e_dir / 'passerelle.db'}",
        rasa_tracker_store_url=f"sqlite:///{e2e_dir / 'rasa-tracker.db'}",
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_url=f"http://127.0.0.1:{free_port()}/webhook",
        telegram_token=None,
        staff_chat_id=STAFF_GROUP,
        rasa_workers=2,  # as deployed on 2 cores: Rasa's Sanic workers share a Redis lock store
        redis_port=free_port(),
    )
    upgrade(settings.database_url)
    ensure_places(settings)  # the demo places and ateliers, as `make run` loads them
    ensure_kits(settings)  # and the demo inventory of kits
    return settings


@pytest.fixture(scope="session")
def supervisor(e2e_dir: Path) -> Iterator[Supervisor]:
    supervisor = Supervisor(log_dir=e2e_dir / "logs")
    yield supervisor
    supervisor.stop_all()


@pytest.fixture(scope="session")
def services(supervisor: Supervisor, services_settings: Settings, e2e_dir: Path) -> Settings:
    """The action server, Redis (Rasa's lock store) and the Rasa server with its two workers, running."""
    supervisor.start(action_server(services_settings))
    supervisor.start(redis_server(services_settings))
    supervisor.start(rasa_server(services_settings, endpoints_path=e2e_dir / "endpoints.yml"))
    return services_settings


@pytest.fixture(scope="session")
def rasa_proxy(services: Settings) -> Iterator[TcpProxy]:
    proxy = TcpProxy(services.rasa_port).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def bot_settings(services: Settings, rasa_proxy: TcpProxy, telegram: FakeTelegram) -> Settings:
    return services.model_copy(
        update={
            "telegram_token": telegram.token,
            "telegram_base_url": telegram.base_url,
            "telegram_base_file_url": telegram.base_file_url,
            "rasa_url": rasa_proxy.url,
            "rasa_timeout": 10.0,
        }
    )


@pytest.fixture(scope="session")
def bot(supervisor: Supervisor, bot_settings: Settings, telegram: FakeTelegram) -> Settings:
    """The bot process, polling the fake Telegram server, talking to Rasa through the proxy."""
    supervisor.start(bot_process(bot_settings))
    telegram.wait_for_polling(timeout=60)
    return bot_settings


@pytest.fixture
def chat_id() -> int:
    """A new private chat for each test, so that conversations do not mix."""
    return next(_chats)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and "e2e_dir" in getattr(item, "funcargs", {}):
        logs = item.funcargs["e2e_dir"] / "logs"
        for path in sorted(logs.glob("*.log")):
            tail = "\n".join(path.read_text(errors="replace").splitlines()[-40:])
            report.sections.append((f"log {path.name}", tail))


def kill_service(supervisor: Supervisor, name: str) -> None:
    """Stop a service with no goodbye (SIGKILL)."""
    old = next(s for s in supervisor.services if s.name == name and s.process and s.process.poll() is None)
    old.process.kill()
    old.process.wait(20)
    supervisor.services.remove(old)


def start_bot(supervisor: Supervisor, settings: Settings, telegram: FakeTelegram) -> None:
    polls = telegram.polls
    supervisor.start(bot_process(settings))
    telegram.wait_for_polling(timeout=60, after=polls)


def kill_service_group(supervisor: Supervisor, name: str, port: int | None = None) -> None:
    """SIGKILL a whole service: its process and its children (the action server's Sanic workers, which outlive
    their parent and keep serving if only the parent dies); then wait until `port` no longer accepts connections."""
    old = next(s for s in supervisor.services if s.name == name and s.process and s.process.poll() is None)
    supervisor.signal(old, signal.SIGKILL)  # each service runs in its own session (process group)
    old.process.wait(20)
    supervisor.services.remove(old)
    deadline = time.monotonic() + 20
    while port is not None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return
        assert time.monotonic() < deadline, f"{name}: port {port} still answers after SIGKILL"
        time.sleep(0.1)


def join_team(
    settings: Settings,
    telegram: FakeTelegram,
    members: Sequence[tuple[int, str, str, str]],
    place_id: str | None = None,
) -> None:
    """(Telegram user id, first name, role, structure) become staff by invitation, as `/start <code>` makes them,
    each with a private chat with the bot; one already a member stays as they are (the database is shared by the
    test session)."""
    database = Database(settings.database_url)
    now = datetime.now(UTC)
    for user_id, name, role, structure in members:
        with database.session() as session:
            code = create_invitation(session, structure_named(session, structure, now, place_id=place_id), role, now)
        redeem(database, code, user_id, name, now)
        telegram.register_chat(user_id, first_name=name)
    database.dispose()
