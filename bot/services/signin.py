"""Sign-in by an e-mailed link, and the signed-in sessions it starts.

A link is good once, for 15 minutes; a session for 12 hours, or until its owner signs out.
Only SHA-256 digests of links and session cookies are stored, so reading the database signs no
one in, and any replica can check either: nothing is kept in one process's memory.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.store.models import SignInLink, WebSession

LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_link(session: Session, email: str, now: datetime) -> str:
    """A new sign-in link's token for `email` (already known to be allowed)."""
    token = secrets.token_urlsafe(32)
    session.add(
        SignInLink(
            digest=_digest(token), email=email, created_at=now, expires_at=now + LINK_LIFETIME
        )
    )
    session.flush()
    return token


def sent_lately(session: Session, email: str, now: datetime, within: timedelta) -> bool:
    """Whether a link still unused went to `email` within `within`: asking again does not
    send another (no one can fill a partner's inbox, or the e-mail service's quota)."""
    return (
        session.scalar(
            select(SignInLink.id)
            .where(
                SignInLink.email == email,
                SignInLink.used_at.is_(None),
                SignInLink.created_at > now - within,
            )
            .limit(1)
        )
        is not None
    )


def link_is_good(session: Session, token: str, now: datetime) -> bool:
    """Whether the link would sign someone in now: shown before it is used, so a mail scanner
    that opens links uses nothing."""
    link = session.scalars(select(SignInLink).where(SignInLink.digest == _digest(token))).first()
    return link is not None and link.used_at is None and link.expires_at > now


def use_link(session: Session, token: str, now: datetime) -> str | None:
    """The e-mail the link was sent to, marking it used; None when it is unknown, used or
    expired. Two uses at once: the database lets one through."""
    digest = _digest(token)
    used = session.execute(
        update(SignInLink)
        .where(
            SignInLink.digest == digest,
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.scalars(select(SignInLink.email).where(SignInLink.digest == digest)).one()


@dataclass(frozen=True)
class Signed:
    """A signed-in browser: whose it is and the token its forms carry."""

    id: int
    email: str
    csrf: str


def start_session(session: Session, email: str, now: datetime) -> tuple[str, Signed]:
    """The new session's cookie value, and the session."""
    cookie = secrets.token_urlsafe(32)
    row = WebSession(
        digest=_digest(cookie),
        email=email,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    return cookie, Signed(row.id, row.email, row.csrf)


def session_of(session: Session, cookie: str | None, now: datetime) -> Signed | None:
    if not cookie:
        return None
    row = session.scalars(select(WebSession).where(WebSession.digest == _digest(cookie))).first()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    return Signed(row.id, row.email, row.csrf)


def end_session(session: Session, signed: Signed, now: datetime) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.id == signed.id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def csrf_matches(signed: Signed, given: str | None) -> bool:
    return given is not None and secrets.compare_digest(signed.csrf, given)
