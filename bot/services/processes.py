"""The three processes of Passerelle and how `make run` / `make serve` start them."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

from bot.rasa.project import NLU_DIR, current_model, rasa_env, write_endpoints
from bot.services.supervisor import LOG_DIR, Service, ServiceFailed, Supervisor
from bot.settings import Settings
from bot.tools.data_commands import ensure_kits, ensure_places
from knowledge.migrate import upgrade
from knowledge.settings import PROJECT_ROOT, VAR_DIR

log = logging.getLogger(__name__)


def action_server(settings: Settings) -> Service:
    port = settings.action_server_port
    return Service(
        name="actions",
        argv=[sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        ready_url=f"http://127.0.0.1:{port}/health",
        ready_timeout=60,
        env=settings.as_env(),
        cwd=PROJECT_ROOT,
    )


def redis_server(settings: Settings) -> Service:
    """Rasa's lock store when it runs several workers: loopback only, nothing saved (locks live for seconds)."""
    if shutil.which(settings.redis_bin) is None:
        raise ServiceFailed(
            f"RASA_WORKERS={settings.rasa_workers} needs Redis for Rasa's lock store, and {settings.redis_bin} "
            "was not found: install Debian's redis-server package (apt-get install redis-server), or set "
            "RASA_WORKERS=1"
        )
    port = str(settings.redis_port)
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # its working directory (it writes nothing there: no --save)
    return Service(
        name="redis",
        argv=[settings.redis_bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        ready_url=f"tcp://127.0.0.1:{port}",
        ready_timeout=30,
        cwd=VAR_DIR,
    )


def rasa_server(settings: Settings, endpoints_path: Path = VAR_DIR / "endpoints.yml") -> Service:
    """With RASA_WORKERS > 1, Rasa's Sanic workers share the port and the Redis lock store (redis_server)."""
    workers = settings.rasa_workers
    lock_store_port = settings.redis_port if workers > 1 else None
    endpoints = write_endpoints(settings.action_server_url, settings.tracker_store_url, endpoints_path, lock_store_port)
    host = urlsplit(settings.rasa_url).hostname or "localhost"
    interface = "127.0.0.1" if host in {"localhost", "127.0.0.1"} else "0.0.0.0"
    return Service(
        name="rasa",
        argv=[
            str(Path(settings.rasa_bin).parent / "python"),
            str(NLU_DIR / "serve.py"),  # Rasa's command, its action answers checked by a validator compiled once
            "run",
            "--enable-api",
            "--model",
            str(current_model()),
            "--interface",
            interface,
            "--port",
            str(settings.rasa_port),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(NLU_DIR / "credentials.yml"),
        ],
        ready_url=f"http://127.0.0.1:{settings.rasa_port}/status",
        ready_timeout=240,
        env={k: v for k, v in rasa_env().items() if k.startswith(("RASA_", "TF_", "SQLALCHEMY_", "PYTHONPATH"))}
        | {"SANIC_WORKERS": str(workers)},
        cwd=NLU_DIR,
    )


def bot_process(settings: Settings) -> Service:
    return Service(
        name="bot",
        argv=[sys.executable, "-m", "bot", "bot"],
        env=settings.as_env(),
        cwd=PROJECT_ROOT,
        interactive=not settings.telegram_token,
    )


def run_all(settings: Settings, with_bot: bool) -> int:
    """Migrate, then start the action server, Rasa and (optionally) the bot; keep them up until Ctrl-C."""
    upgrade(settings.database_url)
    ensure_places(settings)
    ensure_kits(settings)
    console = with_bot and not settings.telegram_token
    supervisor = Supervisor(log_dir=LOG_DIR if console else None, status_path=settings.status_file)
    if console:
        print(f"Démarrage de l'assistant (1 minute environ)… Journaux : {LOG_DIR}/", flush=True)
    try:
        supervisor.start(action_server(settings))
        if settings.rasa_workers > 1:
            supervisor.start(redis_server(settings))
        supervisor.start(rasa_server(settings))
        if with_bot:
            supervisor.start(bot_process(settings))
    except ServiceFailed:
        supervisor.stop_all()
        raise
    return supervisor.run()
