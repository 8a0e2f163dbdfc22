"""Verb → handler. Every surface (console, Slack, Teams later) calls `execute`; help is built from
the registry, so a command cannot exist without its usage line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot import logs
from bot.domain import UserError, looks_like_ref, nearest
from bot.logs import current_reference
from bot.replies import Reply, code, plain, say
from bot.runtime import Runtime
from bot.services.context import Caller, Ctx

log = logging.getLogger(__name__)

Handler = Callable[[Ctx, str], Reply]


@dataclass(frozen=True)
class Command:
    verb: str
    usage: list[str]
    summary: str
    handler: Handler
    examples: list[str] = field(default_factory=list)
    # shown under "for programme managers" in help
    admin: bool = False
    # may take longer than a platform waits for its acknowledgement (a document or a chart to
    # build): a surface that must answer within seconds answers first and sends this after.
    # A verb slow only for some of its forms says which, from its arguments.
    slow: bool | Callable[[str], bool] = False


COMMANDS: dict[str, Command] = {}


def command(
    verb: str,
    usage: str | list[str],
    summary: str,
    examples: list[str] | None = None,
    *,
    admin: bool = False,
    slow: bool | Callable[[str], bool] = False,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS[verb] = Command(
            verb=verb,
            usage=[usage] if isinstance(usage, str) else usage,
            summary=summary,
            examples=examples or [],
            handler=handler,
            admin=admin,
            slow=slow,
        )
        return handler

    return register


def split_verb(text: str) -> tuple[str, str]:
    parts = text.strip().split(None, 1)
    if not parts:
        return "help", ""
    return parts[0].lower(), parts[1] if len(parts) > 1 else ""


def is_slow(text: str) -> bool:
    """Whether `text` is a command that may outlast a platform's wait for its acknowledgement."""
    verb, args = split_verb(text)
    found = COMMANDS.get(verb)
    if found is None:
        return False
    return found.slow(args) if callable(found.slow) else found.slow


WORKING = "Working on it: the answer follows here in a moment."


def execute(runtime: Runtime, caller: Caller, text: str) -> Reply:
    """Run one `/wsoa` command in one transaction. A UserError rolls back and becomes the answer;
    anything unexpected rolls back, is logged with a reference, and the caller gets an apology."""
    verb, args = split_verb(text)
    if verb not in COMMANDS and looks_like_ref(verb):
        # `11F amber pilot live`: a line that starts with a ref is an update, on every surface
        verb, args = "update", text.strip()
    found = COMMANDS.get(verb)
    if found is None:
        runtime.metrics.command(caller.source.value, "unknown")("refused")
        close = nearest(verb, list(COMMANDS))
        hint = f" Did you mean `{close[0]}`?" if close else ""
        return Reply(summary=f"Unknown command {verb}").para(
            plain(f"There is no command “{verb[:40]}”.{hint} "), code("help"), plain(" lists them.")
        )

    def run() -> Reply:
        with runtime.work(caller) as ctx:
            return found.handler(ctx, args.strip())

    done = runtime.metrics.command(caller.source.value, verb)
    return answered(run, f"{text!r} from {caller.user_id}", done)


def answered(
    run: Callable[[], Reply], what: str, done: Callable[[str], None] | None = None
) -> Reply:
    """The one error path of the core, for typed commands, buttons and forms alike: a UserError
    becomes its message; anything else (rolled back by the unit of work it escaped) is logged
    with a reference, and the person gets the apology naming it. `done` hears the outcome
    (ok, refused, error): the metrics."""
    outcome = "ok"
    try:
        return run()
    except UserError as refusal:
        outcome = "refused"
        return say(str(refusal))
    except Exception:
        outcome = "error"
        return failure_apology(f"command {what}", rolled_back=True)
    finally:
        if done is not None:
            done(outcome)


def failure_apology(what: str, *, rolled_back: bool = False) -> Reply:
    """Called while an exception is being handled: logs it with its traceback and the request's
    reference (bot/logs.py; a new one outside a request), and gives the apology quoting it."""
    reference = new_reference()
    log.exception("%s failed (reference %s)", what, reference)
    return apology(reference, rolled_back=rolled_back)


def new_reference() -> str:
    """The reference an apology quotes: the request's own, which every log line of the
    request carries, or a new one."""
    return current_reference() or logs.new_reference()


def apology(reference: str, *, rolled_back: bool = False) -> Reply:
    """What every surface says when something failed on our side. `rolled_back` when it is
    known that nothing was recorded (the failure came before the commit)."""
    unchanged = " and nothing was changed" if rolled_back else ""
    return say(
        f"Sorry, something went wrong on our side{unchanged}. If it happens again, give the "
        f"programme manager this reference: {reference}."
    )
