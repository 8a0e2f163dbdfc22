"""One-click unsubscribe links (RFC 8058): `<WSOA_PUBLIC_URL>/unsubscribe/<token>`, the token
naming one address and one kind of e-mail, signed (HMAC-SHA256) under WSOA_SECRET_KEY so that
no one can stop another person's e-mail by making up a link. It does not expire: an old
e-mail's link still works, across a key rotation too (signed with the first of WSOA_SECRET_KEY's
keys, accepted under any of them)."""

from __future__ import annotations

import base64
import hashlib
import hmac

MAX_TOKEN_CHARS = 800
PATH = "/unsubscribe/"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signature(secret: str, payload: str) -> str:
    return _b64(
        hmac.new(secret.encode(), b"unsubscribe:" + payload.encode(), hashlib.sha256).digest()
    )


def _keys(secret: str) -> list[str]:
    return [key.strip() for key in secret.split(",") if key.strip()]


def make_token(secret: str, email: str, kind: str) -> str:
    keys = _keys(secret)
    if not keys:
        raise ValueError("WSOA_SECRET_KEY is needed to sign unsubscribe links")
    payload = _b64(f"{email.lower()}\n{kind}".encode())
    return f"{payload}.{_signature(keys[0], payload)}"


def read_token(secret: str, token: str) -> tuple[str, str] | None:
    """(address, kind) the token names, or None when it was made up or altered."""
    keys = _keys(secret)
    if not keys or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    if not any(hmac.compare_digest(signature, _signature(key, payload)) for key in keys):
        return None
    try:
        text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    email, _, kind = text.partition("\n")
    return (email, kind) if email and kind else None


def link(public_url: str, secret: str, email: str, kind: str) -> str:
    return f"{public_url.rstrip('/')}{PATH}{make_token(secret, email, kind)}"
