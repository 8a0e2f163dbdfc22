"""`redact UPDATE-ID|ANSWER-ID [REASON]`: an admin removes an update's note or a follow-up
answer's text (see bot/services/redaction.py)."""

from __future__ import annotations

from bot.commands.registry import command
from bot.domain import Invalid
from bot.presenters import when
from bot.replies import Reply, bold, plain
from bot.services import redaction
from bot.services.context import Ctx
from bot.services.followups import about


@command(
    "redact",
    "redact UPDATE-ID|ANSWER-ID [REASON]",
    "removes an update's note or a follow-up answer for good (a child's details stored by "
    "mistake); `history REF` shows updates' numbers, `followup list all` answers' ids (FU-12/2)",
    ["redact 123 named a pupil", "redact FU-12/2 named a pupil"],
    admin=True,
)
def redact(ctx: Ctx, args: str) -> Reply:
    target, _, why = args.strip().partition(" ")
    if not target:
        raise Invalid(
            "Which update or answer? `redact 123` (`history REF` shows each update's number) "
            "or `redact FU-12/2` (`followup list all` shows each answer's id)."
        )
    answer = redaction.parse_answer_id(target)
    if answer is not None:
        return _answer_redacted(ctx, *answer, why)
    action, row, packs = redaction.redact(ctx, redaction.parse_update_id(target), why)
    number = (row.changes or [{}])[0].get("new")
    return Reply(summary=f"Redacted #{number}").para(
        bold(f"Redacted #{number}"),
        plain(
            f" on {action.ref}: its note is gone from the database, and history shows it as "
            f"redacted by you on {when(row.at, ctx.settings.tz)}.{_from_packs(packs)}"
        ),
    )


def _from_packs(packs: list[int]) -> str:
    if not packs:
        return ""
    return f" It is taken out of {len(packs)} kept board pack{'s' if len(packs) != 1 else ''} too."


def _answer_redacted(ctx: Ctx, followup_id: int, number: int, why: str) -> Reply:
    followup, row, packs = redaction.redact_answer(ctx, followup_id, number, why)
    return Reply(summary=f"Redacted {row.label}").para(
        bold(f"Redacted {row.label}"),
        plain(
            f" on {about(followup)}: its text is gone from the database, and the follow-up "
            f"shows it as redacted by you on {when(row.at, ctx.settings.tz)}; `wsoa audit` "
            f"records it.{_from_packs(packs)}"
        ),
    )
