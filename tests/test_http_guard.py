"""Nothing costly before authentication: bodies are capped before they are read, signatures and
timestamps checked before anything is parsed, and refusals cost no traceback."""

from __future__ import annotations

import hashlib
import hmac
import logging
import select
import socket
import time
from pathlib import Path

import pytest

from bot.http.slack import MAX_BODY, signature_problem
from bot.runtime import Runtime
from tests.http_process import SIGNING_SECRET, serving
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401
from tests.slack_requests import FORM, JSON, sign
from tests.slack_standin import SlackStandIn

MB = 1024 * 1024
CHUNK = b"x" * 65536


def raw_post(port: int, head: list[str], body_bytes: int, *, chunked: bool) -> tuple[int, int]:
    """POST `body_bytes` of junk, stopping as soon as the server answers; (status, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    lines = ["POST /slack/events HTTP/1.1", "Host: 127.0.0.1", *head, "", ""]
    sent = 0
    try:
        sock.sendall("\r\n".join(lines).encode())
        while sent < body_bytes:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            data = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n" if chunked else CHUNK
            sock.sendall(data)
            sent += len(CHUNK)
        answer = sock.recv(4096)
    except (BrokenPipeError, ConnectionResetError):
        answer = sock.recv(4096)
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, sent


def test_a_200_mb_unsigned_body_is_refused_quickly_in_bounded_memory(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    size = 200 * MB
    with SlackStandIn() as standin, serving(database_url, standin.url, tmp_path / "log") as bot:
        before = bot.peak_rss_kb()
        started = time.monotonic()
        # Content-Length says it all: refused before the body is read (what was sent is what
        # the kernels buffered before the answer was seen).
        declared = raw_post(bot.port, [f"Content-Length: {size}"], size, chunked=False)
        # No Content-Length: refused once the bytes received pass the cap.
        streamed = raw_post(bot.port, ["Transfer-Encoding: chunked"], size, chunked=True)
        # A Content-Length that lies (small): only that much is read, and it is not signed.
        lying = raw_post(bot.port, ["Content-Length: 100"], size, chunked=False)
        elapsed = time.monotonic() - started
        growth_mb = (bot.peak_rss_kb() - before) / 1024
        log = bot.log()

    assert declared[0] == 413 and declared[1] < 16 * MB, declared
    assert streamed[0] == 413 and streamed[1] < 16 * MB, streamed
    assert lying[0] == 401 and lying[1] < 16 * MB, lying
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert growth_mb < 40, f"the server grew by {growth_mb:.0f} MB"
    assert "Traceback" not in log, log


def _signed_headers(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    return sign(SIGNING_SECRET, body, int(timestamp) if timestamp else None)


def test_a_body_just_over_the_cap_is_refused_even_when_signed(slack: SlackHarness) -> None:
    body = b"text=" + b"a" * MAX_BODY
    result = slack.sim.post(body, FORM)
    assert result.status == 413
    assert slack.updates() == 0


def test_unsigned_malformed_and_badly_timed_requests_get_401_without_a_traceback(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sim = slack.sim
    command = b"command=%2Fwsoa&text=update+11F+red+x&user_id=U0DEMOPM"
    now = str(int(time.time()))
    refusals = {
        "no signature": sim.post(command, FORM, signature=""),
        "wrong signature": sim.post(command, FORM, signature="v0=" + "0" * 64),
        "malformed signature": sim.post(command, FORM, signature="sha1=abc"),
        "stale": sim.post(command, FORM, timestamp=int(time.time()) - 301),
        "future": sim.post(command, FORM, timestamp=int(time.time()) + 301),
        "malformed JSON, unsigned": sim.post(b'{"type": "event_callback", ', JSON, signature=""),
        "binary, unsigned": sim.post(bytes(range(256)), JSON, signature=""),
        "binary, forged": sim.post(
            b"\xff\xfe" + bytes(range(256)), JSON, signature="v0=" + "a" * 64
        ),
        "empty, unsigned": sim.post(b"", FORM, signature=""),
        "payload not JSON, unsigned": sim.post(b"payload=%7Bnot-json", FORM, signature=""),
    }
    # A timestamp that is not a number, though the signature matches it: refused, not parsed.
    for timestamp in ("12ab", "1e9", " 1", "-1", now + ".5", "²"):
        base = f"v0:{timestamp}:".encode() + command
        digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
        refusals[f"timestamp {timestamp!r}"] = sim.post(
            command,
            FORM,
            signature=f"v0={digest}",
            headers={"X-Slack-Request-Timestamp": timestamp},
        )

    assert {name: r.status for name, r in refusals.items() if r.status != 401} == {}
    assert slack.updates() == 0
    assert slack.standin.calls == []
    assert not [r for r in caplog.records if r.exc_info], "a refusal logged a traceback"


def test_signed_but_malformed_bodies_get_400_without_a_traceback(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    sim = slack.sim
    answers = {
        "truncated JSON": sim.post(b'{"type": "event_callback", ', JSON),
        "not UTF-8": sim.post(b"\xff\xfe" + bytes(range(128, 256)), FORM),
        "payload not JSON": sim.post(b"payload=%7Bnot-json", FORM),
        "JSON list": sim.post(b"[1, 2]", JSON),
    }
    assert {name: r.status for name, r in answers.items() if r.status >= 500} == {}
    assert slack.updates() == 0
    assert not [r for r in caplog.records if r.exc_info], "a malformed body logged a traceback"


def test_the_signature_check_reads_only_two_headers_and_the_bytes() -> None:
    body = b"anything at all"
    now = time.time()
    good = {k.lower(): v for k, v in sign("s3cret", body, int(now)).items()}
    assert signature_problem("s3cret", good, body, now) is None
    assert signature_problem("other", good, body, now) == "signature does not match"
    assert signature_problem("s3cret", good, body + b"!", now) == "signature does not match"
    assert signature_problem("s3cret", good, body, now + 301) == "stale X-Slack-Request-Timestamp"
    non_numeric = {**good, "x-slack-request-timestamp": "soon"}
    assert "non-numeric" in str(signature_problem("s3cret", non_numeric, body, now))
    assert "non-numeric" in str(signature_problem("s3cret", {}, body, now))
