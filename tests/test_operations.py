"""What an operator hosting many partnerships relies on (issue: hosting): `/metrics` after real
traffic, parsed as Prometheus parses it; logs as JSON lines carrying each request's reference;
and each Teams tenant or Slack workspace seeing only the plan it is bound to."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import bot.teams.connector as bc
from bot.commands import registry
from bot.http.server import RunningServer, start_in_thread
from bot.logs import JsonFormatter, _WithReference
from bot.runtime import Runtime
from bot.serve import build_serving_app
from bot.services.plans import bind_plan, create_plan
from bot.store.db import unit_of_work
from scheduler.deliveries import tick
from tests.conftest import ADMIN, NOW
from tests.http_process import SIGNING_SECRET, serving
from tests.slack_requests import SlackClientSim
from tests.slack_standin import SlackStandIn
from tests.teams_standin import TeamsStandIn
from tests.test_teams_wired import PM_AAD, message, post

SECRET_NOTE = "Confidential-note-7f3a about a budget line"


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def total(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(
        value
        for have, value in found.get(name, [])
        if all(have.get(k) == v for k, v in labels.items())
    )


def test_metrics_after_real_traffic_hold_no_user_text(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    with (
        SlackStandIn() as standin,
        serving(
            database_url,
            standin.url,
            tmp_path / "log",
            WSOA_LOG_FORMAT="json",
            WSOA_AS_OF=NOW.isoformat(),
        ) as bot,
    ):
        sim = SlackClientSim(bot.url, SIGNING_SECRET, standin)
        assert sim.slash("help", user_id=ADMIN).status == 200
        assert sim.slash("summary", user_id=ADMIN).status == 200
        assert sim.slash(f"update 11F amber {SECRET_NOTE}", user_id=ADMIN).status == 200
        assert sim.slash("frobnicate secret-word", user_id=ADMIN).status == 200
        with httpx.Client(base_url=bot.url) as web:
            assert web.get("/healthz").status_code == 200
            assert web.get("/sign-in").status_code == 200
            assert web.get("/progress/nowhere").status_code == 404
            scraped = web.get("/metrics")
        log = bot.log()
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    found = samples(text)
    assert total(found, "wsoa_http_requests_total", surface="slack", status="200") >= 4
    assert total(found, "wsoa_http_requests_total", surface="pages", status="404") == 1
    assert total(found, "wsoa_http_requests_total", surface="health") >= 1
    assert total(found, "wsoa_commands_total", surface="slack", command="summary") == 1
    assert total(found, "wsoa_commands_total", surface="slack", command="unknown") == 1
    assert total(found, "wsoa_http_request_seconds_count", surface="slack") >= 4
    assert (
        "wsoa_db_pool_in_use" in found
        or "wsoa_db_pool_size" in found
        or database_url.startswith("sqlite")
    )
    # nothing typed, no id and no secret in a label
    for forbidden in (SECRET_NOTE, "secret-word", "frobnicate", ADMIN, "xoxb-test", "11F"):
        assert forbidden not in text, forbidden
    # the log: one JSON object a line
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry)


def test_metrics_can_ask_for_a_token(runtime: Runtime) -> None:
    runtime.settings = runtime.settings.model_copy(update={"metrics_token": "scrape-me"})
    server = start_in_thread(build_serving_app(runtime))
    try:
        with httpx.Client(base_url=server.url) as web:
            assert web.get("/metrics").status_code == 401
            assert web.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
            good = web.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
            assert good.status_code == 200 and "wsoa_http_requests_total" in good.text
    finally:
        server.stop()


def test_deliveries_are_counted_by_kind_and_outcome(demo: Runtime) -> None:
    from bot.senders import ConsoleSender

    report = tick(demo, ConsoleSender(), NOW.replace(hour=23))
    found = samples(demo.metrics.text().decode())
    for outcome in ("sent", "skipped"):
        assert total(found, "wsoa_deliveries_total", outcome=outcome) == len(report.keys(outcome))
    kinds = {labels["kind"] for labels, _ in found.get("wsoa_deliveries_total", [])}
    assert kinds <= {"board-digest", "reminder", "weekly", "checkin", "nudge", "participation",
                     "kpi-commentary", "notice", "digest-now"}  # fmt: skip


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []
        self.addFilter(_WithReference())
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def captured() -> Iterator[_Captured]:
    handler = _Captured()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def test_an_apology_quotes_the_reference_its_log_lines_carry(
    runtime: Runtime, captured: _Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Any, args: str) -> Any:
        logging.getLogger("bot.test").warning("about to fail")
        raise RuntimeError("a fault of ours")

    monkeypatch.setitem(
        registry.COMMANDS, "help", dataclasses.replace(registry.COMMANDS["help"], handler=broken)
    )
    with SlackStandIn() as standin:
        from bot.slack.app import build_app
        from bot.slack.client import make_client

        runtime.settings = runtime.settings.model_copy(update={"slack_api_url": standin.url})
        server = start_in_thread(
            build_serving_app(runtime, slack=build_app(runtime, make_client(runtime.settings)))
        )
        try:
            sim = SlackClientSim(server.url, SIGNING_SECRET, standin)
            answer = sim.slash("help", user_id=ADMIN)
        finally:
            server.stop()
    said = answer.text
    quoted = said.split("this reference: ")[1][:8]
    mine = [line for line in captured.lines if line.get("reference") == quoted]
    messages = [line["message"] for line in mine]
    assert any("about to fail" in m for m in messages), captured.lines
    assert any("failed (reference" in m for m in messages)
    assert any("traceback" in line for line in mine)


# --- each tenant and workspace sees only its own plan ----------------------------------------


@pytest.fixture
def teams_served(demo: Runtime) -> Iterator[tuple[RunningServer, TeamsStandIn]]:
    demo.settings = demo.settings.model_copy(
        update={"teams_dev": True, "admins": frozenset({PM_AAD}), "answer_within": 10.0}
    )
    with TeamsStandIn(base_path="/uk/", token=bc.DEV_TOKEN) as standin:
        standin.add_member("29:pm", "Pat Manager", PM_AAD, "pat.manager@demo.example")
        connector = bc.Connector(tokens=bc.DevTokens(), retry=bc.RetryPolicy(base_delay=0.05))
        running = start_in_thread(build_serving_app(demo, teams=connector))
        try:
            yield running, standin
        finally:
            running.stop()
            connector.close()


def _as_tenant(body: dict[str, Any], tenant: str) -> dict[str, Any]:
    body["conversation"]["tenantId"] = tenant
    body["channelData"]["tenant"]["id"] = tenant
    return body


def test_an_unbound_tenant_gets_a_clear_answer_and_no_other_tenants_data(
    demo: Runtime, teams_served: tuple[RunningServer, TeamsStandIn]
) -> None:
    server, standin = teams_served
    with unit_of_work(demo.sessions) as session:
        other = create_plan(session, "other", "Another Local Area", NOW)
        from bot.services.plans import plan_named

        bind_plan(session, plan_named(session, "wsoa", NOW), "teams", "tenant-1", "")
        bind_plan(session, other, "teams", "tenant-2", "")
    url = standin.service_url
    # the bound tenant sees its own plan
    assert post(server.url, message("summary", url, aad=PM_AAD, user="29:pm"))[0] in (200, 202)
    first = standin.wait_for("reply", 1)[-1]
    assert "Demo Local Area" in json.dumps(first.json)
    # a tenant bound to no plan is told so (privately), and shown nothing
    before = len(standin.calls)
    stranger = _as_tenant(message("summary", url, aad=PM_AAD, user="29:pm"), "tenant-9")
    assert post(server.url, stranger)[0] in (200, 202)
    standin.wait_for("send", 1)
    answer = " ".join(json.dumps(c.json) for c in standin.calls[before:])
    assert "not linked to a plan yet" in answer and "its id, tenant-9" in answer
    assert "Demo Local Area" not in answer and "Another Local Area" not in answer
    # the other tenant sees the other plan only
    before = len(standin.calls)
    theirs = _as_tenant(message("summary", url, aad=PM_AAD, user="29:pm"), "tenant-2")
    assert post(server.url, theirs)[0] in (200, 202)
    standin.wait_for("reply", 2)
    answer = " ".join(json.dumps(c.json) for c in standin.calls[before:])
    assert "Another Local Area" in answer and "Demo Local Area" not in answer


def test_a_database_that_binds_nothing_serves_its_one_plan(
    demo: Runtime, teams_served: tuple[RunningServer, TeamsStandIn]
) -> None:
    server, standin = teams_served
    body = _as_tenant(message("summary", standin.service_url, aad=PM_AAD, user="29:pm"), "t-x")
    assert post(server.url, body)[0] in (200, 202)
    assert "Demo Local Area" in json.dumps(standin.wait_for("reply", 1)[-1].json)
