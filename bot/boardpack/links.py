"""Download links for Teams: an unguessable, expiring token that serves one kept board pack.

A token is `<snapshot id>.<expiry, Unix seconds>.<signature>`, the signature an HMAC-SHA256 of
the first two parts under a secret from the settings (base64url, unpadded). It names one
snapshot and cannot be altered to name another, or to live longer, without the secret.
`download` is the handler the web app routes at `GET /files/<token>`: neutral about WSGI or ASGI,
it returns (status, headers, body).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from bot.boardpack import MEDIA_TYPE, snapshots
from bot.runtime import Runtime

DEFAULT_LIFETIME = timedelta(days=7)
MAX_TOKEN_CHARS = 200

Headers = list[tuple[str, str]]


class BadToken(Exception):
    """The token was altered, or is not a token at all."""


class ExpiredToken(BadToken):
    """The token is genuine, and too old."""


def _signature(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_token(snapshot_id: int, expires_at: datetime, secret: str) -> str:
    if not secret:
        raise ValueError("a download secret is needed to make links")
    payload = f"{snapshot_id}.{int(expires_at.timestamp())}"
    return f"{payload}.{_signature(secret, payload)}"


def verify_token(token: str, secret: str, now: datetime) -> int:
    """The snapshot id the token names; raises BadToken if it was altered, ExpiredToken if its
    time is up."""
    if not secret or len(token) > MAX_TOKEN_CHARS:
        raise BadToken("not a download token")
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise BadToken("not a download token")
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(parts[2], _signature(secret, payload)):
        raise BadToken("the token does not match its signature")
    if int(parts[1]) <= int(now.timestamp()):
        raise ExpiredToken("the link has expired")
    return int(parts[0])


def link_for(
    public_url: str,
    snapshot_id: int,
    secret: str,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> str:
    """The URL a Teams message carries: `<WSOA_PUBLIC_URL>/files/<token>`."""
    return f"{public_url.rstrip('/')}/files/{make_token(snapshot_id, now + lifetime, secret)}"


def _refusal(status: int, text: str) -> tuple[int, Headers, bytes]:
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]
    return status, headers, text.encode()


def download(runtime: Runtime, token: str, *, secret: str) -> tuple[int, Headers, bytes]:
    """`GET /files/<token>`: the one snapshot the token names, or a refusal that says nothing
    about any other file."""
    now = runtime.clock()
    try:
        snapshot_id = verify_token(token, secret, now)
    except ExpiredToken:
        return _refusal(410, "This link has expired. Ask for the board pack again.\n")
    except BadToken:
        return _refusal(404, "No such file.\n")
    with runtime.sessions() as session:
        kept = snapshots.get(session, snapshot_id)
        if kept is None:
            return _refusal(404, "No such file.\n")
        headers = [
            ("Content-Type", MEDIA_TYPE),
            ("Content-Disposition", f'attachment; filename="{kept.filename}"'),
            ("Content-Length", str(kept.size)),
            ("Cache-Control", "private, no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("ETag", f'"{kept.sha256}"'),
        ]
        return 200, headers, kept.content
