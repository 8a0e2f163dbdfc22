"""The partnership's pages over real HTTP (issue: pages): the public progress page as published,
withdrawn and never published; its static export; sign-in by e-mailed link; the signed-in
partner pages, their forms and who may use them."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime
from bot.serve import build_serving_app
from bot.services import publishing
from bot.store.db import unit_of_work
from bot.store.models import FollowUp, HighlightReport, Publication, Update
from bot.web.public import export
from tests.conftest import ADMIN, LEAD_11F, READER, Console
from tests.kpi_fixtures import load_demo_measures
from tests.mail_standin import MailStandIn
from tests.web_fixtures import (
    ADVISER_EMAIL,
    LEAD_EMAIL,
    PM_EMAIL,
    VIEWER_EMAIL,
    Site,
    csrf_of,
    mail,
    site,
    start_site,
)

__all__ = ["mail", "site"]

SECRET_NOTE = "Budget line agreed with Helen privately"
QUESTION = "How many children waited more than 20 weeks in October?"


def _private_things(console: Console, runtime: Runtime) -> dict[str, str]:
    """A note, a redacted note, a follow-up and its answer, and a highlight report: none of it
    may reach the public page."""
    console(f"update 11F amber in progress {SECRET_NOTE}", user=LEAD_11F)
    console("update 12B amber Redacted-later note about a Year 5 pupil", user=LEAD_11F)
    with unit_of_work(runtime.sessions) as session:
        last = session.scalar(select(func.max(Update.id)))
    assert "Redacted" in console(f"redact {last} named a pupil")
    logged = re.search(r"FU-\d+", console(f"followup add 11F {QUESTION}"))
    assert logged
    console(f"followup answer {logged.group(0)} Forty-one children, down from 52", user=LEAD_11F)
    return {
        "note": SECRET_NOTE,
        "redacted": "Redacted-later note",
        "question": QUESTION,
        "answer": "Forty-one children",
        "lead name": "Alison Whitfield",
        "lead e-mail": LEAD_EMAIL,
        "pm e-mail": PM_EMAIL,
        "pm name": "Sophie Carrington",
    }


def test_the_progress_page_is_published_frozen_and_withdrawn(
    site: Site, console: Console, tmp_path: Path
) -> None:
    load_demo_measures(site.runtime, tmp_path)
    private = _private_things(console, site.runtime)
    with site.client() as web:
        never = web.get("/progress/wsoa")
        assert never.status_code == 404
        assert "not been published" in never.text

        assert "Published" in console("publish")
        page = web.get("/progress/wsoa")
        assert page.status_code == 200
        html = page.text
        for what, text in private.items():
            assert text not in html, f"the public page shows the {what}"
        assert "Demo Local Area SEND Written Statement of Action" in html
        assert "Published on" in html and "23 Nov 2026" in html
        # every action, with its rating as a word
        assert ">11F<" in html and ">Amber<" in html
        # measures: chart with its text alternative, and a table of the same figures
        chart = re.search(r'<img class="wsoa-chart" src="([^"]+K1\.png)" alt="([^"]+)"', html)
        assert chart and "Line chart of K1" in chart.group(2)
        png = web.get(chart.group(1))
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        assert "Figures for K1" in html
        headers = page.headers
        assert "script-src" not in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"]

        # the page stays as published until the next `publish`
        console("update 11F red Off track now", user=LEAD_11F)
        assert web.get("/progress/wsoa").text == html
        console("publish")
        again = web.get("/progress/wsoa").text
        assert again != html
        row_11f = re.search(r">11F<.*?</tr>", again, re.DOTALL)
        assert row_11f and ">Red<" in row_11f.group(0)
        # the earlier publication's chart is not served once another is live
        assert web.get(chart.group(1)).status_code == 404

        assert "Withdrawn" in console("publish off")
        assert web.get("/progress/wsoa").status_code == 404
        assert web.get("/progress/nowhere").status_code == 404


def test_only_admins_publish_and_nothing_changes_for_a_refusal(
    demo: Runtime, console: Console
) -> None:
    runtime = demo
    refusal = console("publish", user=READER)
    assert "Only programme managers" in refusal
    assert "Only programme managers" in console("publish off", user=LEAD_11F)
    assert "Only programme managers" in console(
        "yousaid add Graduated response you said: a we did: b", user=LEAD_11F
    )
    with unit_of_work(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Publication)) == 0
    assert "takes no words" in console("publish now please")
    assert "not published" in console("publish off")


def test_you_said_we_did_reaches_the_page_at_the_next_publish(site: Site, console: Console) -> None:
    added = console(
        "yousaid add Graduated response you said: plans were never shared with us "
        "we did: every plan now goes to the family first"
    )
    assert "Added YS-1 to Graduated Response" in added
    assert "YS-1" in console("yousaid list")
    assert "No workstream “Nowhere”" in console("yousaid add Nowhere you said: x we did: y")
    assert "child" in console(
        "yousaid add Graduated response you said: Jo Bloggs, date of birth 12/03/2015, waited "
        "we did: seen"
    )
    assert "“you said …”" in console("yousaid add Graduated response plans late")
    console("publish")
    with site.client() as web:
        html = web.get("/progress/wsoa").text
    assert "every plan now goes to the family first" in html
    assert "12/03/2015" not in html
    assert "Removed YS-1" in console("yousaid remove YS-1")
    assert "no “You said, we did” entry YS-1" in console("yousaid remove YS-1")
    console("publish")
    with site.client() as web:
        assert "every plan now goes to the family first" not in web.get("/progress/wsoa").text


def test_markup_in_titles_and_notes_is_escaped(site: Site, console: Console) -> None:
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    assert "because" not in console(f"edit 11F title Toolkit {attack}")
    console(f"update 11F amber note with {attack}", user=LEAD_11F)
    console("publish")
    with site.client() as web:
        public = web.get("/progress/wsoa").text
    assert "<script>alert" not in public and "<img src=x" not in public
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in public
    web = site.sign_in(PM_EMAIL)
    action = web.get("/plans/wsoa/actions/11F").text
    assert "<script>alert" not in action and "<img src=x" not in action
    assert "&lt;script&gt;" in action


def test_the_static_export_is_the_page_with_relative_links_and_nothing_private(
    demo: Runtime, console: Console, tmp_path: Path
) -> None:
    runtime = demo
    load_demo_measures(runtime, tmp_path)
    private = _private_things(console, runtime)
    console("publish")
    with unit_of_work(runtime.sessions) as session:
        found = publishing.latest(session, 1)
        assert found is not None
        public = publishing.read(session, found.id)
    folder = tmp_path / "site" / "send" / "wsoa"
    written = export(public, folder)
    index = (folder / "index.html").read_text()
    for what, text in private.items():
        assert text not in index, f"the export shows the {what}"
    assert {p.relative_to(folder).as_posix() for p in written} >= {
        "index.html",
        "accessibility.html",
        "assets/wsoa.css",
        "assets/LICENCE-govuk-frontend.txt",
        "charts/K1.png",
    }
    links = re.findall(r'(?:href|src)="([^"#]+)', index)
    assert links, "no links"
    for link in links:
        assert not link.startswith(("/", "http:", "https:", "//")), link
        assert (folder / link).exists(), link
    assert "<script" not in index
    css = (folder / "assets" / "wsoa.css").read_text()
    assert "GDS Transport" not in css and "@font-face" not in css


def test_wsoa_publish_writes_the_folder_from_the_command_line(
    demo: Runtime, console: Console, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = demo
    from bot.cli import main

    monkeypatch.setenv("WSOA_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("WSOA_AS_OF", "2026-11-23T10:00:00+00:00")
    out = tmp_path / "out"
    assert main(["publish", "-o", str(out)]) == 2
    assert not out.exists()
    console("publish")
    assert main(["publish", "-o", str(out)]) == 0
    assert (out / "index.html").exists()
    assert main(["publish", "--now", "-o", str(tmp_path / "now")]) == 0
    with unit_of_work(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Publication)) == 2


# --- sign-in ---------------------------------------------------------------------------------


def test_sign_in_by_link_once_within_fifteen_minutes(site: Site, console: Console) -> None:
    console(f"partner add {VIEWER_EMAIL}")
    with site.client() as web:
        assert web.get("/plans/wsoa").status_code == 303
        assert web.get("/plans/wsoa").headers["location"] == "/sign-in"
    unknown = site.ask_for_link("nobody@nowhere.example")
    known = site.ask_for_link(VIEWER_EMAIL)
    assert unknown.status_code == known.status_code == 200
    assert _body(unknown.text).replace("nobody@nowhere.example", "X") == _body(known.text).replace(
        VIEWER_EMAIL, "X"
    )
    link = site.link_for(VIEWER_EMAIL)
    assert not site.mail.to("nobody@nowhere.example")
    message = site.mail.to(VIEWER_EMAIL)[0].message
    assert message["To"] == VIEWER_EMAIL and message["Message-ID"] and message["Date"]

    web = site.client()
    shown = web.get(link)
    assert "Sign in" in shown.text
    # a mail scanner opening the link uses nothing: it still works
    assert web.get(link).status_code == 200
    used = web.post(link, data={"csrf": csrf_of(shown.text)})
    assert used.status_code == 303
    cookie = used.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert web.get("/plans").headers["location"] == "/plans/wsoa"
    summary = web.get("/plans/wsoa")
    assert summary.status_code == 200 and "Red" in summary.text

    # used once
    again = site.client()
    assert again.get(link).status_code == 400
    assert again.post(link, data={"csrf": "x"}).status_code == 400
    # expired after 15 minutes
    site.ask_for_link(VIEWER_EMAIL)
    late = site.link_for(VIEWER_EMAIL, 2)
    site.runtime.clock.now += timedelta(minutes=16)  # type: ignore[attr-defined]
    late_client = site.client()
    assert "expired or has been used" in late_client.get(late).text


def _body(html: str) -> str:
    return re.sub(r'name="csrf" value="[^"]+"', "", html.split("<main", 1)[1])


def test_a_link_works_on_whichever_replica_it_reaches(
    demo: Runtime, mail: MailStandIn, console: Console
) -> None:
    from bot.http.server import start_in_thread
    from bot.mail import transport_for

    site = start_site(demo, mail)
    port = int(site.url.rsplit(":", 1)[1])
    first = start_in_thread(build_serving_app(demo, mail=transport_for(demo.settings)), port=port)
    second = start_in_thread(build_serving_app(demo, mail=transport_for(demo.settings)))
    try:
        console(f"partner add {VIEWER_EMAIL}")
        site.ask_for_link(VIEWER_EMAIL)
        link = site.link_for(VIEWER_EMAIL)
        with httpx.Client(base_url=second.url) as other:
            shown = other.get(link)
            assert other.post(link, data={"csrf": csrf_of(shown.text)}).status_code == 303
            # and the session it started is good on the first replica too
            cookie = other.cookies.get("wsoa_session")
        with httpx.Client(base_url=first.url, cookies={"wsoa_session": cookie}) as back:
            assert back.get("/plans/wsoa").status_code == 200
    finally:
        first.stop()
        second.stop()


def test_the_session_cookie_is_secure_behind_https(demo: Runtime, mail: MailStandIn) -> None:
    from bot.http.server import start_in_thread
    from bot.mail import transport_for

    site = start_site(demo, mail, public_url="https://wsoa.council.example")
    port = int(site.url.rsplit(":", 1)[1])
    server = start_in_thread(build_serving_app(demo, mail=transport_for(demo.settings)), port=port)
    try:
        web = site.client()
        form = web.get("/sign-in")
        assert "Secure" in form.headers["set-cookie"]
        # the client keeps Secure cookies for HTTPS: over this test's HTTP, sent by hand
        token = csrf_of(form.text)
        cookie = {"cookie": f"wsoa_form={token}"}
        web.post("/sign-in", data={"email": PM_EMAIL, "csrf": token}, headers=cookie)
        link = site.mail.wait_for(PM_EMAIL)[0].links()[0]
        assert link.startswith("https://wsoa.council.example/sign-in/")
        path = link.removeprefix("https://wsoa.council.example")
        used = web.post(path, data={"csrf": token}, headers=cookie)
        assert used.status_code == 303
        assert "Secure" in used.headers["set-cookie"]
    finally:
        server.stop()


def test_sign_in_refuses_a_bad_address_and_a_form_without_its_token(site: Site) -> None:
    with site.client() as web:
        form = web.get("/sign-in")
        bad = web.post("/sign-in", data={"email": "not an address", "csrf": csrf_of(form.text)})
        assert bad.status_code == 400 and "correct format" in bad.text
        assert "<title>Error:" in bad.text
        forged = web.post("/sign-in", data={"email": PM_EMAIL, "csrf": "guess"})
        assert forged.status_code == 400
    with site.client() as fresh:
        assert fresh.post("/sign-in", data={"email": PM_EMAIL}).status_code == 400
    assert not site.mail.to(PM_EMAIL)


def test_one_plans_session_does_not_open_another(site: Site, console: Console) -> None:
    from bot.console import run_line
    from bot.services.plans import create_plan

    console(f"partner add {VIEWER_EMAIL}")
    with unit_of_work(site.runtime.sessions) as session:
        create_plan(session, "other", "Another Local Area", site.runtime.clock())
    web = site.sign_in(VIEWER_EMAIL)
    assert web.get("/plans/wsoa").status_code == 200
    for path in ("/plans/other", "/plans/other/actions", "/plans/other/followups"):
        assert web.get(path).status_code == 404, path
    # removed from the list: the next page refuses
    run_line(site.runtime, ADMIN, f"partner remove {VIEWER_EMAIL}", plan="wsoa")
    assert web.get("/plans/wsoa").status_code == 404


def test_sign_out_ends_the_session(site: Site) -> None:
    web = site.sign_in(PM_EMAIL)
    page = web.get("/plans/wsoa")
    assert web.post("/sign-out", data={"csrf": "wrong"}).status_code == 400
    assert web.get("/plans/wsoa").status_code == 200
    out = web.post("/sign-out", data={"csrf": csrf_of(page.text)})
    assert "You have signed out" in out.text
    cookie = page.request.headers.get("cookie", "")
    with site.client() as stolen:
        stolen.headers["cookie"] = cookie
        assert stolen.get("/plans/wsoa").status_code == 303


# --- signed-in pages -------------------------------------------------------------------------


def test_the_live_plan_for_a_signed_in_partner(
    site: Site, console: Console, tmp_path: Path
) -> None:
    load_demo_measures(site.runtime, tmp_path)
    console("followup add 11F How many schools use the toolkit?")
    console("board add 2026-12-03 14:00 SEND Improvement Board")
    console("boardpack")
    console(f"partner add {VIEWER_EMAIL}")
    web = site.sign_in(VIEWER_EMAIL)
    summary = web.get("/plans/wsoa").text
    assert "Demo Local Area" in summary and 'href="/plans/wsoa/actions"' in summary
    assert "Graduated Response" in summary and "Red" in summary
    actions = web.get("/plans/wsoa/actions").text
    assert "40 actions" in actions and ">11F<" in actions
    assert web.get("/plans/wsoa/actions?page=9").status_code == 404
    action = web.get("/plans/wsoa/actions/11F").text
    assert "History" in action or "history" in action
    assert "Raise a follow-up question" not in action  # a viewer reads only
    followups = web.get("/plans/wsoa/followups").text
    assert "How many schools use the toolkit?" in followups
    measures = web.get("/plans/wsoa/measures").text
    src = re.search(r'src="(/plans/wsoa/measures/K1\.png)" alt="Line chart', measures)
    assert src
    assert web.get(src.group(1)).content.startswith(b"\x89PNG")
    packs = web.get("/plans/wsoa/packs").text
    pack = re.search(r'href="(/plans/wsoa/packs/\d+)"', packs)
    assert pack, packs
    docx = web.get(pack.group(1))
    assert docx.status_code == 200 and docx.content.startswith(b"PK")
    assert "attachment" in docx.headers["content-disposition"]
    assert web.get("/plans/wsoa/packs/999").status_code == 404
    assert web.get("/plans/wsoa/actions/NOPE").status_code == 200  # the command's own refusal
    assert "No action" in web.get("/plans/wsoa/actions/NOPE").text or "no action" in (
        web.get("/plans/wsoa/actions/NOPE").text.lower()
    )


def test_an_adviser_raises_a_follow_up_and_a_viewer_cannot(site: Site, console: Console) -> None:
    console(f"partner add {ADVISER_EMAIL} adviser")
    console(f"partner add {VIEWER_EMAIL} viewer")
    with unit_of_work(site.runtime.sessions) as session:
        before = session.scalar(select(func.max(FollowUp.id)))
    viewer = site.sign_in(VIEWER_EMAIL)
    page = viewer.get("/plans/wsoa/followups")
    forged = viewer.post(
        "/plans/wsoa/followups",
        data={"csrf": csrf_of(page.text), "target": "11F", "question": "Forged question?"},
    )
    assert forged.status_code == 403
    adviser = site.sign_in(ADVISER_EMAIL)
    page = adviser.get("/plans/wsoa/actions/11F")
    assert "Raise a follow-up question" in page.text
    no_token = adviser.post(
        "/plans/wsoa/followups", data={"target": "11F", "question": "No token?"}
    )
    assert no_token.status_code == 400
    raised = adviser.post(
        "/plans/wsoa/followups",
        data={"csrf": csrf_of(page.text), "target": "11F", "question": QUESTION},
    )
    assert raised.status_code == 200 and "Logged FU-" in raised.text
    with unit_of_work(site.runtime.sessions) as session:
        questions = session.scalars(select(FollowUp).where(FollowUp.id > before)).all()
        assert [f.question for f in questions] == [QUESTION]
        assert questions[0].source.value == "web"
    listing = console("followup list all")
    assert f"raised by @{ADVISER_EMAIL}" in listing
    audit_rows = console("history 11F")
    assert audit_rows  # the action's own history is unchanged by a question


def test_a_lead_writes_a_highlight_report_and_answers_on_the_page(
    site: Site, console: Console
) -> None:
    logged = re.search(r"FU-\d+", console("followup add 11F How many schools use the toolkit?"))
    assert logged
    lead = site.sign_in(LEAD_EMAIL)
    action = lead.get("/plans/wsoa/actions/11F").text
    form_link = re.search(r'href="(/plans/wsoa/forms/wsoa_report_open/11F)"', action)
    assert "Raise a follow-up question" not in action
    assert form_link, "no highlight report button on the lead's action page"
    form = lead.get(form_link.group(1))
    assert form.status_code == 200 and 'name="progress"' in form.text
    empty = lead.post(form_link.group(1), data={"csrf": csrf_of(form.text)})
    assert empty.status_code == 400 and "There is a problem" in empty.text
    saved = lead.post(
        form_link.group(1),
        data={
            "csrf": csrf_of(form.text),
            "progress": "Toolkit in 30 schools",
            "planned": "Roll out to the rest",
            "barriers": "None",
        },
    )
    assert saved.status_code == 200, saved.text
    with unit_of_work(site.runtime.sessions) as session:
        reports = session.scalars(select(HighlightReport)).all()
        assert [r.progress for r in reports] == ["Toolkit in 30 schools"]

    followups = lead.get("/plans/wsoa/actions/11F").text
    answer_link = re.search(
        rf'href="(/plans/wsoa/forms/wsoa_followup_answer/{logged.group(0)})"', followups
    )
    assert answer_link, followups
    form = lead.get(answer_link.group(1))
    answered = lead.post(
        answer_link.group(1), data={"csrf": csrf_of(form.text), "answer": "Thirty schools"}
    )
    assert answered.status_code == 200
    assert "Thirty schools" in console("followup list all")

    # someone who leads nothing may not open the form, and posting it saves nothing
    console(f"partner add {VIEWER_EMAIL}")
    viewer = site.sign_in(VIEWER_EMAIL)
    refused = viewer.get(form_link.group(1))
    assert "You cannot use this form" in refused.text
    page = viewer.get("/plans/wsoa")
    viewer.post(form_link.group(1), data={"csrf": csrf_of(page.text), "progress": "Forged"})
    with unit_of_work(site.runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(HighlightReport)) == 1


def test_a_child_s_details_in_a_form_are_refused_beside_the_field(
    site: Site, console: Console
) -> None:
    lead = site.sign_in(LEAD_EMAIL)
    form = lead.get("/plans/wsoa/forms/wsoa_report_open/11F")
    refused = lead.post(
        "/plans/wsoa/forms/wsoa_report_open/11F",
        data={"csrf": csrf_of(form.text), "progress": "Seen Jo, DOB 12/03/2015, at home"},
    )
    assert refused.status_code == 400
    assert "date of birth" in refused.text and "12/03/2015" not in refused.text.split("<form")[0]
    with unit_of_work(site.runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(HighlightReport)) == 0


def test_a_two_megabyte_body_is_refused(site: Site) -> None:
    with unit_of_work(site.runtime.sessions) as session:
        before = session.scalar(select(func.count()).select_from(FollowUp))
    web = site.sign_in(PM_EMAIL)
    page = web.get("/plans/wsoa/followups")
    huge = web.post(
        "/plans/wsoa/followups",
        data={"csrf": csrf_of(page.text), "target": "11F", "question": "x" * 2_000_000},
    )
    assert huge.status_code == 413
    with unit_of_work(site.runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(FollowUp)) == before


def test_partner_commands_refuse_bad_input(demo: Runtime, console: Console) -> None:
    assert "not an e-mail address" in console("partner add not-an-address")
    assert "not a role" in console("partner add a@b.example boss")
    assert "Only programme managers" in console("partner add a@b.example", user=LEAD_11F)
    assert "Added a@b.example" in console("partner add A@B.example adviser")
    assert "already on the list" in console("partner add a@b.example adviser")
    assert "a@b.example" in console("partner list")
    assert "is not a partner" in console("partner remove c@d.example")
    assert "Removed a@b.example" in console("partner remove a@b.example")
    assert ADMIN


def test_long_listings_come_in_pages(site: Site, console: Console) -> None:
    with unit_of_work(site.runtime.sessions) as session:
        existing = session.scalar(select(func.count()).select_from(FollowUp)) or 0
    for n in range(55 - existing):
        console(f"followup add 12B Question number {n} about the waiting list?")
    web = site.sign_in(PM_EMAIL)
    first = web.get("/plans/wsoa/followups").text
    assert "All follow-ups (55)" in first and "Page 1 of 2" in first
    assert 'href="/plans/wsoa/followups?page=2"' in first
    second = web.get("/plans/wsoa/followups?page=2").text
    last = f"Question number {55 - existing - 1} about"
    assert last in second and last not in first
    assert web.get("/plans/wsoa/followups?page=3").status_code == 404
    assert web.get("/plans/wsoa/followups?page=x").status_code == 200


def test_no_link_is_sent_without_a_public_address(demo: Runtime, mail: MailStandIn) -> None:
    from bot.http.server import start_in_thread
    from bot.mail import transport_for

    site = start_site(demo, mail, public_url="")
    port = int(site.url.rsplit(":", 1)[1])
    server = start_in_thread(build_serving_app(demo, mail=transport_for(demo.settings)), port=port)
    try:
        # the Host header names another site: the link must not be built from it
        with site.client() as web:
            form = web.get("/sign-in")
            answer = web.post(
                "/sign-in",
                data={"email": PM_EMAIL, "csrf": csrf_of(form.text)},
                headers={"host": "evil.example"},
            )
        assert answer.status_code == 200 and "Check your e-mail" in answer.text
    finally:
        server.stop()
    assert not mail.received


def test_a_link_never_presses_a_button_that_changes_something(site: Site, console: Console) -> None:
    """A form's page is a GET: it may only open a form. Signing off or undoing by following a
    link someone else made would be a cross-site request the CSRF token never saw."""
    web = site.sign_in(PM_EMAIL)
    page = web.get("/plans/wsoa")
    for path in (
        "/plans/wsoa/forms/wsoa_signoff_confirm/11F%20confirm%20Objective%20met",
        "/plans/wsoa/forms/wsoa_undo/11F",
        "/plans/wsoa/forms/wsoa_no_change/11F",
    ):
        assert web.get(path).status_code == 404, path
        assert web.post(path, data={"csrf": csrf_of(page.text)}).status_code == 404, path
    assert "signed off" not in console("show 11F").split("Status:")[1][:40]
    # a page number past any plan's end is just not found
    assert web.get("/plans/wsoa/actions?page=99999999999999999999999").status_code == 404


def test_a_hosted_programme_manager_sees_only_their_own_partnerships_pages(
    site: Site, console: Console
) -> None:
    from bot.console import run_line
    from bot.services.plans import create_plan

    with unit_of_work(site.runtime.sessions) as session:
        create_plan(session, "other", "Another Local Area", site.runtime.clock())
    # a deployment hosting many partnerships (Slack installs itself in many workspaces), and a
    # programme manager in its deployment-wide WSOA_ADMINS who leads nothing
    manager = "pm.wsoa@council.example"
    site.runtime.settings = site.runtime.settings.model_copy(
        update={"slack_client_id": "1.2", "admins": site.runtime.settings.admins | {manager}}
    )
    assert site.sign_in_if_open(manager) is None  # on no plan's list yet: no link is sent
    run_line(site.runtime, ADMIN, f"partner add {manager}", plan="wsoa")
    web = site.sign_in(manager)
    assert web.get("/plans/wsoa").status_code == 200
    assert web.get("/plans/other").status_code == 404
    assert web.get("/plans").headers["location"] == "/plans/wsoa"
    # and an admin on their own plan's pages: they may raise a follow-up there
    assert "Raise a follow-up question" in web.get("/plans/wsoa/followups").text
