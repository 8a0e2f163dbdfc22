"""The Teams endpoint's latency, beside Slack's: `wsoa serve` with Teams alone in dev mode
(nothing contacts Microsoft), activities posted to `POST /api/messages` as Teams sends them
(a personal chat, so every answer is one post), each timed until the Bot Connector stand-in
has received the reply. The same commands as Slack's rounds, on the same generated plan."""

from __future__ import annotations

import itertools
import json
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bench.measure import Sample, free_port, start_server
from bench.report import Latency
from tests.teams_standin import TeamsStandIn

if TYPE_CHECKING:
    from bench.generate import GeneratedPlan

DEV_TOKEN = "wsoa-dev-token"  # bot.teams.connector.DEV_TOKEN: what dev mode sends
# The bench's Teams callers: admins by AAD id, so every command (update included) may run.
# Requests rotate over several people's personal chats: the connector keeps each conversation
# under Teams' 7 posts a second (a post every 0.16 s), which would otherwise be what is timed.
CALLERS = 16
TENANT = "bench-tenant"


def caller(k: int) -> tuple[str, str]:
    """(Bot Connector id, AAD object id) of bench caller k."""
    return f"29:bench-{k}", f"0b0b0b0b-0000-4000-8000-{k:012d}"


class Command(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def text(self) -> Callable[[int, str], str]: ...


@dataclass
class TeamsFigures:
    actions: int
    latencies: dict[str, Latency] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"  Teams (dev mode, POST /api/messages), {self.actions:,} actions:"]
        for label, latency in self.latencies.items():
            failed = f", {latency.failed} failed" if latency.failed else ""
            out.append(
                f"    {label:<24} p50 {latency.p50:7.1f} ms  p95 {latency.p95:7.1f} ms"
                f"  max {latency.max:7.1f} ms{failed}"
            )
        return out


def _activity(text: str, service_url: str, n: int) -> bytes:
    user, aad = caller(n % CALLERS)
    body = {
        "type": "message",
        "id": str(n),
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": user, "name": f"Bench Lead {n % CALLERS}", "aadObjectId": aad},
        "conversation": {
            "id": f"a:personal-{user}",
            "conversationType": "personal",
            "tenantId": TENANT,
        },
        "recipient": {"id": "28:wsoa-dev", "name": "WSoA"},
        "text": text,
        "channelData": {"tenant": {"id": TENANT}},
    }
    return json.dumps(body).encode()


def _timed(url: str, standin: TeamsStandIn, text: str, n: int) -> Sample:
    already = len(standin.calls_of("send"))
    request = urllib.request.Request(
        url + "/api/messages",
        data=_activity(text, standin.service_url, n),
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()
        standin.wait_for("send", count=already + 1, timeout=30)
    except (OSError, AssertionError) as failed:
        return Sample(ms=(time.perf_counter() - started) * 1000, ok=False, why=str(failed)[:200])
    return Sample(ms=(time.perf_counter() - started) * 1000, ok=True)


def measure_teams(
    database_url: str,
    actions: int,
    commands: Sequence[Command],
    refs: Sequence[str],
    rounds: int,
    log: Path,
    warmup: int = 3,
) -> TeamsFigures:
    figures = TeamsFigures(actions, {c.label: Latency() for c in commands})
    counter = itertools.count(1)
    with TeamsStandIn(base_path="/uk/", token=DEV_TOKEN) as standin:
        for k in range(CALLERS):
            user, aad = caller(k)
            standin.add_member(user, f"Bench Lead {k}", aad, f"bench.lead.{k}@council.example")
        port = free_port()
        argv = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
        env = {
            "WSOA_DATABASE_URL": database_url,
            "WSOA_TEAMS_DEV": "1",
            "WSOA_ADMINS": ",".join(caller(k)[1] for k in range(CALLERS)),
            "SLACK_BOT_TOKEN": "",
            "SLACK_APP_TOKEN": "",
            "TEAMS_APP_ID": "",
        }
        server = start_server("wsoa serve (Teams)", argv, env, port, log)
        try:
            for n in range(warmup + rounds):
                ref = refs[n % len(refs)]
                for command in commands:
                    sample = _timed(server.url, standin, command.text(n, ref), next(counter))
                    if n >= warmup:
                        figures.latencies[command.label].samples.append(sample)
        finally:
            server.stop()
    return figures


def teams_report(
    database_url: str,
    plan: GeneratedPlan,
    commands: Sequence[Command],
    rounds: int,
    folder: Path,
    backend: str,
) -> TeamsFigures:
    """Each plan size's Teams figures, taken after its Slack ones."""
    log = folder / f"serve-teams-{backend.lower()}-{plan.actions}.log"
    return measure_teams(database_url, plan.actions, commands, plan.lead_refs, rounds, log)
