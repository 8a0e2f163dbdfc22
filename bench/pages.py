"""The partnership's pages on a generated plan: the figures `make bench` prints after each size.
The plan is published once, a lead signs in (a session made as the sign-in link makes one),
and each page is fetched over real HTTP from the app `wsoa serve` runs, under uvicorn in this
process; the first fetch of each warms it, the rest are timed."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from bot.config import Settings
from bot.domain import Surface
from bot.http.server import start_in_thread
from bot.runtime import Runtime
from bot.serve import build_serving_app
from bot.services import publishing, signin
from bot.services.context import Caller
from bot.store.db import unit_of_work
from bot.store.models import Identity, Person, Plan

REQUESTS = 40


@dataclass(frozen=True)
class PageFigure:
    path: str
    p50_ms: float
    p95_ms: float
    size: int

    def line(self) -> str:
        return (
            f"    {self.path:<34} p50 {self.p50_ms:6.1f} ms  p95 {self.p95_ms:6.1f} ms  "
            f"{self.size / 1024:7,.0f} KiB"
        )


@dataclass(frozen=True)
class PagesReport:
    actions: int
    figures: list[PageFigure]

    def lines(self) -> list[str]:
        return [
            f"  pages, {self.actions:,} actions (over HTTP):",
            *(f.line() for f in self.figures),
        ]


def measure_pages(
    database_url: str,
    actions: int,
    lead_user: str,
    lead_ref: str,
    requests: int = REQUESTS,
    now: datetime | None = None,
) -> PagesReport:
    now = now or datetime.now(UTC)
    runtime = Runtime.start(Settings(WSOA_DATABASE_URL=database_url, WSOA_ADMINS="bench"))
    server = None
    try:
        with runtime.work(Caller(user_id="bench", source=Surface.TERMINAL)) as ctx:
            publishing.publish(ctx)
        with unit_of_work(runtime.sessions) as session:
            slug = session.scalars(select(Plan.slug)).one()
            email = session.scalars(
                select(Person.email)
                .join(Identity, Identity.person_id == Person.id)
                .where(Identity.external_id == lead_user)
            ).one()
            assert email is not None
            cookie, _ = signin.start_session(session, email, now)
        server = start_in_thread(build_serving_app(runtime))
        paths = [
            f"/progress/{slug}",
            "/sign-in",
            f"/plans/{slug}",
            f"/plans/{slug}/actions",
            f"/plans/{slug}/actions/{lead_ref}",
            f"/plans/{slug}/followups",
            f"/plans/{slug}/measures",
            f"/plans/{slug}/packs",
            f"/plans/{slug}/forms/wsoa_report_open/{lead_ref}",
        ]
        figures = []
        with httpx.Client(
            base_url=server.url, cookies={"wsoa_session": cookie}, timeout=60
        ) as client:
            for path in paths:
                first = client.get(path)
                if first.status_code != 200:
                    raise RuntimeError(f"{path} answered {first.status_code}")
                samples = []
                for _ in range(requests):
                    started = time.perf_counter()
                    answer = client.get(path)
                    samples.append((time.perf_counter() - started) * 1000)
                    answer.raise_for_status()
                samples.sort()
                figures.append(
                    PageFigure(
                        path=path.replace(slug, "SLUG").replace(lead_ref, "REF"),
                        p50_ms=statistics.median(samples),
                        p95_ms=samples[max(0, round(len(samples) * 0.95) - 1)],
                        size=len(first.content),
                    )
                )
        return PagesReport(actions=actions, figures=figures)
    finally:
        if server is not None:
            server.stop()
        runtime.close()
