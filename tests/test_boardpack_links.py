"""Download links for Teams: a token names one kept pack until it expires; an altered or expired
token is refused, and the handler serves that file only."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from bot.boardpack.document import MEDIA_TYPE
from bot.boardpack.links import (
    BadToken,
    ExpiredToken,
    download,
    link_for,
    make_token,
    verify_token,
)
from bot.commands import execute
from bot.runtime import Runtime
from bot.services.context import CONSOLE_CHANNEL, Caller
from tests.conftest import ADMIN, NOW, Clock

SECRET = "a-long-random-download-secret"


def test_a_token_names_its_snapshot_until_it_expires() -> None:
    token = make_token(42, NOW + timedelta(days=7), SECRET)
    assert verify_token(token, SECRET, NOW) == 42
    assert verify_token(token, SECRET, NOW + timedelta(days=6, hours=23)) == 42
    with pytest.raises(ExpiredToken):
        verify_token(token, SECRET, NOW + timedelta(days=7))
    # unguessable: the same snapshot and expiry under another secret is another token
    assert make_token(42, NOW + timedelta(days=7), "another-secret") != token


def altered(token: str) -> list[str]:
    snapshot, expiry, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return [
        f"{int(snapshot) + 1}.{expiry}.{signature}",  # another file
        f"{snapshot}.{int(expiry) + 86_400}.{signature}",  # a longer life
        f"{snapshot}.{expiry}.{flipped}",
        f"{snapshot}.{expiry}",
        f"{snapshot}.{expiry}.{signature}.x",
        "../../etc/passwd",
        "",
        token + "A" * 300,
    ]


def test_altered_tokens_are_refused() -> None:
    token = make_token(42, NOW + timedelta(days=7), SECRET)
    for bad in altered(token):
        with pytest.raises(BadToken):
            verify_token(bad, SECRET, NOW)
    with pytest.raises(BadToken):
        verify_token(token, "", NOW)
    with pytest.raises(ValueError):
        make_token(42, NOW, "")


def test_the_download_handler_serves_that_one_pack(demo: Runtime, clock: Clock) -> None:
    reply = execute(demo, Caller(user_id=ADMIN, channel_id=CONSOLE_CHANNEL), "boardpack")
    data = reply.files[0].data
    link = link_for("https://wsoa.example.org/", 1, SECRET, NOW)
    assert link.startswith("https://wsoa.example.org/files/1.")
    token = link.rsplit("/", 1)[1]

    status, headers, body = download(demo, token, secret=SECRET)
    assert status == 200 and body == data
    fields = dict(headers)
    assert fields["Content-Type"] == MEDIA_TYPE
    assert fields["Content-Disposition"] == f'attachment; filename="{reply.files[0].filename}"'
    assert fields["Cache-Control"] == "private, no-store"
    assert fields["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'

    for bad in altered(token):
        status, _, body = download(demo, bad, secret=SECRET)
        assert status == 404 and body == b"No such file.\n"
    assert download(demo, token, secret="not-the-secret")[0] == 404
    # a genuine token for a pack that does not exist
    assert download(demo, make_token(99, NOW + timedelta(days=1), SECRET), secret=SECRET)[0] == 404

    clock.now = NOW + timedelta(days=8)
    status, _, body = download(demo, token, secret=SECRET)
    assert status == 410 and b"expired" in body
