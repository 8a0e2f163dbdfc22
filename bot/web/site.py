"""The partnership's pages, one part of the one app (bot/http/app.py):

- `GET /progress/SLUG`: the public progress page, from its latest published snapshot;
- `GET|POST /sign-in`, `GET|POST /sign-in/TOKEN`, `POST /sign-out`: sign-in by e-mailed link;
- `GET /plans`, `GET /plans/SLUG/…`: the live plan for signed-in partners, built from the same
  commands, buttons and forms as the chat (bot/commands): the HTML renderer is one more renderer
  of the same replies;
- `GET /accessibility`, `GET /assets/…`.

Server-rendered, no JavaScript; a Content-Security-Policy that allows no script at all; every
form carries a CSRF token (the session's, or before sign-in a double-submit cookie).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import anyio.to_thread
from fastapi import FastAPI
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.boardpack import MEDIA_TYPE as DOCX
from bot.boardpack import snapshots as packs
from bot.commands.followups import listing_reply
from bot.commands.interactions import FORMS, main_field, press, submit
from bot.commands.registry import execute, failure_apology
from bot.config import Settings
from bot.domain import FieldError, Surface, UserError, day_text
from bot.impact import alt_text
from bot.mail import Mail, MailFailed, Transport
from bot.mail import unsubscribe as unsubscribe_links
from bot.render import layout
from bot.render.html import render_page, render_reply
from bot.replies import Button, ButtonId, Form, FormField, FormSubmission, Reply
from bot.runtime import Runtime
from bot.services import followups as followup_service
from bot.services import kpis, mailing, partners, publishing, signin
from bot.services.actions import page_of_actions
from bot.services.context import Caller
from bot.services.partners import Access, OpenPlan
from bot.services.plans import plan_named
from bot.store.db import unit_of_work
from bot.web.public import STATIC, STYLESHEET, Published, accessibility_html

log = logging.getLogger(__name__)
T = TypeVar("T")

SESSION_COOKIE = "wsoa_session"
# before sign-in: the double-submit cookie whose value the sign-in forms carry
FORM_COOKIE = "wsoa_form"
SERVICE_NAME = "SEND partnership plan"
ACTIONS_PER_PAGE = 100
# an address asking again within this gets no second link while the first is unused
RESEND_AFTER = timedelta(minutes=1)
FOLLOWUPS_PER_PAGE = 50
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
ASSETS = {
    STYLESHEET: "text/css; charset=utf-8",
    "LICENCE-govuk-frontend.txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class Visitor:
    """A signed-in person on one plan's pages."""

    signed: signin.Signed
    plan: OpenPlan

    @property
    def caller(self) -> Caller:
        return Caller(
            user_id=self.signed.email,
            email=self.signed.email,
            platform="web",
            source=Surface.WEB,
            plan_slug=self.plan.slug,
        )


class Site:
    def __init__(self, runtime: Runtime, transport: Transport | None) -> None:
        self.runtime = runtime
        self.transport = transport
        self.published = Published()
        self.stylesheet = (STATIC / STYLESHEET).read_bytes()

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def secure(self) -> bool:
        """Cookies are Secure when the bot's public address is HTTPS."""
        return self.settings.public_url.startswith("https://")

    # --- plumbing ----------------------------------------------------------------------------

    async def _run(self, work: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(work)

    def _now(self) -> datetime:
        return self.runtime.clock()

    def _reading(self, work: Callable[[Any], T]) -> T:
        with unit_of_work(self.runtime.sessions) as session:
            return work(session)

    def _page(self, template: str, status: int = 200, **values: Any) -> Response:
        values.setdefault("service_name", SERVICE_NAME)
        values.setdefault("service_url", "/plans")
        values.setdefault("navigation", [])
        values.setdefault("signed_in", None)
        values.setdefault("csrf", "")
        values.setdefault("public_page", False)
        values.setdefault("error_title", False)
        values.setdefault("assets", "/assets/")
        values.setdefault("accessibility_url", "/accessibility")
        return self._html(render_page(template, **values).encode(), status)

    def _html(self, body: bytes, status: int = 200, *, private: bool = True) -> Response:
        headers = dict(SECURITY_HEADERS)
        headers["Cache-Control"] = "no-store" if private else "public, max-age=60"
        return Response(body, status, headers=headers, media_type="text/html; charset=utf-8")

    def _message(self, heading: str, *lines: str, status: int = 200, **values: Any) -> Response:
        return self._page("message.html", status, heading=heading, lines=lines, **values)

    def _not_found(self, visitor: Visitor | None = None) -> Response:
        values = self._chrome(visitor) if visitor else {}
        return self._message(
            "Page not found",
            "If you typed the web address, check it is correct.",
            status=404,
            **values,
        )

    def _set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    # --- public ------------------------------------------------------------------------------

    async def asset(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        if name not in ASSETS:
            return Response("Not found\n", 404, media_type="text/plain")
        body = self.stylesheet if name == STYLESHEET else (STATIC / name).read_bytes()
        return Response(
            body,
            headers={"Cache-Control": "public, max-age=3600", **SECURITY_HEADERS},
            media_type=ASSETS[name],
        )

    async def accessibility(self, request: Request) -> Response:
        return self._html(
            accessibility_html(SERVICE_NAME, assets="/assets/", home=None).encode(),
            private=False,
        )

    def _publication(self, slug: str) -> tuple[int, publishing.PublicPlan] | None:
        def read(session: Any) -> tuple[int, publishing.PublicPlan] | None:
            found = publishing.latest_id(session, slug)
            if found is None:
                return None
            return found, self.published.plan(found, lambda: publishing.read(session, found))

        return self._reading(read)

    async def progress(self, request: Request) -> Response:
        slug = str(request.path_params["slug"])
        found = await self._run(lambda: self._publication(slug))
        if found is None:
            return self._message(
                "Page not found",
                "This plan's progress page has not been published, or has been withdrawn.",
                status=404,
                service_name="Written Statement of Action progress",
                service_url=None,
                public_page=True,
            )
        publication_id, plan = found
        return self._html(self.published.page(publication_id, plan), private=False)

    async def progress_chart(self, request: Request) -> Response:
        slug = str(request.path_params["slug"])
        wanted = str(request.path_params["publication"])
        name = str(request.path_params["name"])
        found = await self._run(lambda: self._publication(slug))
        if found is None or str(found[0]) != wanted or not name.endswith(".png"):
            return Response("Not found\n", 404, media_type="text/plain")
        publication_id, plan = found
        png = await self._run(
            lambda: self.published.chart(publication_id, plan, name.removesuffix(".png"))
        )
        if png is None:
            return Response("Not found\n", 404, media_type="text/plain")
        return Response(
            png,
            headers={"Cache-Control": "public, max-age=86400", **SECURITY_HEADERS},
            media_type="image/png",
        )

    # --- sign-in -----------------------------------------------------------------------------

    def _form_token(self, request: Request) -> str:
        return request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)

    def _form_token_matches(self, request: Request, form: FormData) -> bool:
        cookie = request.cookies.get(FORM_COOKIE)
        given = form.get("csrf")
        if not cookie or not isinstance(given, str):
            return False
        return secrets.compare_digest(cookie, given)

    def _with_form_cookie(self, response: Response, token: str) -> Response:
        self._set_cookie(response, FORM_COOKIE, token, max_age=3600)
        return response

    async def sign_in_form(self, request: Request) -> Response:
        token = self._form_token(request)
        page = self._page(
            "signin.html",
            csrf=token,
            email=request.query_params.get("email", "")[:320],
            next=_next_page(request.query_params.get("next")),
            error=None,
            service_url=None,
        )
        return self._with_form_cookie(page, token)

    async def sign_in(self, request: Request) -> Response:
        form = await request.form()
        token = self._form_token(request)
        if not self._form_token_matches(request, form):
            return self._with_form_cookie(self._expired_form(token), token)
        typed = str(form.get("email") or "")
        after = _next_page(_text(form, "next"))
        try:
            email = partners.normal_email(typed)
        except UserError:
            page = self._page(
                "signin.html",
                400,
                csrf=token,
                email=typed[:320],
                next=after,
                error="Enter an e-mail address in the correct format, like name@example.org",
                error_title=True,
                service_url=None,
            )
            return self._with_form_cookie(page, token)
        page = self._message(
            "Check your e-mail",
            f"If {email} may sign in, we have sent a link to it. The link works once, "
            "for 15 minutes.",
            "If nothing arrives, check your junk mail, or ask the partnership's programme "
            "manager to add your address.",
            service_url=None,
        )
        # after the answer, and all of it (who may sign in, the link, the e-mail), so a known
        # address and an unknown one answer alike, in the same time
        page.background = BackgroundTask(self._send_link, email, after)
        return page

    def _new_link(self, email: str) -> str | None:
        def make(session: Any) -> str | None:
            if not partners.plans_open_to(session, self.settings, email):
                return None
            if signin.sent_lately(session, email, self._now(), RESEND_AFTER):
                log.info("a sign-in link went to this address a moment ago: not sent again")
                return None
            if self.transport is None or not self.settings.public_url:
                # a link's address comes from the settings, never from the request's Host
                # header, which anyone can set
                log.warning(
                    "sign-in link not sent: WSOA_SMTP_URL and WSOA_PUBLIC_URL are both needed"
                )
                return None
            return signin.new_link(session, email, self._now())

        return self._reading(make)

    async def _send_link(self, email: str, after: str | None) -> None:
        token = await self._run(lambda: self._new_link(email))
        if token is None:
            return
        url = f"{self.settings.public_url.rstrip('/')}/sign-in/{token}"
        if after:
            url += "?" + urlencode({"next": after})
        mail = Mail(
            to=email,
            subject="Your link to sign in to the SEND partnership's plan",
            text=(
                "Use this link to sign in to the partnership's Written Statement of Action "
                f"pages:\n\n{url}\n\nIt works once, within 15 minutes. If you did not ask to "
                "sign in, you can ignore this e-mail.\n"
            ),
        )
        transport = self.transport
        assert transport is not None
        try:
            await self._run(lambda: transport.send(mail, self._now()))
        except MailFailed as failed:
            log.warning("sign-in link to a partner not sent: %s", failed)

    def _expired_form(self, token: str) -> Response:
        return self._message(
            "This form has expired",
            "Go back, reload the page and try again.",
            status=400,
            next_url="/sign-in",
            next_label="Sign in",
            service_url=None,
        )

    async def sign_in_link(self, request: Request) -> Response:
        link = str(request.path_params["token"])
        good = await self._run(
            lambda: self._reading(lambda s: signin.link_is_good(s, link, self._now()))
        )
        if not good:
            return self._link_gone()
        token = self._form_token(request)
        after = _next_page(request.query_params.get("next"))
        page = self._message(
            "Sign in",
            "Select the button to sign in. The link then stops working.",
            confirm_action=f"/sign-in/{quote(link)}"
            + ("?" + urlencode({"next": after}) if after else ""),
            confirm_label="Sign in",
            csrf=token,
            service_url=None,
        )
        return self._with_form_cookie(page, token)

    def _link_gone(self) -> Response:
        return self._message(
            "This sign-in link has expired or has been used",
            "Each link works once, within 15 minutes. Ask for a new one.",
            status=400,
            next_url="/sign-in",
            next_label="Get a new sign-in link",
            service_url=None,
        )

    async def use_link(self, request: Request) -> Response:
        link = str(request.path_params["token"])
        form = await request.form()
        if not self._form_token_matches(request, form):
            return self._expired_form(self._form_token(request))

        def begin(session: Any) -> str | None:
            email = signin.use_link(session, link, self._now())
            if email is None:
                return None
            cookie, _ = signin.start_session(session, email, self._now())
            return cookie

        cookie = await self._run(lambda: self._reading(begin))
        if cookie is None:
            return self._link_gone()
        after = _next_page(request.query_params.get("next"))
        response = RedirectResponse(after or "/plans", status_code=303)
        self._set_cookie(
            response, SESSION_COOKIE, cookie, int(signin.SESSION_LIFETIME.total_seconds())
        )
        response.delete_cookie(FORM_COOKIE, path="/")
        return response

    async def sign_out(self, request: Request) -> Response:
        form = await request.form()
        signed = await self._signed(request)
        if signed is not None and signin.csrf_matches(signed, _text(form, "csrf")):
            await self._run(
                lambda: self._reading(lambda s: signin.end_session(s, signed, self._now()))
            )
        elif signed is not None:
            return self._message(
                "This form has expired", "Reload the page and try again.", status=400
            )
        response = self._message(
            "You have signed out",
            next_url="/sign-in",
            next_label="Sign in again",
            service_url=None,
        )
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def _signed(self, request: Request) -> signin.Signed | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        return await self._run(
            lambda: self._reading(lambda s: signin.session_of(s, cookie, self._now()))
        )

    # --- unsubscribe (RFC 8058) --------------------------------------------------------------

    def _unsubscribe_token(self, request: Request) -> tuple[str, str] | None:
        token = str(request.path_params["token"])
        return unsubscribe_links.read_token(self.settings.secret_key, token)

    def _bad_unsubscribe(self) -> Response:
        return self._message(
            "This link is not valid",
            "Check it is the whole link from the e-mail, or ask the partnership's programme "
            "manager to stop the e-mails.",
            status=400,
            service_url=None,
        )

    async def unsubscribe_page(self, request: Request) -> Response:
        """Opening the link only asks: a mail scanner that opens it stops nothing."""
        found = self._unsubscribe_token(request)
        if found is None:
            return self._bad_unsubscribe()
        email, kind = found
        return self._message(
            "Stop these e-mails?",
            f"{email} will get no more {mailing.KIND_WORDS.get(kind, kind)} from the SEND "
            "partnership's bot.",
            confirm_action=request.url.path,
            confirm_label="Stop these e-mails",
            service_url=None,
        )

    async def unsubscribe(self, request: Request) -> Response:
        """The one-click POST (`List-Unsubscribe=One-Click`, form-encoded or multipart, from a
        mail provider) or the page's button: the signed token is the whole authority, so no
        cookie or CSRF token is asked for (a provider sends neither)."""
        await request.form()  # read and bounded; its one field says nothing the URL does not
        found = self._unsubscribe_token(request)
        if found is None:
            return self._bad_unsubscribe()
        email, kind = found
        await self._run(
            lambda: self._reading(lambda s: mailing.unsubscribe(s, email, kind, self._now()))
        )
        log.info("an address unsubscribed from %s", kind)
        return self._message(
            "You have unsubscribed",
            f"{email} will get no more {mailing.KIND_WORDS.get(kind, kind)} from the SEND "
            "partnership's bot.",
            service_url=None,
        )

    # --- signed-in pages ---------------------------------------------------------------------

    async def _visitor(self, request: Request) -> Visitor | Response:
        """The signed-in person on the plan the path names, or the answer to give instead:
        to sign in, or not found (a plan they may not see is not shown to exist)."""
        signed = await self._signed(request)
        if signed is None:
            return RedirectResponse("/sign-in", status_code=303)
        slug = str(request.path_params["slug"])
        open_plans = await self._run(
            lambda: self._reading(lambda s: partners.plans_open_to(s, self.settings, signed.email))
        )
        plan = open_plans.get(slug)
        if plan is None:
            return self._not_found()
        return Visitor(signed, plan)

    async def _posted(self, request: Request) -> tuple[Visitor, FormData] | Response:
        """A signed-in person's form, with its CSRF token checked: them and the form, or the
        answer to give instead."""
        visitor = await self._visitor(request)
        if isinstance(visitor, Response):
            return visitor
        form = await request.form()
        if not signin.csrf_matches(visitor.signed, _text(form, "csrf")):
            return self._message(
                "This form has expired", "Reload the page and try again.", status=400,
                **self._chrome(visitor),
            )  # fmt: skip
        return visitor, form

    def _chrome(self, visitor: Visitor, current: str = "") -> dict[str, Any]:
        base = f"/plans/{quote(visitor.plan.slug)}"
        items = [
            ("Summary", base),
            ("Actions", f"{base}/actions"),
            ("Follow-ups", f"{base}/followups"),
            ("Measures", f"{base}/measures"),
            ("Board packs", f"{base}/packs"),
        ]
        return {
            "service_name": visitor.plan.name,
            "service_url": base,
            "navigation": [
                {"text": text, "href": href, "active": href == current} for text, href in items
            ],
            "signed_in": visitor.signed.email,
            "csrf": visitor.signed.csrf,
        }

    def _reply_html(self, visitor: Visitor, reply: Reply) -> Any:
        base = f"/plans/{quote(visitor.plan.slug)}"
        return render_reply(
            reply,
            ref_url=lambda ref: f"{base}/actions/{quote(ref, safe='')}",
            button_link=lambda button: _form_link(base, button),
            press_url=f"{base}/press",
            csrf=visitor.signed.csrf,
        )

    async def _command(self, visitor: Visitor, text: str) -> Reply:
        return await self._run(lambda: execute(self.runtime, visitor.caller, text))

    def _reply_page(
        self, visitor: Visitor, heading: str, replies: list[Reply], current: str, **extra: Any
    ) -> Response:
        html = "".join(str(self._reply_html(visitor, r)) for r in replies)
        return self._page(
            "plan.html",
            heading=heading,
            reply_html=_markup(html),
            **self._chrome(visitor, current),
            **extra,
        )

    async def plans(self, request: Request) -> Response:
        signed = await self._signed(request)
        if signed is None:
            return RedirectResponse("/sign-in", status_code=303)
        open_plans = await self._run(
            lambda: self._reading(lambda s: partners.plans_open_to(s, self.settings, signed.email))
        )
        if len(open_plans) == 1:
            only = next(iter(open_plans))
            return RedirectResponse(f"/plans/{quote(only)}", status_code=303)
        return self._page(
            "plans.html",
            plans=list(open_plans.values()),
            signed_in=signed.email,
            csrf=signed.csrf,
        )

    async def summary(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        if isinstance(visitor, Response):
            return visitor
        reply = await self._command(visitor, "summary")
        base = f"/plans/{quote(visitor.plan.slug)}"
        return self._reply_page(visitor, visitor.plan.name, [reply], base)

    async def actions(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        if isinstance(visitor, Response):
            return visitor
        page = _page_number(request)

        def read(session: Any) -> tuple[list[Any], int]:
            plan = plan_named(session, visitor.plan.slug, self._now())
            found, total = page_of_actions(
                session, plan.id, offset=(page - 1) * ACTIONS_PER_PAGE, limit=ACTIONS_PER_PAGE
            )
            return [_action_row(a) for a in found], total

        rows, total = await self._run(lambda: self._reading(read))
        base = f"/plans/{quote(visitor.plan.slug)}"
        pages = max(1, -(-total // ACTIONS_PER_PAGE))
        if page > pages:
            return self._not_found(visitor)
        return self._page(
            "actions.html",
            rows=rows,
            total=total,
            page=page,
            pages=pages,
            base=base,
            **self._chrome(visitor, f"{base}/actions"),
        )

    async def action(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        if isinstance(visitor, Response):
            return visitor
        ref = str(request.path_params["ref"])
        if not ref or any(c.isspace() for c in ref) or len(ref) > 20:
            return self._not_found(visitor)
        shown = await self._command(visitor, f"show {ref}")
        history = await self._command(visitor, f"history {ref}")
        base = f"/plans/{quote(visitor.plan.slug)}"
        return self._reply_page(
            visitor,
            f"Action {ref}",
            [shown, history],
            f"{base}/actions",
            raise_target=ref if _may_raise(visitor) else None,
            raise_url=f"{base}/followups",
            report_url=(
                f"{base}/forms/{ButtonId.REPORT.value}/{quote(ref, safe='')}"
                if visitor.plan.access in (Access.ADMIN, Access.LEAD)
                else None
            ),
        )

    async def followups(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        if isinstance(visitor, Response):
            return visitor
        number = _page_number(request)

        def listed() -> tuple[Reply, int]:
            with self.runtime.work(visitor.caller) as ctx:
                title, found, total = followup_service.page(
                    ctx, "all", offset=(number - 1) * FOLLOWUPS_PER_PAGE, limit=FOLLOWUPS_PER_PAGE
                )
                return listing_reply(ctx, title, found, total), total

        reply, total = await self._run(listed)
        base = f"/plans/{quote(visitor.plan.slug)}"
        pages = max(1, -(-total // FOLLOWUPS_PER_PAGE))
        if number > pages:
            return self._not_found(visitor)
        return self._reply_page(
            visitor,
            "Follow-up questions",
            [reply],
            f"{base}/followups",
            raise_target="" if _may_raise(visitor) else None,
            raise_url=f"{base}/followups",
            pager=_pager(f"{base}/followups", number, pages),
        )

    async def raise_followup(self, request: Request) -> Response:
        found = await self._posted(request)
        if isinstance(found, Response):
            return found
        visitor, form = found
        if not _may_raise(visitor):
            return self._message(
                "You cannot raise follow-up questions",
                "Advisers on the plan's partner list and programme managers raise follow-up "
                "questions. Nothing was recorded.",
                status=403,
                **self._chrome(visitor),
            )
        target = " ".join(_text(form, "target").split())
        question = _text(form, "question")
        if not target or any(c in target for c in '"“”') or len(target) > 300:
            reply = Reply().para("Say which action (its ref) or workstream the question is about.")
        else:
            reply = await self._command(visitor, f'followup add "{target}" {question}')
        base = f"/plans/{quote(visitor.plan.slug)}"
        return self._reply_page(
            visitor, "Follow-up question", [reply], f"{base}/followups",
            next_url=f"{base}/followups", next_label="All follow-up questions",
        )  # fmt: skip

    async def measures(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        if isinstance(visitor, Response):
            return visitor
        reply = await self._command(visitor, "kpi list")

        def charts(session: Any) -> list[tuple[str, str, str]]:
            plan = plan_named(session, visitor.plan.slug, self._now())
            return [
                (s.measure.short_id, s.measure.name, alt_text(s))
                for s in kpis.standings(session, plan.id)
            ]

        found = await self._run(lambda: self._reading(charts))
        base = f"/plans/{quote(visitor.plan.slug)}"
        return self._reply_page(
            visitor, "Measures of impact", [reply], f"{base}/measures", charts=found,
            chart_base=f"{base}/measures/",
        )  # fmt: skip

    async def measure_chart(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        if isinstance(visitor, Response):
            return visitor
        name = str(request.path_params["name"])
        short_id = name.removesuffix(".png")
        if not name.endswith(".png") or not short_id.isalnum():
            return Response("Not found\n", 404, media_type="text/plain")
        reply = await self._command(visitor, f"kpi chart {short_id}")
        png = next((f.data for f in reply.files if f.media_type == "image/png"), None)
        if png is None:
            return Response("Not found\n", 404, media_type="text/plain")
        return Response(
            png, headers={"Cache-Control": "no-store", **SECURITY_HEADERS}, media_type="image/png"
        )

    async def packs(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        if isinstance(visitor, Response):
            return visitor

        def read(session: Any) -> list[dict[str, Any]]:
            plan = plan_named(session, visitor.plan.slug, self._now())
            tz = self.settings.tz
            return [
                {
                    "id": snapshot.id,
                    "board": name,
                    "made": snapshot.created_at.astimezone(tz).strftime("%-d %B %Y %H:%M"),
                    "size": f"{max(1, snapshot.size // 1024):,} KB",
                    "filename": snapshot.filename,
                }
                for snapshot, name in packs.kept(session, plan.id)
            ]

        kept = await self._run(lambda: self._reading(read))
        base = f"/plans/{quote(visitor.plan.slug)}"
        return self._page(
            "packs.html", packs=kept, base=base, **self._chrome(visitor, f"{base}/packs")
        )

    async def pack(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        if isinstance(visitor, Response):
            return visitor
        try:
            wanted = int(str(request.path_params["pack"]))
        except ValueError:
            return self._not_found(visitor)

        def read(session: Any) -> tuple[str, bytes] | None:
            plan = plan_named(session, visitor.plan.slug, self._now())
            snapshot = packs.get(session, wanted)
            if snapshot is None or snapshot.plan_id != plan.id:
                return None
            return snapshot.filename, snapshot.content

        found = await self._run(lambda: self._reading(read))
        if found is None:
            return self._not_found(visitor)
        filename, content = found
        return Response(
            content,
            media_type=DOCX,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
                "Cache-Control": "no-store",
                **SECURITY_HEADERS,
            },
        )

    # --- buttons and forms: the chat's own, run through bot/commands/interactions.py --------

    async def press_button(self, request: Request) -> Response:
        found = await self._posted(request)
        if isinstance(found, Response):
            return found
        visitor, form = found
        button, value = _text(form, "button"), _text(form, "value")
        reply = await self._run(lambda: press(self.runtime, visitor.caller, button, value))
        base = f"/plans/{quote(visitor.plan.slug)}"
        if reply.form is not None:
            return RedirectResponse(
                f"{base}/forms/{quote(button, safe='')}/{quote(value, safe='')}", status_code=303
            )
        return self._reply_page(visitor, reply.summary or "Done", [reply], "")

    async def _opened(self, visitor: Visitor, button: str, key: str) -> Reply | None:
        """The form `button` opens about `key`, as it would open now; None when `button` opens
        no form. A link (a GET) only ever opens a form: a button that changes something (sign
        off, undo) is pressed by a POST with its CSRF token, never by following a link."""
        if not _opens_form(button):
            return None
        return await self._run(lambda: press(self.runtime, visitor.caller, button, key))

    async def form(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        if isinstance(visitor, Response):
            return visitor
        button, key = str(request.path_params["button"]), str(request.path_params["key"])
        opened = await self._opened(visitor, button, key)
        if opened is None:
            return self._not_found(visitor)
        if opened.form is None:
            return self._reply_page(visitor, "You cannot use this form", [opened], "")
        return self._form_page(visitor, opened.form, request.url.path, {}, None, None)

    def _form_page(
        self,
        visitor: Visitor,
        form: Form,
        action: str,
        values: dict[str, str | None],
        error: str | None,
        error_field: str | None,
    ) -> Response:
        return self._page(
            "form.html",
            400 if error else 200,
            form=form,
            action=action,
            values=values,
            error=error,
            error_field=error_field,
            error_title=bool(error),
            field_options=_options,
            back_url=f"/plans/{quote(visitor.plan.slug)}",
            **self._chrome(visitor),
        )

    async def submit_form(self, request: Request) -> Response:
        found = await self._posted(request)
        if isinstance(found, Response):
            return found
        visitor, posted = found
        button, key = str(request.path_params["button"]), str(request.path_params["key"])
        # the form as it would open now: who may use it, and the values it starts from
        opened = await self._opened(visitor, button, key)
        if opened is None:
            return self._not_found(visitor)
        form = opened.form
        if form is None:
            return self._reply_page(visitor, "You cannot use this form", [opened], "")
        values = {f.id: (_text(posted, f.id).strip() or None) for f in form.fields}
        submission = FormSubmission(
            purpose=form.purpose.value, key=form.key, values=values, initial=form.initial_values()
        )

        def save() -> Reply | tuple[str, str]:
            try:
                return submit(self.runtime, visitor.caller, submission)
            except FieldError as refused:
                return str(refused), refused.field
            except UserError as refused:
                return str(refused), main_field(form.purpose.value)
            except Exception:
                return failure_apology(f"web form {form.purpose.value} {form.key!r}")

        saved = await self._run(save)
        if isinstance(saved, tuple):
            message, field = saved
            field = field if any(f.id == field for f in form.fields) else form.fields[0].id
            return self._form_page(visitor, form, request.url.path, values, message, field)
        return self._reply_page(
            visitor, saved.summary or "Saved", [saved], "",
            next_url=f"/plans/{quote(visitor.plan.slug)}", next_label="Back to the plan",
        )  # fmt: skip


def _next_page(path: str | None) -> str | None:
    """Where to go after signing in: only a page of the plans' own (`/plans/…`), never another
    site (`//evil.example`, `/plans/../`)."""
    if not path or len(path) > 500 or not path.startswith("/plans/"):
        return None
    if "//" in path or "\\" in path or ".." in path or any(c.isspace() for c in path):
        return None
    return path


MAX_PAGE = 1_000_000


def _page_number(request: Request) -> int:
    try:
        return min(MAX_PAGE, max(1, int(request.query_params.get("page", "1"))))
    except ValueError:
        return 1


def _pager(base: str, page: int, pages: int) -> dict[str, Any] | None:
    """Previous and next links for a listing in pages; None when it fits on one."""
    if pages <= 1:
        return None
    return {
        "previous": {"href": f"{base}?page={page - 1}"} if page > 1 else False,
        "next": {"href": f"{base}?page={page + 1}"} if page < pages else False,
        "label": f"Page {page} of {pages}",
    }


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _markup(html: str) -> Any:
    from markupsafe import Markup

    return Markup(html)


def _may_raise(visitor: Visitor) -> bool:
    return visitor.plan.access in (Access.ADMIN, Access.ADVISER)


def _opens_form(platform_id: str) -> bool:
    return any(entry.opened_by.value == platform_id for entry in FORMS.values())


def _form_link(base: str, button: Button) -> str | None:
    """A button that opens a form is a link to the form's page."""
    if _opens_form(button.action_id.value):
        key = button.value.split()[0] if button.value.split() else ""
        return f"{base}/forms/{quote(button.action_id.value, safe='')}/{quote(key, safe='')}"
    return None


def _options(field: FormField, current: str) -> list[dict[str, Any]]:
    return [
        {"value": o.value, "text": o.label, "checked": o.value == current} for o in field.options
    ]


def _action_row(action: Any) -> dict[str, Any]:
    return {
        "ref": action.ref,
        "title": action.title,
        "rating": layout.rag_word(action.rag),
        "tone": layout.rag_tone(action.rag),
        "status": layout.status_word(action.status),
        "due": action.due_text or (day_text(action.due) if action.due else ""),
    }


def pages(runtime: Runtime, transport: Transport | None) -> Callable[[FastAPI], None]:
    """The routes, as a part of the one app."""
    site = Site(runtime, transport)

    def add(app: FastAPI) -> None:
        routes: list[tuple[str, Callable[..., Any], list[str]]] = [
            ("/assets/{name}", site.asset, ["GET"]),
            ("/accessibility", site.accessibility, ["GET"]),
            ("/progress/{slug}", site.progress, ["GET"]),
            ("/progress/{slug}/charts/{publication}/{name}", site.progress_chart, ["GET"]),
            ("/sign-in", site.sign_in_form, ["GET"]),
            ("/sign-in", site.sign_in, ["POST"]),
            ("/sign-in/{token}", site.sign_in_link, ["GET"]),
            ("/sign-in/{token}", site.use_link, ["POST"]),
            ("/sign-out", site.sign_out, ["POST"]),
            ("/unsubscribe/{token}", site.unsubscribe_page, ["GET"]),
            ("/unsubscribe/{token}", site.unsubscribe, ["POST"]),
            ("/plans", site.plans, ["GET"]),
            ("/plans/{slug}", site.summary, ["GET"]),
            ("/plans/{slug}/actions", site.actions, ["GET"]),
            ("/plans/{slug}/actions/{ref}", site.action, ["GET"]),
            ("/plans/{slug}/followups", site.followups, ["GET"]),
            ("/plans/{slug}/followups", site.raise_followup, ["POST"]),
            ("/plans/{slug}/measures", site.measures, ["GET"]),
            ("/plans/{slug}/measures/{name}", site.measure_chart, ["GET"]),
            ("/plans/{slug}/packs", site.packs, ["GET"]),
            ("/plans/{slug}/packs/{pack}", site.pack, ["GET"]),
            ("/plans/{slug}/press", site.press_button, ["POST"]),
            ("/plans/{slug}/forms/{button}/{key}", site.form, ["GET"]),
            ("/plans/{slug}/forms/{button}/{key}", site.submit_form, ["POST"]),
        ]
        for path, endpoint, methods in routes:
            app.add_route(path, endpoint, methods=methods)

    return add
