"""The `passerelle` command (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bot.settings import ConfigurationError, Settings, load_settings

log = logging.getLogger("passerelle")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(f"passerelle: {error}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    command: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        return command(settings, args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the operator gets one clear line; details at DEBUG
        from bot.rasa.project import TrainingError
        from bot.services.supervisor import ServiceFailed

        if isinstance(error, TrainingError | ServiceFailed | ConfigurationError):
            print(f"passerelle: {error}", file=sys.stderr)
            return 1
        raise


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="passerelle", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="command")

    def add(name: str, handler: Callable[[Settings, argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_)
        command.set_defaults(handler=handler)
        return command

    add("run", _run, "start the Rasa server, the action server and the bot (console chat without a token)")
    add("serve", _serve, "start only the Rasa server and the action server, in the foreground")
    add("bot", _bot, "start only the bot (Telegram, or the console chat without a token)")
    status = add("status", _status, "what `passerelle run` runs, since when, restarts, and whether each answers")
    status.add_argument("--json", action="store_true", help="print the state as JSON (for monitoring)")
    classify = add("classify", _classify, 'classify JSON lines {"text": ...} read on standard input')
    classify.add_argument("--rasa-url", help="Rasa server (default: RASA_URL)")
    evaluate = add("eval", _eval, "compare NLU configurations on the held-out split, write nlu/eval/report.md")
    evaluate.add_argument("--only", nargs="+", metavar="NAME", help="evaluate only these configurations")
    evaluate.add_argument("--fresh", action="store_true", help="retrain even if a trained candidate is cached")
    db = add("db", _db, "database migrations")
    db.add_argument("action", choices=["upgrade"])
    nlu = add("nlu", _nlu, "the Rasa project: build data from the fiches, validate, train")
    nlu.add_argument("action", choices=["build", "validate", "train", "hash"])
    nlu.add_argument("--force", action="store_true", help="train even if the model is up to date")
    fiches = add("fiches", _fiches, "report on the fiches: claims not backed by a source, reviews too old")
    fiches.add_argument("action", choices=["audit"])
    fiches.add_argument("--max-age-months", type=int, metavar="N", help="a review older is stale (default 12)")
    fiches.add_argument("--format", choices=["text", "json"], default="text", help="text (default) or json")
    fiches.add_argument("--dir", type=Path, metavar="PATH", help="folder of fiches (default: knowledge/fiches)")
    places = add("places", _places, "places of help from the national open data: import, nearest")
    places_sub = places.add_subparsers(dest="action", required=True, metavar="action")
    places_import = places_sub.add_parser("import", help="import a national-standard CSV or JSON file (or URL)")
    places_import.add_argument("path", metavar="PATH_OR_URL")
    places_import.add_argument("--full", action="store_true", help="the file is the whole set: retire the others")
    near = places_sub.add_parser("near", help="the nearest places, as JSON")
    where = near.add_mutually_exclusive_group(required=True)
    where.add_argument("--lat", type=float, help="latitude (with --lon)")
    where.add_argument("--postcode", help="a French postcode")
    where.add_argument("--commune", help="a commune name")
    near.add_argument("--lon", type=float, help="longitude (with --lat)")
    near.add_argument("--limit", type=int, default=3, help="how many places (default 3)")
    near.add_argument("--service", help="only places offering this service of the standard")
    near.add_argument("--json", action="store_true", required=True, help="print a JSON list (the only format)")
    ateliers = add("ateliers", _ateliers, "ateliers from YAML, CSV or iCalendar (file or URL)")
    ateliers.add_argument("action", choices=["import"])
    ateliers.add_argument("path", metavar="PATH_OR_URL")
    ateliers.add_argument("--place", help="national id of the place for events that do not name one")
    ateliers.add_argument("--capacity", type=int, default=10, help="seats when the source gives none (default 10)")
    ateliers.add_argument(
        "--conseiller", type=int, metavar="TELEGRAM_USER_ID", help="the staff account that runs these ateliers"
    )
    kits = add("kits", _kits, "the lender's inventory of kits (YAML file or URL)")
    kits.add_argument("action", choices=["import"])
    kits.add_argument("path", metavar="PATH_OR_URL")
    staff = add("staff", _staff, "staff accounts: invitations")
    staff.add_argument("action", choices=["invite"])
    staff.add_argument("--role", required=True, help="conseiller, mediateur or coordinateur")
    staff.add_argument("--structure", required=True, help="the structure's name (created if new)")
    staff.add_argument("--commune", default="", help="the structure's commune, when it is created")
    staff.add_argument("--days", type=int, default=7, help="days the link stays valid (default 7)")
    staff.add_argument("--place", help="the structure's place id in the national data (its ateliers are its own)")
    report = add("report", _report, "the steering committee's indicators over a period, with charts")
    report.add_argument("--from", dest="first", type=_day, required=True, metavar="YYYY-MM-DD", help="first day")
    report.add_argument("--to", dest="last", type=_day, required=True, metavar="YYYY-MM-DD", help="last day")
    report.add_argument("--structure", metavar="NAME", help="one member structure (its name) instead of the network")
    report.add_argument(
        "--format", choices=["md", "csv", "html", "ods"], default="md", help="md (default), csv, html or ods"
    )
    report.add_argument("--output", type=Path, metavar="FILE", help="write there instead of standard output")
    report.add_argument("--charts", type=Path, metavar="DIR", help="also write the charts there, one PNG each")
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Application", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _run(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.services import processes

    return processes.run_all(settings, with_bot=True)


def _serve(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.services import processes

    return processes.run_all(settings, with_bot=False)


def _bot(settings: Settings, _args: argparse.Namespace) -> int:
    if settings.telegram_token:
        from bot.telegram.front import run_telegram

        run_telegram(settings)
    else:
        from bot.console import run_console

        try:
            asyncio.run(run_console(settings))
        except KeyboardInterrupt:
            print("\nAu revoir.")
    return 0


def _status(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.status import exit_code, format_status, read_status

    state = read_status(settings.status_file)
    print(json.dumps(state, indent=2) if args.json else format_status(state, settings.status_file))
    return exit_code(state)


def _classify(settings: Settings, args: argparse.Namespace) -> int:
    from bot.tools.classify import run_classify

    return asyncio.run(run_classify(args.rasa_url or settings.rasa_url, settings.rasa_timeout))


def _eval(settings: Settings, args: argparse.Namespace) -> int:
    from bot.tools.evaluation import run_eval

    return run_eval(settings, only=args.only, fresh=args.fresh)


def _db(settings: Settings, _args: argparse.Namespace) -> int:
    from knowledge.migrate import upgrade

    upgrade(settings.database_url)
    log.info("Database is up to date")
    return 0


def _nlu(settings: Settings, args: argparse.Namespace) -> int:
    from bot.rasa import project as rasa_project

    if args.action == "build":
        log.info("FAQ data built from %d fiches", rasa_project.build_faq_data())
    elif args.action == "validate":
        rasa_project.build_faq_data()
        rasa_project.validate(settings.rasa_bin)
    elif args.action == "hash":
        rasa_project.build_faq_data()
        print(rasa_project.model_hash())
    else:
        print(rasa_project.train(settings.rasa_bin, force=args.force))
    return 0


def _fiches(_settings: Settings, args: argparse.Namespace) -> int:
    from datetime import date

    from knowledge.fiche_audit import DEFAULT_MAX_AGE_MONTHS, audit_directory, render_json, render_text
    from knowledge.fiches import FICHES_DIR, FicheError

    max_age = args.max_age_months or DEFAULT_MAX_AGE_MONTHS
    try:
        report = audit_directory(args.dir or FICHES_DIR, today=date.today(), max_age_months=max_age)
    except FicheError as error:
        print(f"passerelle: cannot audit the fiches: {error}", file=sys.stderr)
        return 1
    print(render_json(report) if args.format == "json" else render_text(report))
    return 0


def _places(settings: Settings, args: argparse.Namespace) -> int:
    from bot.tools import data_commands

    if args.action == "import":
        return data_commands.import_places(settings, args.path, full=args.full)
    if args.lat is not None and args.lon is None:
        print("passerelle: --lat needs --lon", file=sys.stderr)
        return 2
    return data_commands.near(settings, args)


def _ateliers(settings: Settings, args: argparse.Namespace) -> int:
    from bot.tools import data_commands

    return data_commands.import_ateliers(
        settings, args.path, place=args.place, capacity=args.capacity, conseiller=args.conseiller
    )


def _kits(settings: Settings, args: argparse.Namespace) -> int:
    from bot.tools import data_commands

    return data_commands.import_kits(settings, args.path)


def _staff(settings: Settings, args: argparse.Namespace) -> int:
    from bot.tools import staff_commands

    return staff_commands.invite(settings, args.role, args.structure, args.commune, args.days, args.place)


def _day(value: str) -> date:
    from bot.tools.report import day

    return day(value)


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.tools.report import report

    return report(settings, args.first, args.last, args.format, args.output, args.structure, args.charts)


if __name__ == "__main__":
    sys.exit(main())
