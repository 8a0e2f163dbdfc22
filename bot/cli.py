"""`wsoa`: serve, console, demo, import, export, tick, db."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import bot.adapters  # noqa: F401  (each platform declares how it names and reaches people)
from bot import logs
from bot.config import Settings
from bot.console import run_console, run_line
from bot.domain import Surface, UserError
from bot.plans.dates import YearEnd
from bot.runtime import Runtime
from bot.services.context import Caller, Ctx
from bot.store.db import unit_of_work, upgrade

if TYPE_CHECKING:
    from bot.plans.kpi_read import ParsedMeasures
    from bot.services.kpi_files import MeasuresReport

DEMO_DATABASE = "wsoa-demo.db"
LEAD_OF_11F = ", the lead of 11F, 12B and 12A.1"
FORMATS: dict[str, Literal["csv", "xlsx", "md"]] = {"csv": "csv", "xlsx": "xlsx", "md": "md"}
PLAN_HELP = "the plan's short name (optional while the database holds one plan)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings()
    logs.configure(
        logging.INFO if args.command in ("serve", "tick") else logging.WARNING,
        settings.log_format,
    )
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        return handler(settings, args)
    except UserError as refusal:
        print(f"wsoa: {refusal}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wsoa", description="The WSoA bot.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the Slack bot (and the scheduler) in-process")
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument("--http", dest="mode", action="store_const", const="http")
    mode.add_argument("--socket", dest="mode", action="store_const", const="socket")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(handler=cmd_serve)

    console = sub.add_parser("console", help="the /wsoa commands at a terminal")
    console.add_argument(
        "--user",
        default="console",
        help="act as this user: a Slack ID, a Teams AAD id or an e-mail",
    )
    console.add_argument("--plan", help=PLAN_HELP)
    console.add_argument("-c", dest="text", help="run one command and exit")
    console.set_defaults(handler=cmd_console)

    demo = sub.add_parser("demo", help="a fresh local database with a demo plan, then the console")
    demo.add_argument("--user", help="act as this user (default: the lead of 11F)")
    demo.add_argument("-c", dest="text", help="run one command and exit")
    demo.set_defaults(handler=cmd_demo)

    load = sub.add_parser("import", help="load a plan from .csv, .xlsx or .yaml")
    load.add_argument(
        "file", type=Path, help="the plan file; `-` reads rows pasted from a spreadsheet on stdin"
    )
    load.add_argument("--plan", help=PLAN_HELP)
    load.add_argument(
        "--prefer-file",
        action="store_true",
        help="where a field changed both in the bot and in the file since the last import, "
        "apply the file's (the bot's is kept otherwise)",
    )
    load.add_argument(
        "--year-end",
        type=YearEnd,
        choices=list(YearEnd),
        help="a due date written only as years (2024-25) is a financial year, ending 31 March, "
        "or an academic year, ending 31 August (default: academic when the tracker names terms "
        "or school years)",
    )
    load.set_defaults(handler=cmd_import)

    export = sub.add_parser("export", help="write the plan as csv, xlsx or Markdown")
    export.add_argument("--format", choices=["csv", "xlsx", "md"], default=None)
    export.add_argument("-o", dest="output", type=Path, help="file to write (default: stdout)")
    export.add_argument("--plan", help=PLAN_HELP)
    export.set_defaults(handler=cmd_export)

    audit = sub.add_parser(
        "audit",
        help="every change to every action, one row per field; `audit verify` checks the "
        "history's hash chain",
    )
    audit.add_argument(
        "check",
        nargs="?",
        choices=["verify"],
        help="verify: check every row of the history against its hash chain and print the head",
    )
    audit.add_argument("--format", choices=["csv", "xlsx"], default=None)
    audit.add_argument("-o", dest="output", type=Path, help="file to write (default: stdout)")
    audit.add_argument("--plan", help=PLAN_HELP)
    audit.set_defaults(handler=cmd_audit)

    pack = sub.add_parser("boardpack", help="the board's highlight report as a Word document")
    pack.add_argument("--board", default="", help="the meeting's id, B-3 (default: the next)")
    pack.add_argument("-o", dest="output", type=Path, help="file to write (.docx)")
    pack.add_argument("--plan", help=PLAN_HELP)
    pack.set_defaults(handler=cmd_boardpack)

    publish = sub.add_parser(
        "publish", help="the published progress page as static files, for a council's website"
    )
    publish.add_argument("-o", dest="output", type=Path, required=True, help="folder to write")
    publish.add_argument(
        "--now",
        action="store_true",
        help="publish the plan as it stands now first (as `publish` in chat does)",
    )
    publish.add_argument("--plan", help=PLAN_HELP)
    publish.set_defaults(handler=cmd_publish)

    secrets_parser = sub.add_parser("secrets", help="the keys that keep Slack tokens encrypted")
    secrets_sub = secrets_parser.add_subparsers(dest="secrets_command", required=True)
    secrets_sub.add_parser(
        "rotate", help="encrypt every stored Slack token again with WSOA_SECRET_KEY's first key"
    ).set_defaults(handler=cmd_secrets_rotate)

    plans = sub.add_parser("plan", help="the partnerships' plans this database holds")
    plan_sub = plans.add_subparsers(dest="plan_command", required=True)
    plan_sub.add_parser("list", help="the plans and their bindings").set_defaults(
        handler=cmd_plan_list
    )
    create = plan_sub.add_parser("create", help="a new, empty plan")
    create.add_argument("slug")
    create.add_argument("name", nargs="+")
    create.set_defaults(handler=cmd_plan_create)
    rename = plan_sub.add_parser("rename", help="a plan's name")
    rename.add_argument("slug")
    rename.add_argument("name", nargs="+")
    rename.set_defaults(handler=cmd_plan_rename)
    bind = plan_sub.add_parser("bind", help="which workspace or tenant (or channel) uses a plan")
    bind.add_argument("slug")
    where = bind.add_mutually_exclusive_group(required=True)
    where.add_argument("--slack-team", help="a Slack workspace's team id (T…)")
    where.add_argument("--teams-tenant", help="a Microsoft 365 tenant id")
    bind.add_argument("--channel", help="only this channel or conversation")
    bind.set_defaults(handler=cmd_plan_bind)

    tick = sub.add_parser("tick", help="run, once, every scheduled delivery due now (or --at)")
    tick.add_argument("--at", type=_instant, help="ISO 8601 instant (default: now)")
    tick.set_defaults(handler=cmd_tick)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply database migrations").set_defaults(
        handler=cmd_db_upgrade
    )
    _add_teams_parser(sub)
    return parser


def _instant(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}” is not an ISO 8601 instant") from None
    return at  # a naive instant is local time: cmd_tick gives it WSOA_TIMEZONE


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.serve import serve

    mode = args.mode or ("socket" if settings.slack_app_token else "http")
    serve(settings, mode=mode, host=args.host, port=args.port)
    return 0


def cmd_tick(settings: Settings, args: argparse.Namespace) -> int:
    from bot.serve import run_tick

    at = args.at
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=settings.tz)
    report = run_tick(settings, at=at)
    print(report)
    return 0


def cmd_console(settings: Settings, args: argparse.Namespace) -> int:
    runtime = Runtime.start(settings)
    try:
        if args.text is not None:
            print(run_line(runtime, args.user, args.text, args.plan), end="")
        else:
            run_console(
                runtime,
                args.user,
                banner="WSoA console. `help` lists commands; Ctrl-D quits.",
                plan=args.plan,
            )
    finally:
        runtime.close()
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import load_demo

    # The demo always has its own file, so it can never overwrite a real plan's database.
    path = Path(DEMO_DATABASE)
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    runtime = Runtime.start(settings.model_copy(update={"database_url": f"sqlite:///{path}"}))
    try:
        with unit_of_work(runtime.sessions) as session:
            info = load_demo(session, runtime.clock(), settings.tz)
        runtime.settings = settings.model_copy(
            update={"database_url": f"sqlite:///{path}", "admins": settings.admins | info.admins}
        )
        user = args.user or info.console_user
        if args.text is not None:
            print(run_line(runtime, user, args.text), end="")
            return 0
        banner = (
            f"{info.plan_name}: a demo plan of {info.actions} actions in {path}.\n"
            f"You are {user}{LEAD_OF_11F if user == info.console_user else ''}. Try:\n"
            "  summary · show 11F · update 11F amber Toolkit pilot live · history 11F · mine\n"
            f"Run `wsoa demo --user {sorted(info.admins)[0]}` to act as the programme manager. "
            "`help` lists everything; Ctrl-D quits."
        )
        run_console(runtime, user, banner=banner)
    finally:
        runtime.close()
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.plans.read import read_plan, read_plan_bytes
    from bot.plans.report import report_lines
    from bot.services.imports import apply_plan

    measures = _read_measures(args.file)
    if measures is not None and measures.alone:
        return _import_measures_only(settings, measures, args.file.name)
    # Both raise PlanFileError (a UserError) before anything changes.
    if str(args.file) == "-":
        # Rows copied from Excel arrive tab-separated; the CSV reader detects that.
        args.file = Path("pasted.csv")
        parsed = read_plan_bytes(sys.stdin.buffer.read(), args.file.name, year_end=args.year_end)
    else:
        parsed = read_plan(args.file, year_end=args.year_end)
    runtime = Runtime.start(settings)
    try:
        caller = Caller(user_id="import", source=Surface.IMPORT, plan_slug=args.plan)
        with runtime.work(caller, making_plan=True) as ctx:
            report = apply_plan(ctx, parsed, args.file.name, prefer_file=args.prefer_file)
            measures_report = _apply_measures(ctx, measures)
        links = _link_people(runtime) if settings.slack_bot_token else None
    finally:
        runtime.close()
    for line in report_lines(args.file.name, parsed, report):
        print(line)
    if links is not None:
        for line in links:
            print(f"  {line}")
    elif report.unlinked_leads:
        print(
            f"  leads not yet linked to a Slack user ({len(report.unlinked_leads)}): "
            + ", ".join(report.unlinked_leads)
            + ". With SLACK_BOT_TOKEN set, importing or starting the bot links them by e-mail."
        )
    for line in measures_report.lines() if measures_report else []:
        print(f"  {line}")
    return 1 if report.problems or (measures_report and measures_report.problems) else 0


# --- Measures (KPIs) beside the plan: a KPIs/Measures/Actuals sheet, or a file of their own ---


def _read_measures(path: Path) -> ParsedMeasures | None:
    from bot.plans.kpi_read import read_measures

    return None if str(path) == "-" else read_measures(path)


def _apply_measures(ctx: Ctx, measures: ParsedMeasures | None) -> MeasuresReport | None:
    from bot.services.kpi_files import apply_measures

    return apply_measures(ctx, measures) if measures is not None else None


def _import_measures_only(settings: Settings, measures: ParsedMeasures, name: str) -> int:
    runtime = Runtime.start(settings)
    try:
        with runtime.work(Caller(user_id="import", source=Surface.IMPORT), making_plan=True) as ctx:
            report = _apply_measures(ctx, measures)
    finally:
        runtime.close()
    assert report is not None
    print(f"Imported measures from {name}:")
    for line in report.lines():
        print(f"  {line}")
    return 1 if report.problems else 0


def _link_people(runtime: Runtime) -> list[str]:
    """Leads given by e-mail → Slack users, after the import has committed (Slack may be slow)."""
    from bot.slack.client import make_client
    from bot.slack.people import link_people

    with unit_of_work(runtime.sessions) as session:
        return link_people(session, make_client(runtime.settings)).lines()


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from bot.plans.write import write_audit_csv, write_audit_xlsx
    from bot.services.audit import AUDIT_COLUMNS, audit_rows
    from bot.services.plans import plan_named

    if args.check == "verify":
        return cmd_audit_verify(settings, args)

    fmt: str = args.format or (args.output.suffix.lstrip(".") if args.output else "csv")
    if fmt not in ("csv", "xlsx"):
        raise UserError(f"Cannot write the audit trail as “{fmt}”: use --format csv or xlsx.")
    if fmt == "xlsx" and args.output is None:
        raise UserError("An xlsx audit trail needs a file: -o audit.xlsx.")
    runtime = Runtime.start(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            plan = plan_named(session, args.plan, runtime.clock())
            rows = (r.cells() for r in audit_rows(session, plan, settings.tz))
            if fmt == "xlsx":
                n = write_audit_xlsx(AUDIT_COLUMNS, rows, args.output, str(settings.tz))
            elif args.output is not None:
                with args.output.open("w", newline="", encoding="utf-8-sig") as out:
                    n = write_audit_csv(AUDIT_COLUMNS, rows, out)
            else:
                n = write_audit_csv(AUDIT_COLUMNS, rows, sys.stdout)
    finally:
        runtime.close()
    if args.output is not None:
        print(f"Wrote {n} changes to {args.output}", file=sys.stderr)
    return 0


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Checks the plan's (or every plan's) hash chain: prints each head, or names the first row
    that does not match and exits 1."""
    from sqlalchemy.orm import Session

    from bot.services.plans import all_plans, plan_named
    from bot.store import chain

    runtime = Runtime.start(settings)
    failed = False
    try:
        # One snapshot for the whole check, so a change committed while it reads is not taken
        # for a row removed (PostgreSQL: REPEATABLE READ; SQLite: one read transaction).
        engine = runtime.engine
        isolation = "REPEATABLE READ" if engine.dialect.name == "postgresql" else "SERIALIZABLE"
        with (
            engine.connect().execution_options(isolation_level=isolation) as connection,
            Session(bind=connection) as session,
        ):
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN")
            plans = (
                [plan_named(session, args.plan, runtime.clock())]
                if args.plan
                else all_plans(session)
            )
            for plan in plans:
                verdict = chain.verify(session, plan.id)
                if verdict.ok:
                    print(
                        f"{plan.slug}: {verdict.links:,} history rows verified; head "
                        f"{verdict.head or 'none yet'}"
                    )
                    continue
                failed = True
                print(f"{plan.slug}: the history does not verify.", file=sys.stderr)
                for problem in verdict.problems:
                    print(f"  {problem}", file=sys.stderr)
    finally:
        runtime.close()
    return 1 if failed else 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.plans.kpi_write import add_measure_sheets, measures_markdown, write_measure_csvs
    from bot.plans.write import export, write_csv, write_markdown
    from bot.services.exports import export_rows
    from bot.services.kpi_files import measure_sheets
    from bot.services.plans import plan_named

    if args.output is not None and str(args.output) == "-":
        args.output = None  # `-o -`: standard output, as a file name would be
    fmt: str = args.format or (args.output.suffix.lstrip(".") if args.output else "csv")
    if fmt not in FORMATS:
        raise UserError(f"Cannot export as “{fmt}”: use --format csv, xlsx or md.")
    if fmt == "xlsx" and args.output is None:
        raise UserError("An xlsx export needs a file: -o plan.xlsx.")
    runtime = Runtime.start(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            plan = plan_named(session, args.plan, runtime.clock())
            rows = export_rows(session, plan, settings.tz)
            name = plan.name
            measures = measure_sheets(session, plan, settings.tz)
    finally:
        runtime.close()
    if args.output is not None:
        export(rows, FORMATS[fmt], args.output, title=name)
        print(f"Wrote {len(rows)} actions to {args.output}", file=sys.stderr)
        if FORMATS[fmt] == "xlsx" and measures.measures:
            add_measure_sheets(args.output, measures)
        elif FORMATS[fmt] == "csv" and measures.measures:
            # a CSV holds one table: the measures and their figures go beside it
            written = write_measure_csvs(args.output, measures)
            print(
                f"Wrote {len(measures.measures)} measures to {written[0]} and "
                f"{len(measures.actuals)} figures to {written[1]}",
                file=sys.stderr,
            )
        elif FORMATS[fmt] == "md" and measures.measures:
            with args.output.open("a", encoding="utf-8") as out:
                out.write("\n" + measures_markdown(measures))
    elif fmt == "md":
        sys.stdout.write(write_markdown(rows, name))
        if measures.measures:
            sys.stdout.write("\n" + measures_markdown(measures))
    else:
        write_csv(rows, sys.stdout)
        if measures.measures:
            print(
                f"The plan's {len(measures.measures)} measures are not in this CSV: export with "
                "-o plan.csv to write them beside it (plan-measures.csv, plan-actuals.csv).",
                file=sys.stderr,
            )
    return 0


def cmd_boardpack(settings: Settings, args: argparse.Namespace) -> int:
    from bot.boardpack.service import produce

    if args.output is not None and args.output.suffix.lower() != ".docx":
        raise UserError(f"A board pack is a Word document: -o {args.output.stem}.docx.")
    # Whoever runs the terminal command already holds the database: they act as an admin.
    runtime = Runtime.start(settings.model_copy(update={"admins": settings.admins | {"terminal"}}))
    try:
        caller = Caller(user_id="terminal", source=Surface.TERMINAL, plan_slug=args.plan)
        with runtime.work(caller) as ctx:
            pack = produce(ctx, args.board)
            kept = pack.snapshot
            output = args.output or Path(kept.filename)
            output.write_bytes(pack.content)
    finally:
        runtime.close()
    made = "made and kept" if pack.fresh else "kept for the meeting, given back"
    print(f"Wrote {output}: board pack #{kept.id} ({made}), SHA-256 {kept.sha256}")
    return 0


def cmd_publish(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services import publishing
    from bot.web.public import export

    runtime = Runtime.start(settings.model_copy(update={"admins": settings.admins | {"terminal"}}))
    try:
        caller = Caller(user_id="terminal", source=Surface.TERMINAL, plan_slug=args.plan)
        with runtime.work(caller) as ctx:
            if args.now:
                row, public = publishing.publish(ctx)
            else:
                found = publishing.latest(ctx.session, ctx.plan.id)
                if found is None:
                    raise UserError(
                        f"The progress page of {ctx.plan.slug} is not published: `publish` in "
                        "chat, or `wsoa publish --now -o DIR` to publish it as it stands now."
                    )
                row, public = found, publishing.read(ctx.session, found.id)
        written = export(public, args.output)
    finally:
        runtime.close()
    print(
        f"Wrote {len(written)} files to {args.output}: the progress page published "
        f"{public.published_on} (publication #{row.id}). Upload the folder as it is; "
        "index.html is the page."
    )
    return 0


def cmd_secrets_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from bot.slack.installations import rotate, token_cipher

    cipher = token_cipher(settings.secret_key)
    runtime = Runtime.start(settings)
    try:
        written = rotate(runtime.engine, cipher)
    finally:
        runtime.close()
    print(
        f"Encrypted {written} stored Slack tokens with the first key of WSOA_SECRET_KEY; the "
        "others can now be removed from it."
    )
    return 0


def cmd_plan_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.plans import all_plans, bindings_of

    runtime = Runtime.start(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            lines = []
            for plan in all_plans(session):
                lines.append(f"{plan.slug}: {plan.name}")
                for b in bindings_of(session, plan):
                    channel = f" channel {b.channel}" if b.channel else ""
                    lines.append(f"  bound to {b.platform} {b.workspace}{channel}")
    finally:
        runtime.close()
    print("\n".join(lines) if lines else "No plans yet: `wsoa plan create SLUG NAME` adds one.")
    return 0


def cmd_plan_create(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.plans import create_plan

    runtime = Runtime.start(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            plan = create_plan(session, args.slug, " ".join(args.name), runtime.clock())
            slug, name = plan.slug, plan.name
    finally:
        runtime.close()
    print(f"Created {slug}: {name}. Load it with `wsoa import FILE --plan {slug}`.")
    return 0


def cmd_plan_rename(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.plans import plan_named

    name = " ".join(" ".join(args.name).split())
    if not name or len(name) > 200:
        raise UserError("A plan needs a name of up to 200 characters.")
    runtime = Runtime.start(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            plan = plan_named(session, args.slug, runtime.clock())
            old, plan.name = plan.name, name
    finally:
        runtime.close()
    print(f"Renamed {args.slug}: “{old}” → “{name}”.")
    return 0


def cmd_plan_bind(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.plans import bind_plan, plan_named

    platform, workspace = (
        ("slack", args.slack_team) if args.slack_team else ("teams", args.teams_tenant)
    )
    runtime = Runtime.start(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            plan = plan_named(session, args.slug, runtime.clock())
            bind_plan(session, plan, platform, workspace, args.channel)
    finally:
        runtime.close()
    where = f"{platform} {workspace}" + (f" channel {args.channel}" if args.channel else "")
    print(f"{where} now speaks to {args.slug}.")
    return 0


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    runtime = Runtime.start(settings, migrate=False)
    try:
        upgrade(runtime.engine)
    finally:
        runtime.close()
    print("Database is at the current schema.")
    return 0


if __name__ == "__main__":
    sys.exit(main())


# --- wsoa teams --------------------------------------------------------------------------------


def _add_teams_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    teams = sub.add_parser("teams", help="Microsoft Teams: the app package")
    teams_sub = teams.add_subparsers(dest="teams_command", required=True)
    package = teams_sub.add_parser(
        "package", help="write the Teams app package (manifest and icons) a tenant admin uploads"
    )
    package.add_argument(
        "-o", dest="output", type=Path, default=Path("wsoa-teams.zip"), help="the zip to write"
    )
    package.set_defaults(handler=cmd_teams_package)


def cmd_teams_package(settings: Settings, args: argparse.Namespace) -> int:
    from bot.teams.package import PLACEHOLDER_URL, write_package

    written = write_package(settings, args.output)
    print(f"Wrote {written}: upload it in Teams admin center → Teams apps → Manage apps.")
    if not settings.public_url:
        print(
            f"WSOA_PUBLIC_URL is not set: the app's website, privacy and terms links point at "
            f"{PLACEHOLDER_URL}. Set it and package again before publishing.",
            file=sys.stderr,
        )
    return 0
