"""The results of a run, the targets of issue 5 checked against them, and the Markdown that
shows both (printed, and written into docs/PERFORMANCE.md between its markers)."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.measure import Sample, percentile

BEGIN = "<!-- bench:begin (written by `make bench`; edit outside these markers) -->"
END = "<!-- bench:end -->"
FLOOR = "floor"

# Issue 5's targets, at 10,000 actions and 200,000 updates, on each backend.
P95_TARGET_MS = 250.0
SUMMARY_FLOOR_RATIO = 2.0  # issue 11: within 2× the acknowledgement floor
# issue 11: `summary` and `digest preview` in-process within 2× their queries run bare
DATA_FLOOR_RATIO = 2.0
DATA_FLOOR_COMMANDS = ("summary", "digest preview")
WRITE_P99_MS = 1000.0  # issue 11: the write-heavy mix's p99
DIGEST_TARGET_MS = 1000.0
MEMORY_TARGET_MB = 250.0
SLOW_MS = 3000.0
TARGET_ACTIONS = 10_000


@dataclass
class Latency:
    samples: list[Sample] = field(default_factory=list)

    @property
    def times(self) -> list[float]:
        return [s.ms for s in self.samples if s.ok]

    @property
    def failed(self) -> int:
        return sum(not s.ok for s in self.samples)

    @property
    def p50(self) -> float:
        return percentile(self.times, 0.50)

    @property
    def p95(self) -> float:
        return percentile(self.times, 0.95)

    @property
    def p99(self) -> float:
        return percentile(self.times, 0.99)

    @property
    def max(self) -> float:
        return max(self.times, default=math.nan)


@dataclass
class SizeResult:
    backend: str
    actions: int
    updates: int
    generate_s: float
    # command label → its samples; FLOOR is the bare Bolt app, measured in the same rounds
    latencies: dict[str, Latency]
    statements: dict[str, int]
    # of those, `SELECT count(*)` statements (see bench.inprocess.InProcess.counts)
    counts: dict[str, int]
    digest_ms: float
    render_ms: float
    peak_mb: float
    # read command → in-process ms, and its SELECTs replayed bare (bench.inprocess)
    command_ms: dict[str, float] = field(default_factory=dict)
    bare_ms: dict[str, float] = field(default_factory=dict)
    # command label → its samples through Teams' endpoint (bench.teams)
    teams: dict[str, Latency] = field(default_factory=dict)

    def ratio(self, label: str) -> float:
        return self.latencies[label].p50 / self.latencies[FLOOR].p50

    def data_ratio(self, label: str) -> float:
        bare = self.bare_ms.get(label)
        return self.command_ms[label] / bare if bare else math.nan


@dataclass
class LoadResult:
    backend: str
    actions: int
    updates: int
    clients: int
    seconds: float
    latency: Latency
    by_command: dict[str, Latency]
    peak_mb: float
    mix: str = "read-heavy"

    @property
    def throughput(self) -> float:
        return len(self.latency.samples) / self.seconds

    @property
    def slow(self) -> int:
        return sum(s.ms > SLOW_MS for s in self.latency.samples)


@dataclass
class Run:
    machine: dict[str, str]
    command: str
    requests: int
    warmup: int
    sizes: list[SizeResult] = field(default_factory=list)
    loads: list[LoadResult] = field(default_factory=list)

    @property
    def backends(self) -> list[str]:
        return list(dict.fromkeys(s.backend for s in self.sizes))


def revision() -> str:
    """The code measured: the commit, and whether the working tree differed from it."""
    try:
        found = subprocess.run(
            ["git", "describe", "--always", "--dirty= with uncommitted changes"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return found.stdout.strip()


def machine_info(postgres_version: str | None) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        memory = "unknown"
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": revision(),
        "nproc": str(len(os.sched_getaffinity(0))),
        "CPU": cpu,
        "memory": memory,
        "OS": platform.platform(terse=True),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
    }
    if postgres_version:
        info["PostgreSQL"] = postgres_version
    info["libraries"] = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("slack_bolt", "slack_sdk", "uvicorn", "SQLAlchemy", "psycopg")
    )
    return info


# --- Markdown ----------------------------------------------------------------------------------


def _ms(value: float) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _plan(actions: int, updates: int) -> str:
    return f"{actions:,} / {updates:,}"


def render(run: Run) -> str:
    out = [
        f"Taken on {run.machine['date']}: "
        + "; ".join(f"{k} {v}" for k, v in run.machine.items() if k != "date")
        + ".",
        "",
        f"Reproduce with `{run.command}` (PostgreSQL too when `WSOA_BENCH_PG_URL` or "
        "`WSOA_TEST_DATABASE_URL` is set). Each command: "
        f"{run.warmup} warm-up rounds, then {run.requests} timed requests, interleaved with "
        "the floor's. Times in ms, until the reply is visible (the HTTP answer when the reply "
        "is in the acknowledgement; the response_url post otherwise).",
        "",
        "### Targets",
        "",
        *_targets(run),
        "",
    ]
    for backend in run.backends:
        out += [
            f"### {backend}: time until the reply is visible",
            "",
            *_latency_table(run, backend),
        ]
        out.append("")
    if any(s.teams for s in run.sizes):
        out += [
            "### Teams: time until the reply is posted",
            "",
            "`wsoa serve` with Teams alone in dev mode; each command an activity posted to "
            "`POST /api/messages` from a personal chat, timed until the Bot Connector stand-in "
            "has received the reply.",
            "",
            *_teams_table(run),
            "",
        ]
    if any(s.bare_ms for s in run.sizes):
        out += [
            "### In-process time against the data's own work",
            "",
            "Each read command's whole `execute` in this process (parse, ORM, rules, the reply "
            "rendered as text), against the very SELECTs it issued replayed bare through "
            "SQLAlchemy Core (`exec_driver_sql`, rows fetched); best of 15 each, alternating.",
            "",
            *_data_floor_table(run),
            "",
        ]
    out += ["### SQL statements per command", "", *_statements_table(run), ""]
    out += ["### Digest, memory and load time per plan size", "", *_sizes_table(run), ""]
    if run.loads:
        out += ["### Under load", "", *_load_table(run), ""]
    return "\n".join(out).rstrip() + "\n"


def _latency_table(run: Run, backend: str) -> list[str]:
    rows = [
        "| plan (actions / updates) | command | p50 | p95 | max | p50 ÷ floor | failed |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for size in (s for s in run.sizes if s.backend == backend):
        for i, (label, latency) in enumerate(size.latencies.items()):
            name = "floor (bare Bolt ack)" if label == FLOOR else f"`{label}`"
            ratio = "1.0" if label == FLOOR else f"{size.ratio(label):.1f}"
            rows.append(
                f"| {_plan(size.actions, size.updates) if i == 0 else ''} | {name} "
                f"| {_ms(latency.p50)} | {_ms(latency.p95)} | {_ms(latency.max)} | {ratio} "
                f"| {latency.failed} |"
            )
    return rows


def _teams_table(run: Run) -> list[str]:
    rows = [
        "| backend | plan (actions / updates) | command | p50 | p95 | max | failed |",
        "|---|---|---|--:|--:|--:|--:|",
    ]
    for s in run.sizes:
        for i, (label, latency) in enumerate(s.teams.items()):
            first = i == 0
            rows.append(
                f"| {s.backend if first else ''} | {_plan(s.actions, s.updates) if first else ''} "
                f"| `{label}` | {_ms(latency.p50)} | {_ms(latency.p95)} | {_ms(latency.max)} "
                f"| {latency.failed} |"
            )
    return rows


def _data_floor_table(run: Run) -> list[str]:
    rows = [
        "| backend | plan (actions / updates) | command | in-process ms | bare queries ms "
        "| ratio |",
        "|---|---|---|--:|--:|--:|",
    ]
    for s in run.sizes:
        for i, label in enumerate(s.command_ms):
            plan = _plan(s.actions, s.updates) if i == 0 else ""
            rows.append(
                f"| {s.backend if i == 0 else ''} | {plan} "
                f"| `{label}` | {_ms(s.command_ms[label])} | {_ms(s.bare_ms[label])} "
                f"| {s.data_ratio(label):.1f}× |"
            )
    return rows


def _statements_table(run: Run) -> list[str]:
    columns = [(s.backend, s.actions) for s in run.sizes]
    header = " | ".join(f"{b} {a:,}" for b, a in columns)
    rows = [f"| command | {header} |", "|---|" + "--:|" * len(columns)]
    labels = list(run.sizes[0].statements) if run.sizes else []
    for label in labels:
        cells = " | ".join(str(s.statements.get(label, "–")) for s in run.sizes)
        rows.append(f"| `{label}` | {cells} |")
    return rows


def _sizes_table(run: Run) -> list[str]:
    rows = [
        "| backend | plan (actions / updates) | generated in | digest built (best of 5) "
        "| digest rendered | serve peak memory (VmHWM) |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for s in run.sizes:
        rows.append(
            f"| {s.backend} | {_plan(s.actions, s.updates)} | {s.generate_s:.1f} s "
            f"| {_ms(s.digest_ms)} ms | {_ms(s.render_ms)} ms | {s.peak_mb:.0f} MB |"
        )
    return rows


def _load_table(run: Run) -> list[str]:
    rows = [
        "| backend | mix | plan | clients | seconds | requests | req/s | p50 | p99 | max "
        "| failed | over 3 s | peak memory after |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for load in run.loads:
        lat = load.latency
        rows.append(
            f"| {load.backend} | {load.mix} | {_plan(load.actions, load.updates)} "
            f"| {load.clients} "
            f"| {load.seconds:.0f} | {len(lat.samples)} | {load.throughput:.1f} "
            f"| {_ms(lat.p50)} | {_ms(lat.p99)} | {_ms(lat.max)} | {lat.failed} | {load.slow} "
            f"| {load.peak_mb:.0f} MB |"
        )
    for load in run.loads:
        rows += [
            "",
            f"{load.backend} under {load.mix} load, by command:",
            "",
            "| command | requests | p50 | p99 | max | failed |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for label, lat in load.by_command.items():
            rows.append(
                f"| `{label}` | {len(lat.samples)} | {_ms(lat.p50)} | {_ms(lat.p99)} "
                f"| {_ms(lat.max)} | {lat.failed} |"
            )
    return rows


# --- targets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    holds: bool
    figure: str

    def cell(self) -> str:
        return f"holds: {self.figure}" if self.holds else f"**missed**: {self.figure}"


def check_targets(run: Run, backend: str) -> dict[str, Verdict | None]:
    """Each target against the largest plan measured on `backend` (10,000 actions in a full run);
    None where the run did not measure what the target needs."""
    sizes = [s for s in run.sizes if s.backend == backend]
    if not sizes:
        return {}
    top = max(sizes, key=lambda s: s.actions)
    commands = {k: v for k, v in top.latencies.items() if k != FLOOR}
    worst = max(commands, key=lambda k: commands[k].p95)
    failed = sum(v.failed for v in top.latencies.values())
    statements = _statements_verdict(sorted(sizes, key=lambda s: s.actions))
    load = next((x for x in run.loads if x.backend == backend and x.mix == "read-heavy"), None)
    writes = next((x for x in run.loads if x.backend == backend and x.mix == "write-heavy"), None)
    peak = max([top.peak_mb] + ([load.peak_mb] if load else []))
    summary_ratio = top.ratio("summary") if "summary" in top.latencies else math.nan
    verdicts: dict[str, Verdict | None] = {
        f"every command's p95 < {P95_TARGET_MS:.0f} ms": Verdict(
            commands[worst].p95 < P95_TARGET_MS and failed == 0,
            f"worst `{worst}` {_ms(commands[worst].p95)} ms"
            + (f"; {failed} requests failed" if failed else ""),
        ),
        f"`summary` p50 < {SUMMARY_FLOOR_RATIO:.0f}× floor": Verdict(
            summary_ratio < SUMMARY_FLOOR_RATIO,
            f"{summary_ratio:.1f}× ({_ms(top.latencies['summary'].p50)} vs "
            f"{_ms(top.latencies[FLOOR].p50)} ms)",
        ),
        "SQL statements constant in plan size": statements,
        f"full digest built < {DIGEST_TARGET_MS / 1000:.0f} s": Verdict(
            top.digest_ms < DIGEST_TARGET_MS, f"{_ms(top.digest_ms)} ms"
        ),
        f"peak memory < {MEMORY_TARGET_MB:.0f} MB": Verdict(
            peak < MEMORY_TARGET_MB, f"{peak:.0f} MB"
        ),
        "under load: none failed, none over 3 s": (
            Verdict(
                load.latency.failed == 0 and load.slow == 0,
                f"{load.throughput:.0f} req/s, p99 {_ms(load.latency.p99)} ms, "
                f"{load.latency.failed} failed, {load.slow} over 3 s",
            )
            if load
            else None
        ),
        f"write-heavy load: p99 < {WRITE_P99_MS / 1000:.0f} s, none failed, none over 3 s": (
            Verdict(
                writes.latency.p99 < WRITE_P99_MS
                and writes.latency.failed == 0
                and writes.slow == 0,
                f"{writes.throughput:.0f} req/s, p99 {_ms(writes.latency.p99)} ms, max "
                f"{_ms(writes.latency.max)} ms, {writes.latency.failed} failed, "
                f"{writes.slow} over 3 s",
            )
            if writes
            else None
        ),
    }
    for label in DATA_FLOOR_COMMANDS:
        verdicts[f"`{label}` in-process < {DATA_FLOOR_RATIO:.0f}× its bare queries"] = (
            Verdict(
                top.data_ratio(label) < DATA_FLOOR_RATIO,
                f"{top.data_ratio(label):.1f}× ({_ms(top.command_ms[label])} vs "
                f"{_ms(top.bare_ms[label])} ms)",
            )
            if label in top.command_ms
            else None
        )
    return verdicts


def _statements_verdict(sizes: list[SizeResult]) -> Verdict | None:
    """Constant means: the same statements at every size, apart from `SELECT count(*)` ones. A
    list shorter than its limit needs no count query, so a small plan may issue fewer of those;
    there is at most one per list, whatever the size."""
    if len(sizes) < 2:
        return None
    top = sizes[-1]

    def core(size: SizeResult, label: str) -> int:
        return size.statements[label] - size.counts[label]

    changing = [k for k in top.statements if len({core(s, k) for s in sizes}) > 1]
    if changing:
        return Verdict(
            False,
            "grows for "
            + ", ".join(
                f"`{k}` ({' → '.join(str(s.statements[k]) for s in sizes)})" for k in changing
            ),
        )
    fewer = [k for k in top.statements if len({s.statements[k] for s in sizes}) > 1]
    note = f"the same from {sizes[0].actions:,} to {top.actions:,} actions"
    if fewer:
        note += (
            " but for the count of a list that reached its limit ("
            + ", ".join(f"`{k}`" for k in fewer)
            + ")"
        )
    return Verdict(True, note)


def _targets(run: Run) -> list[str]:
    backends = run.backends
    checked = {b: check_targets(run, b) for b in backends}
    tops = {b: max(s.actions for s in run.sizes if s.backend == b) for b in backends}
    header = " | ".join(f"{b} ({tops[b]:,} actions)" for b in backends)
    rows = [f"| target | {header} |", "|---|" + "---|" * len(backends)]
    names = list(checked[backends[0]]) if backends else []
    for name in names:
        cells = []
        for b in backends:
            verdict = checked[b].get(name)
            cells.append("not measured" if verdict is None else verdict.cell())
        rows.append(f"| {name} | {' | '.join(cells)} |")
    if any(top < TARGET_ACTIONS for top in tops.values()):
        rows += ["", f"The targets are set at {TARGET_ACTIONS:,} actions; this run stopped short."]
    return rows


def write_doc(path: Path, body: str, intro: Sequence[str]) -> None:
    """Put `body` between the markers in `path`, keeping everything outside them."""
    block = f"{BEGIN}\n{body}{END}\n"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(intro) + "\n\n" + block, encoding="utf-8")
        return
    text = path.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        path.write_text(head + block + ("\n" + tail if tail else ""), encoding="utf-8")
    else:
        path.write_text(text.rstrip("\n") + "\n\n" + block, encoding="utf-8")
