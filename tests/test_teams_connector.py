"""The Bot Connector client against the local stand-in: the service URL's path kept, retries on
429 (honouring Retry-After) and 412/5xx with exactly one delivery, pacing, member look-up, and
tokens that never reach Microsoft in dev mode."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.config import Settings
from bot.teams import connector as bc
from tests.teams_standin import TeamsStandIn

CHANNEL = "19:abc123@thread.tacv2"
THREAD = f"{CHANNEL};messageid=1700000000000"
MESSAGE = {"type": "message", "text": "hello"}


@pytest.fixture
def standin() -> Iterator[TeamsStandIn]:
    with TeamsStandIn(base_path="/uk/", token=bc.DEV_TOKEN) as running:
        yield running


@pytest.fixture
def client() -> Iterator[bc.Connector]:
    connector = bc.Connector(tokens=bc.DevTokens(), retry=bc.RetryPolicy(base_delay=0.05))
    yield connector
    connector.close()


def test_send_reply_and_update_keep_the_service_url_path(
    standin: TeamsStandIn, client: bc.Connector
) -> None:
    first = client.send(standin.service_url, CHANNEL, MESSAGE)
    reply = client.send(standin.service_url, THREAD, MESSAGE, reply_to=first)
    client.update(standin.service_url, CHANNEL, first, {"type": "message", "text": "edited"})

    calls = standin.calls
    assert [c.kind for c in calls] == ["send", "reply", "update"]
    assert all(c.path.startswith("/uk/v3/conversations/") for c in calls)
    assert calls[0].conversation_id == CHANNEL
    assert calls[1].conversation_id == THREAD and calls[1].route.endswith(f"/activities/{first}")
    assert calls[2].json == {"type": "message", "text": "edited", "id": first}
    assert first and reply and first != reply
    assert all(c.headers["authorization"] == f"Bearer {bc.DEV_TOKEN}" for c in calls)


def test_a_service_url_without_a_trailing_slash_works_too(
    standin: TeamsStandIn, client: bc.Connector
) -> None:
    client.send(standin.service_url.rstrip("/"), CHANNEL, MESSAGE)
    assert standin.delivered()[0].path.startswith("/uk/v3/")


def test_a_429_is_survived_after_retry_after_with_exactly_one_delivery(
    standin: TeamsStandIn, client: bc.Connector
) -> None:
    standin.fail_next(1, status=429, retry_after=1)
    started = time.monotonic()

    activity_id = client.send(standin.service_url, CHANNEL, MESSAGE)

    assert activity_id
    refused, delivered = standin.calls
    assert (refused.status, delivered.status) == (429, 201)
    assert delivered.at - refused.at >= 0.95  # waited as Retry-After said
    assert time.monotonic() - started < 5
    assert len(standin.delivered()) == 1 and len(standin.conversations[CHANNEL]) == 1


@pytest.mark.parametrize("status", [412, 502, 503, 504])
def test_transient_failures_back_off_and_retry(
    status: int, standin: TeamsStandIn, client: bc.Connector
) -> None:
    standin.fail_next(2, status=status)
    client.send(standin.service_url, CHANNEL, MESSAGE)
    assert [c.status for c in standin.calls] == [status, status, 201]
    assert len(standin.delivered()) == 1


def test_it_gives_up_after_the_attempts_and_says_why(standin: TeamsStandIn) -> None:
    connector = bc.Connector(
        tokens=bc.DevTokens(), retry=bc.RetryPolicy(attempts=3, base_delay=0.01)
    )
    standin.fail_next(5, status=502)
    with pytest.raises(bc.ConnectorError) as failed:
        connector.send(standin.service_url, CHANNEL, MESSAGE)
    assert failed.value.status == 502
    assert len(standin.calls) == 3 and standin.delivered() == []


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_a_refusal_is_not_retried(status: int, standin: TeamsStandIn, client: bc.Connector) -> None:
    standin.fail_next(1, status=status)
    with pytest.raises(bc.ConnectorError) as refused:
        client.send(standin.service_url, CHANNEL, MESSAGE)
    assert refused.value.status == status and len(standin.calls) == 1


def test_a_retry_after_too_long_to_wait_fails_fast(standin: TeamsStandIn) -> None:
    connector = bc.Connector(tokens=bc.DevTokens(), retry=bc.RetryPolicy(max_retry_after=2))
    standin.fail_next(1, status=429, retry_after=120)
    started = time.monotonic()
    with pytest.raises(bc.ConnectorError):
        connector.send(standin.service_url, CHANNEL, MESSAGE)
    assert time.monotonic() - started < 1


def test_posts_to_one_conversation_stay_under_seven_a_second(standin: TeamsStandIn) -> None:
    connector = bc.Connector(tokens=bc.DevTokens())
    threads = [
        threading.Thread(
            target=connector.send,
            args=(standin.service_url, THREAD if i % 2 else CHANNEL, {"type": "typing"}),
        )
        for i in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    arrivals = sorted(c.at for c in standin.delivered())
    assert len(arrivals) == 10
    # A thread counts against its channel; Teams takes 7 a second, so no 8 consecutive posts
    # arrive within one (sent 0.16 s apart, they span 1.12 s: room for a loaded machine)
    for i in range(len(arrivals) - 7):
        assert arrivals[i + 7] - arrivals[i] >= 1.0
    # Another conversation is not held up by this one.
    started = time.monotonic()
    connector.send(standin.service_url, "a:personal", MESSAGE)
    assert time.monotonic() - started < 0.5


def test_the_pacer_spaces_slots() -> None:
    now = [100.0]
    pacer = bc.Pacer(interval=0.2, clock=lambda: now[0])
    assert [pacer.reserve("c") for _ in range(3)] == pytest.approx([0.0, 0.2, 0.4])
    assert pacer.reserve("other") == 0.0
    now[0] = 101.0
    assert pacer.reserve("c;messageid=1") == 0.0


def test_a_personal_conversation_is_created_with_the_users_ids(
    standin: TeamsStandIn, client: bc.Connector
) -> None:
    conversation = client.create_personal_conversation(
        standin.service_url, bot_id="28:bot", user_id="29:sam", tenant_id="tenant-1"
    )
    assert conversation == "a:personal-29:sam"
    [created] = standin.calls_of("create_conversation")
    assert created.json["members"] == [{"id": "29:sam"}]
    assert created.json["tenantId"] == "tenant-1" and created.json["bot"] == {"id": "28:bot"}


def test_member_look_up_gives_email_and_upn(standin: TeamsStandIn, client: bc.Connector) -> None:
    standin.add_member(
        "29:sam",
        "Sam Lead",
        "aad-sam",
        email="Sam.Lead@Council.example",
        user_principal_name="sam.lead@council.example",
    )
    member = client.member(standin.service_url, CHANNEL, "29:sam")
    assert member == bc.Member(
        id="29:sam",
        name="Sam Lead",
        aad_object_id="aad-sam",
        email="Sam.Lead@Council.example",
        user_principal_name="sam.lead@council.example",
        tenant_id="tenant-1",
    )
    assert client.member(standin.service_url, CHANNEL, "29:stranger") is None


def test_an_unreachable_service_fails_after_retrying() -> None:
    connector = bc.Connector(
        tokens=bc.DevTokens(), retry=bc.RetryPolicy(attempts=2, base_delay=0.01)
    )
    with pytest.raises(bc.ConnectorError) as failed:
        connector.send("http://127.0.0.1:9/uk/", CHANNEL, MESSAGE)
    assert failed.value.status == 0


def test_a_post_that_timed_out_is_not_repeated() -> None:
    seen: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    connector = bc.Connector(tokens=bc.DevTokens(), transport=httpx.MockTransport(slow))
    with pytest.raises(bc.ConnectorError, match="timed out"):
        connector.send("https://smba.example/uk/", CHANNEL, MESSAGE)
    assert len(seen) == 1


def test_retry_after_as_an_http_date() -> None:
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (bc.retry_after(later) or 0) <= 31
    assert bc.retry_after("2") == 2.0
    assert bc.retry_after("soon") is None and bc.retry_after(None) is None


def test_dev_mode_wins_over_credentials_and_needs_no_network() -> None:
    settings = Settings(
        TEAMS_APP_ID="00000000-1111-4222-8333-444444444444",
        TEAMS_APP_PASSWORD="secret",
        TEAMS_TENANT_ID="tenant-1",
        WSOA_TEAMS_DEV=True,
    )
    assert isinstance(bc.token_provider(settings), bc.DevTokens)
    production = bc.token_provider(settings.model_copy(update={"teams_dev": False}))
    # Built without contacting anyone: MSAL is only created for the first token.
    assert isinstance(production, bc.ClientCredentialTokens) and production._app is None
    with pytest.raises(ValueError, match="TEAMS_APP_ID"):
        bc.token_provider(Settings())
