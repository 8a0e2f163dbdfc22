"""The demo partnership (bot/demo_plan.yaml), loaded with its history relative to today so a new
user sees overdue, stale and due-soon actions whatever day they run it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any

import yaml
from sqlalchemy.orm import Session

from bot.addresses import console_address
from bot.config import Settings
from bot.domain import Rag, Status, Surface, UpdateKind, normalise_ref, ref_sort_key
from bot.impact import month_end
from bot.plans.dates import parse_due
from bot.plans.kpi_read import read_yaml_measures
from bot.services import history
from bot.services.context import CONSOLE_CHANNEL, Caller, Ctx
from bot.services.history import ActionChange, Author
from bot.services.kpi_files import apply_measures
from bot.services.people import Who, add_identity
from bot.services.plans import current_plan, find_workstream, get_or_create_workstream
from bot.store.models import Action, Answer, BoardMeeting, FollowUp, Person


@dataclass(frozen=True)
class DemoInfo:
    plan_name: str
    admins: frozenset[str]
    console_user: str
    actions: int


def demo_data() -> dict[str, Any]:
    text = resources.files("bot").joinpath("demo_plan.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def load_demo(session: Session, now: datetime, tz: Any, *, measures: bool = True) -> DemoInfo:
    """The demo partnership as of `now`; `measures` adds its measures of impact and their
    figures (left out where a plan of actions alone is wanted)."""
    data = demo_data()
    today = now.astimezone(tz).date()
    plan = current_plan(session, now, create=True)
    plan.name = data["plan"]
    people = {}
    for p in data["people"]:
        person = Person(name=p["name"], email=p["email"], organisation=p.get("organisation"))
        session.add(person)
        session.flush()
        # The demo's people are Slack users of an unnamed workspace (filled in on first contact).
        add_identity(session, person, Who(platform="slack", external_id=p["slack_user_id"]))
        people[p["slack_user_id"]] = person

    def person_id(user_id: str) -> int | None:
        return people[user_id].id if user_id in people else None

    def ago(days: int) -> datetime:
        return now - timedelta(days=days)

    actions: dict[str, Action] = {}
    for ws in data["workstreams"]:
        workstream, _ = get_or_create_workstream(session, plan, ws["name"])
        for a in ws["actions"]:
            ref = normalise_ref(str(a["ref"]))
            due: date | None
            if "due_in_days" in a:
                due, due_text = today + timedelta(days=a["due_in_days"]), None
            else:
                due, due_text = parse_due(a.get("due"), today=today)
            updates = a.get("updates", [])
            oldest = max((u["days_ago"] for u in updates), default=30)
            action = Action(
                plan_id=plan.id,
                workstream_id=workstream.id,
                ref=ref,
                sort_key=ref_sort_key(ref),
                title=a["title"],
                measure=a.get("measure"),
                due=due,
                due_text=due_text,
                rag=None,
                status=Status.NOT_STARTED,
                created_at=ago(oldest + 14),
            )
            session.add(action)
            session.flush()
            created = ActionChange(
                status=Status.NOT_STARTED,
                title=action.title,
                measure=action.measure or "",
                due=(due, due_text),
                workstream=workstream,
                leads=[people[uid] for uid in a.get("lead", [])],
            )
            history.write(
                session,
                action,
                UpdateKind.CREATED,
                created,
                note="Imported from the Written Statement of Action",
                author=Author(source=Surface.IMPORT),
                at=action.created_at,
            )
            for u in sorted(updates, key=lambda u: -u["days_ago"]):
                _demo_update(session, action, u, ago(u["days_ago"]), people)
            actions[ref] = action

    for f in data.get("followups", []):
        target = str(f["about"])
        about = find_workstream(session, plan, target)
        followup = FollowUp(
            plan_id=plan.id,
            action_id=None if about else actions[normalise_ref(target)].id,
            workstream_id=about.id if about else None,
            question=f["question"],
            raised_at=ago(f["days_ago"]),
            raised_by_person_id=person_id(f["raised_by"]),
            source=Surface.SLACK,
        )
        session.add(followup)
        session.flush()
        for answer in f.get("answers", []):
            session.add(
                Answer(
                    followup_id=followup.id,
                    at=ago(answer["days_ago"]),
                    person_id=person_id(answer["by"]),
                    source=Surface.SLACK,
                    text=answer["text"],
                )
            )
        if f.get("closed"):
            followup.closed_at = ago(min(a["days_ago"] for a in f["answers"]))
            followup.closed_by_person_id = person_id(f["raised_by"])

    for b in data.get("boards", []):
        local_day: date = today + timedelta(days=b["in_days"])
        hour, minute = (int(x) for x in b["time"].split(":"))
        starts = datetime.combine(local_day, time(hour, minute), tzinfo=tz).astimezone(UTC)
        session.add(
            BoardMeeting(
                plan_id=plan.id,
                name=b["name"],
                starts_at=starts,
                channel_id=CONSOLE_CHANNEL,
                address=console_address(CONSOLE_CHANNEL),
                created_by_person_id=person_id(data["console_user"]),
                source=Surface.CONSOLE,
                created_at=now,
            )
        )
    session.flush()
    if measures:
        _demo_measures(session, data.get("measures", []), now, tz)
    return DemoInfo(
        plan_name=plan.name,
        admins=frozenset(data.get("admins", [])),
        console_user=data["console_user"],
        actions=len(actions),
    )


def _demo_update(
    session: Session, action: Action, u: dict[str, Any], at: datetime, people: dict[str, Person]
) -> None:
    status = Status(u["status"]) if u.get("status") else None
    signs_off = status is Status.SIGNED_OFF and action.status != status
    person = people.get(u["by"])
    history.write(
        session,
        action,
        UpdateKind.SIGNOFF if signs_off else UpdateKind.UPDATE,
        ActionChange(rag=Rag(u["rag"]) if u.get("rag") else None, status=status),
        note=u["note"],
        author=Author(source=Surface.SLACK, person_id=person.id if person else None),
        at=at,
    )


def _months_from(today: date, months: int) -> date:
    """The first day of the month `months` after today's (before, when negative)."""
    index = today.year * 12 + today.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _demo_measures(session: Session, items: list[dict[str, Any]], now: datetime, tz: Any) -> None:
    """The demo's measures, dated from today, loaded the way `wsoa import` loads a plan file's
    `measures:` list (bot/plans/kpi_read.py), so the demo shows what an import would."""
    today = now.astimezone(tz).date()
    absolute = []
    for item in items:
        fields = {
            k: v
            for k, v in item.items()
            if k not in ("baseline_months_ago", "target_in_months", "actuals")
        }
        fields["baseline date"] = month_end(_months_from(today, -item["baseline_months_ago"]))
        fields["target date"] = month_end(_months_from(today, item["target_in_months"]))
        fields["actuals"] = {
            _months_from(today, -ago): value for ago, value in item.get("actuals", {}).items()
        }
        absolute.append(fields)
    parsed = read_yaml_measures(absolute)
    ctx = Ctx.open(
        session,
        Caller(user_id="import", source=Surface.IMPORT),
        Settings.model_construct(timezone=str(tz)),
        now,
    )
    report = apply_measures(ctx, parsed)
    if report.problems:  # the demo's own file: a mistake in it is the developer's
        raise ValueError("; ".join(str(p) for p in report.problems))
