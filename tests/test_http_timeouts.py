"""Timeouts wherever a socket is involved: a database that accepts connections and never answers
costs `/healthz` and commands a few seconds, and the server recovers by itself when it returns.
`/healthz` is 200 only on the current schema."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from alembic import command
from sqlalchemy import func, make_url, select, text
from sqlalchemy.exc import OperationalError

from bot.config import Settings
from bot.http.app import build_http_app
from bot.http.server import RunningServer, start_in_thread
from bot.runtime import TOO_LATE, Runtime
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.store.db import alembic_config, make_engine, upgrade
from bot.store.models import Update
from tests.blackhole_proxy import BlackHoleProxy
from tests.conftest import LEAD_11F
from tests.slack_fixtures import SIGNING_SECRET
from tests.slack_requests import SlackClientSim
from tests.slack_standin import SlackStandIn


def health(base_url: str) -> tuple[int, str]:
    try:
        with urlopen(f"{base_url}/healthz", timeout=30) as answer:
            return answer.status, answer.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def served(empty_database_url: str) -> Iterator[tuple[Runtime, RunningServer]]:
    """The HTTP app on an empty database: nothing migrated."""
    runtime = Runtime.start(Settings(WSOA_DATABASE_URL=empty_database_url), migrate=False)
    server = start_in_thread(build_http_app(runtime))
    try:
        yield runtime, server
    finally:
        server.stop()
        runtime.close()


def test_healthz_is_503_until_the_schema_is_current(
    served: tuple[Runtime, RunningServer],
) -> None:
    runtime, server = served
    status, said = health(server.url)
    assert status == 503 and "no schema" in said

    upgrade(runtime.engine)
    assert health(server.url) == (200, "ok\n")

    command.downgrade(alembic_config(runtime.engine), "0002")
    status, said = health(server.url)
    assert status == 503 and "not" in said and "wsoa db upgrade" in said


def test_a_database_that_never_answers_costs_seconds_and_the_server_recovers(
    demo: Runtime, settings: Settings
) -> None:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("the black hole stands in front of PostgreSQL (WSOA_TEST_DATABASE_URL)")
    with BlackHoleProxy(url.host or "127.0.0.1", url.port or 5432) as proxy, SlackStandIn() as api:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        # Slack's own deadline (the tests' default is generous): a hung database must cost
        # no more than it
        through = settings.model_copy(
            update={
                "database_url": proxied,
                "slack_api_url": api.url,
                "db_connect_timeout": 2,
                "answer_within": Settings().answer_within,
            }
        )
        runtime = Runtime.start(through, migrate=False)
        runtime.clock = demo.clock
        server = start_in_thread(
            build_http_app(runtime, slack=build_app(runtime, make_client(through)))
        )
        slack = SlackClientSim(server.url, SIGNING_SECRET, api)
        try:
            assert health(server.url) == (200, "ok\n")
            assert slack.slash("show 11F", user_id=LEAD_11F).status == 200
            before = count_updates(demo)

            proxy.black_hole()
            started = time.monotonic()
            status, said = health(server.url)
            assert status == 503 and time.monotonic() - started < 4, said
            started = time.monotonic()
            typed = slack.slash("update 11F amber Recorded while the database hung", LEAD_11F)
            took = time.monotonic() - started
            assert typed.status == 200 and took < 3.0, (typed.status, took)
            assert TOO_LATE in typed.text
            for _ in range(6):  # a load balancer polling: each answer still comes in seconds
                started = time.monotonic()
                assert health(server.url)[0] == 503
                assert time.monotonic() - started < 4

            proxy.forward()
            deadline = time.monotonic() + 30
            while health(server.url)[0] != 200:
                assert time.monotonic() < deadline, "did not recover"
                time.sleep(0.5)
            answer = slack.slash("update 11F amber Recorded once it came back", LEAD_11F)
            assert answer.status == 200 and "11F" in answer.text and TOO_LATE not in answer.text
            time.sleep(1)  # the hung request's threads have resumed by now, and committed nothing
            assert count_updates(demo) == before + 1
        finally:
            server.stop()
            runtime.close()


def count_updates(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Update)) or 0


def test_connecting_to_a_database_that_never_answers_fails_within_the_connect_timeout(
    settings: Settings,
) -> None:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("the black hole stands in front of PostgreSQL (WSOA_TEST_DATABASE_URL)")
    with BlackHoleProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxy.black_hole()
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        engine = make_engine(proxied, connect_timeout=2)
        failed: list[BaseException] = []

        def connect() -> None:
            try:
                with engine.connect():
                    pass
            except BaseException as error:
                failed.append(error)

        started = time.monotonic()
        attempt = threading.Thread(target=connect, daemon=True)
        attempt.start()
        attempt.join(timeout=10)
        took = time.monotonic() - started
        engine.dispose()
    assert not attempt.is_alive(), "connecting hung"
    assert took < 5 and failed and isinstance(failed[0], OperationalError), (took, failed)


def test_a_statement_that_outlasts_the_statement_timeout_is_cancelled(settings: Settings) -> None:
    if make_url(settings.database_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite has no statements that wait on the server")
    engine = make_engine(settings.database_url, statement_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(OperationalError, match="statement timeout"), engine.connect() as conn:
        conn.execute(text("SELECT pg_sleep(5)"))
    engine.dispose()
    assert time.monotonic() - started < 3
