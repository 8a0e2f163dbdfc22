"""`python -m bench` (`make bench`): what the bot costs as the plan grows, measured through the
real endpoint.

For each plan size, on SQLite and (when WSOA_BENCH_PG_URL or WSOA_TEST_DATABASE_URL is set) on
PostgreSQL: generate the plan, start `wsoa serve --http` against it with the Web API pointed at
a local Slack stand-in, and time signed slash commands until their reply is visible, interleaved
with the same requests to the floor (a bare Bolt app on the same server stack). Then, in this
process, count each command's SQL statements and time a full digest; read the server's peak
memory; and at the largest size, put it under load. Prints the tables and writes them into
docs/PERFORMANCE.md. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

import bot.adapters  # noqa: F401  (each platform declares how it names and reaches people)
from bench.boardpack import measure_boardpack
from bench.generate import ADMIN_USER, BOARD_CHANNEL, LEAD_USER, GeneratedPlan, generate
from bench.imports import measure_import
from bench.inprocess import measure_in_process
from bench.measure import BenchClient, Server, free_port, start_server, timed_slash
from bench.pages import measure_pages
from bench.report import (
    FLOOR,
    Latency,
    LoadResult,
    Run,
    SizeResult,
    machine_info,
    render,
    write_doc,
)
from bench.teams import teams_report
from bot.config import Settings
from bot.domain import Surface
from bot.services.context import Caller
from tests.slack_standin import SlackStandIn

DEFAULT_SIZES = (100, 1_000, 10_000)
UPDATES_PER_ACTION = 20  # 2,000 / 20,000 / 200,000: a few years of 6-weekly reporting
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
DOC = Path(__file__).resolve().parent.parent / "docs" / "PERFORMANCE.md"
DOC_INTRO = (
    "# Performance",
    "",
    "What the bot costs as the plan grows, measured through the real endpoint: `wsoa serve "
    "--http` receives signed slash commands as Slack sends them, with the Web API pointed at a "
    "local stand-in, next to a *floor* (a bare Bolt app on the same server stack that only "
    "acknowledges). The section between the markers is rewritten by `make bench`.",
)


@dataclass(frozen=True)
class BenchCommand:
    label: str
    # the text after /wsoa for round n on action ref r, and what its reply must contain
    text: Callable[[int, str], str]
    expect: Callable[[int, str], str]
    # how often it comes up under load, relative to the others
    weight: int


COMMANDS = (
    BenchCommand("help", lambda n, r: "help", lambda n, r: "what you can type", 1),
    BenchCommand("summary", lambda n, r: "summary", lambda n, r: ": summary", 3),
    BenchCommand("show REF", lambda n, r: f"show {r}", lambda n, r: r, 4),
    BenchCommand("list amber", lambda n, r: "list amber", lambda n, r: "Amber actions", 2),
    BenchCommand(
        "update REF amber NOTE",
        lambda n, r: f"update {r} amber Round {n}: toolkit pilot live in {n % 40 + 2} schools",
        lambda n, r: f"Updated {r}",
        2,
    ),
    BenchCommand("history REF", lambda n, r: f"history {r}", lambda n, r: f"History of {r}", 2),
    BenchCommand("digest preview", lambda n, r: "digest preview", lambda n, r: "digest", 1),
)


# Commands that only read: each is timed in-process against its own queries run bare.
READS = ("summary", "show REF", "list amber", "history REF", "digest preview")
UPDATE = "update REF amber NOTE"
# The write-heavy mix: half the requests are updates, half of those on one hot action (the
# row lock and SQLite's one writer at a time are what it tests), the rest the read mix.
WRITE_SHARE = 0.5
HOT_SHARE = 0.5


@dataclass(frozen=True)
class Options:
    sizes: tuple[int, ...]
    requests: int
    warmup: int
    load_seconds: float
    load_clients: int
    pg_url: str | None
    write: bool
    seed: int


def parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="plan sizes in actions, comma-separated (updates: 20 per action)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: few requests")
    parser.add_argument("--requests", type=int, help="timed requests per command (default 50)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients under load")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write docs/PERFORMANCE.md (default: yes, except with --quick)",
    )
    args = parser.parse_args(argv)
    sizes = tuple(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    load_env = os.environ.get("WSOA_BENCH_LOAD_SECONDS")
    load_seconds = float(load_env) if load_env else (10.0 if args.quick else 60.0)
    return Options(
        sizes=tuple(sorted(sizes)),
        requests=args.requests or (10 if args.quick else 50),
        warmup=2 if args.quick else 5,
        load_seconds=load_seconds,
        load_clients=args.clients,
        pg_url=os.environ.get("WSOA_BENCH_PG_URL") or os.environ.get("WSOA_TEST_DATABASE_URL"),
        write=not args.quick if args.write is None else args.write,
        seed=args.seed,
    )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- databases ---------------------------------------------------------------------------------


@contextmanager
def sqlite_database(folder: Path, actions: int) -> Iterator[str]:
    path = folder / f"bench-{actions}.db"
    yield f"sqlite:///{path}"
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A fresh schema in the given database, dropped afterwards (as the tests do)."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def postgres_version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.scalar(text("SHOW server_version"))).split()[0]
    finally:
        engine.dispose()


# --- one plan size -----------------------------------------------------------------------------


def wsoa_argv(port: int) -> list[str]:
    script = Path(sys.executable).with_name("wsoa")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    return [*command, "serve", "--http", "--host", "127.0.0.1", "--port", str(port)]


def server_env(standin: SlackStandIn, database_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": standin.url,
        "SLACK_APP_TOKEN": "",
        "WSOA_DATABASE_URL": database_url,
        # The lead user is an admin too, so every command (update included) is permitted.
        "WSOA_ADMINS": f"{ADMIN_USER},{LEAD_USER}",
    }


def measure_rounds(
    bot: BenchClient, floor: BenchClient, plan: GeneratedPlan, rounds: int, seed: int
) -> dict[str, Latency]:
    """`rounds` requests of each command and of the floor, in a shuffled order each round, so
    that a noisy moment on the machine falls on all of them alike."""
    rng = random.Random(seed)
    latencies: dict[str, Latency] = {FLOOR: Latency(), **{c.label: Latency() for c in COMMANDS}}
    order: list[BenchCommand | None] = [None, *COMMANDS]  # None: the floor
    for n in range(rounds):
        ref = plan.lead_refs[n % len(plan.lead_refs)]
        rng.shuffle(order)
        for command in order:
            if command is None:
                sample = timed_slash(floor, "summary", LEAD_USER, BOARD_CHANNEL, "ok")
                latencies[FLOOR].samples.append(sample)
            else:
                sample = timed_slash(
                    bot, command.text(n, ref), LEAD_USER, BOARD_CHANNEL, command.expect(n, ref)
                )
                latencies[command.label].samples.append(sample)
            if not sample.ok:
                say(f"    failed: {command.label if command else FLOOR}: {sample.why}")
    return latencies


def run_load(
    server: Server,
    standin: SlackStandIn,
    plan: GeneratedPlan,
    backend: str,
    opts: Options,
    mix: str = "read-heavy",
) -> LoadResult:
    """`opts.load_clients` threads, each a client sending a weighted mix of the commands, one
    after another, for `opts.load_seconds`. The `write-heavy` mix makes half the requests
    updates, half of those on one action."""
    latency = Latency()
    by_command: dict[str, Latency] = {c.label: Latency() for c in COMMANDS}
    deadline = time.monotonic() + opts.load_seconds
    weights = [c.weight for c in COMMANDS]
    update = next(c for c in COMMANDS if c.label == UPDATE)
    reads = [c for c in COMMANDS if c.label != UPDATE]
    read_weights = [c.weight for c in reads]
    hot = plan.lead_refs[0]

    def client_loop(k: int) -> None:
        rng = random.Random(opts.seed * 1000 + k + (500 if mix == "write-heavy" else 0))
        client = BenchClient(server.url, SIGNING_SECRET, standin, f"load{mix[0]}{k}-")
        n = 0
        while time.monotonic() < deadline:
            ref = rng.choice(plan.lead_refs)
            if mix != "write-heavy":
                command = rng.choices(COMMANDS, weights)[0]
            elif rng.random() < WRITE_SHARE:
                command = update
                ref = hot if rng.random() < HOT_SHARE else ref
            else:
                command = rng.choices(reads, read_weights)[0]
            n += 1
            sample = timed_slash(
                client, command.text(n, ref), LEAD_USER, BOARD_CHANNEL, command.expect(n, ref)
            )
            # list.append is atomic under the GIL: the clients share these lists safely
            latency.samples.append(sample)
            by_command[command.label].samples.append(sample)
            if not sample.ok:
                say(f"    failed under load: {command.label}: {sample.why}")

    started = time.monotonic()
    threads = [
        threading.Thread(target=client_loop, args=(k,), name=f"load-{k}")
        for k in range(opts.load_clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(
        backend=backend,
        actions=plan.actions,
        updates=plan.updates,
        clients=opts.load_clients,
        seconds=time.monotonic() - started,
        latency=latency,
        by_command=by_command,
        peak_mb=server.peak_memory_mb(),
        mix=mix,
    )


def run_size(
    backend: str,
    database_url: str,
    actions: int,
    largest: bool,
    floor: Server,
    standin: SlackStandIn,
    folder: Path,
    opts: Options,
) -> tuple[SizeResult, list[LoadResult]]:
    updates = actions * UPDATES_PER_ACTION
    say(f"{backend}, {actions:,} actions / {updates:,} updates: generating")
    plan = generate(database_url, actions, updates, seed=opts.seed)
    say(f"  generated in {plan.seconds:.1f} s; starting wsoa serve --http")
    standin.reset()
    port = free_port()
    server = start_server(
        "wsoa serve",
        wsoa_argv(port),
        server_env(standin, database_url),
        port,
        folder / f"serve-{backend.lower()}-{actions}.log",
    )
    loads: list[LoadResult] = []
    try:
        bot = BenchClient(server.url, SIGNING_SECRET, standin, "bot-")
        floor_client = BenchClient(floor.url, SIGNING_SECRET, standin, "floor-")
        say(f"  warming up ({opts.warmup} rounds), then {opts.requests} timed rounds")
        measure_rounds(bot, floor_client, plan, opts.warmup, opts.seed)
        latencies = measure_rounds(bot, floor_client, plan, opts.requests, opts.seed + 1)
        say("  counting SQL statements and timing the digest in-process")
        settings = Settings(WSOA_DATABASE_URL=database_url, WSOA_ADMINS=f"{ADMIN_USER},{LEAD_USER}")
        caller = Caller(user_id=LEAD_USER, channel_id=BOARD_CHANNEL, source=Surface.SLACK)
        ref = plan.lead_refs[0]
        in_process = measure_in_process(
            settings,
            caller,
            [(c.label, c.text(opts.requests + 1, ref)) for c in COMMANDS],
            BOARD_CHANNEL,
            reads=READS,
        )
        say(measure_boardpack(database_url, actions).line())
        say("\n".join(measure_pages(database_url, actions, LEAD_USER, ref).lines()))
        teams = teams_report(database_url, plan, COMMANDS, opts.requests, folder, backend)
        say("\n".join(teams.lines()))
        peak = server.peak_memory_mb()
        if largest and opts.load_seconds > 0:
            for mix in ("read-heavy", "write-heavy"):
                say(
                    f"  under {mix} load: {opts.load_clients} clients for {opts.load_seconds:.0f} s"
                )
                loads.append(run_load(server, standin, plan, backend, opts, mix))
    finally:
        server.stop()
    result = SizeResult(
        backend=backend,
        actions=actions,
        updates=plan.updates,
        generate_s=plan.seconds,
        latencies=latencies,
        statements=in_process.statements,
        counts=in_process.counts,
        digest_ms=in_process.digest_ms,
        render_ms=in_process.render_ms,
        peak_mb=peak,
        command_ms=in_process.command_ms,
        bare_ms=in_process.bare_ms,
        teams=teams.latencies,
    )
    return result, loads


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse(argv)
    pg_version = postgres_version(opts.pg_url) if opts.pg_url else None
    given = list(argv) if argv is not None else sys.argv[1:]
    invocation = "python -m bench " + " ".join(given) if given else "make bench"
    run = Run(
        machine=machine_info(pg_version),
        command=invocation,
        requests=opts.requests,
        warmup=opts.warmup,
    )
    folder = Path(tempfile.mkdtemp(prefix="wsoa-bench-"))
    started = time.monotonic()
    try:
        with SlackStandIn() as standin:
            floor_port = free_port()
            floor = start_server(
                "floor",
                [sys.executable, "-m", "bench.floor", "--port", str(floor_port)],
                server_env(standin, "sqlite://"),
                floor_port,
                folder / "floor.log",
            )
            try:
                for backend in ["SQLite", "PostgreSQL"] if opts.pg_url else ["SQLite"]:
                    empty = (
                        postgres_database(opts.pg_url)
                        if backend == "PostgreSQL" and opts.pg_url
                        else sqlite_database(folder, 0)
                    )
                    with empty as url:
                        say(f"{backend}:")
                        say(measure_import(url).line())
                    for actions in opts.sizes:
                        largest = actions == opts.sizes[-1]
                        database = (
                            postgres_database(opts.pg_url)
                            if backend == "PostgreSQL" and opts.pg_url
                            else sqlite_database(folder, actions)
                        )
                        with database as url:
                            size, loads = run_size(
                                backend, url, actions, largest, floor, standin, folder, opts
                            )
                        run.sizes.append(size)
                        run.loads += loads
            finally:
                floor.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    say(f"done in {(time.monotonic() - started) / 60:.1f} min")
    body = render(run)
    print(body)
    if opts.write:
        write_doc(DOC, body, DOC_INTRO)
        say(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
