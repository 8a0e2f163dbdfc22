"""The Slack surface: `/wsoa`, every button and form of the core's table, and App Home.

Every listener goes through the command registry or the services, exactly as the console does,
so Slack adds no rules of its own: it turns Replies into Block Kit and forms back into calls.
Listeners acknowledge first with what they can answer in milliseconds; anything that talks to
Slack again (opening a form, a confirmation, the Home tab) runs after the acknowledgement.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from slack_bolt import Ack, App, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.commands import execute, interactions
from bot.commands.registry import WORKING, apology, is_slow, new_reference
from bot.commands.reports import answer_plain
from bot.domain import UserError
from bot.render.blockkit import (
    field_block,
    form_callback,
    form_modal,
    message,
    notice_modal,
    read_form_values,
)
from bot.replies import Form, FormSubmission, Reply, say
from bot.runtime import Runtime, acknowledged
from bot.services.context import Caller
from bot.services.forms import FieldError
from bot.slack.home import publish_home
from bot.slack.sender import direct_channel, upload_files

log = logging.getLogger(__name__)

COMMAND = "/wsoa"

# Every button of the core's table (the renderer numbers repeated action ids in one block,
# `wsoa_update_open:2`, so match those too).
BUTTON_CLICK = re.compile(
    "^(?:" + "|".join(re.escape(b) for b in interactions.BUTTONS) + r")(:\d+)?$"
)


def register_listeners(app: App) -> None:
    app.command(COMMAND)(run_wsoa_command)
    app.action(BUTTON_CLICK)(press_button)
    for purpose in interactions.FORMS:
        app.view(form_callback(purpose))(save_form)
    # a lead's plain reply to a check-in, in their direct messages
    app.event({"type": "message", "channel_type": "im"})(answer_direct_message)
    app.event("app_home_opened")(show_home_tab)
    app.error(explain_error)


# --- answering privately -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyTo:
    """Where to answer someone privately. A `response_url` (from the command or message they
    started in) works in any channel whether or not the bot is a member; without one, or once
    it has expired (30 minutes), their direct messages with the app."""

    user_id: str
    response_url: str | None = None


def tell_privately(client: WebClient, reply_to: ReplyTo, payload: dict[str, Any]) -> None:
    if reply_to.response_url:
        hook = WebhookClient(
            reply_to.response_url, timeout=10, retry_handlers=client.retry_handlers
        )
        sent = hook.send_dict({"response_type": "ephemeral", "replace_original": False, **payload})
        if sent.status_code == 200:
            return
        log.info("response_url answered %s; sending a direct message instead", sent.status_code)
    client.chat_postMessage(channel=reply_to.user_id, **payload)


class FormOrigin(BaseModel):
    """What a form remembers between opening and submission (its `private_metadata`): what it
    is for and about, the values it opened with, and where to answer."""

    purpose: str
    subject: str  # the form's key: the action ref, or the follow-up id
    initial: dict[str, str] = {}
    response_url: str | None = None

    @classmethod
    def of(cls, form: Form, response_url: str | None) -> FormOrigin:
        initial = {k: v for k, v in form.initial_values().items() if v is not None}
        return cls(
            purpose=form.purpose, subject=form.key, initial=initial, response_url=response_url
        )

    def modal(self, form: Form) -> dict[str, Any]:
        return form_modal(form, private_metadata=self.model_dump_json(exclude_none=True))

    def reply_to(self, user_id: str) -> ReplyTo:
        return ReplyTo(user_id=user_id, response_url=self.response_url)


# --- /wsoa -------------------------------------------------------------------------------------


def run_wsoa_command(
    ack: Ack, command: dict[str, Any], caller: Caller, runtime: Runtime, client: WebClient
) -> None:
    """Answer in the acknowledgement itself: commands take milliseconds, and an answer there
    needs no scope and works in any channel, the bot a member of it or not."""
    text = str(command.get("text") or "")
    if is_slow(text):
        # A document takes longer than Slack waits: answered first, the reply sent after.
        ack(response_type="ephemeral", text=WORKING)
        acknowledged()
        answer_later(client, command, caller, runtime, execute(runtime, caller, text))
        return
    reply = execute(runtime, caller, text)
    if reply.form is not None:
        ack()
        origin = FormOrigin.of(reply.form, command.get("response_url"))
        client.views_open(trigger_id=command["trigger_id"], view=origin.modal(reply.form))
        return
    payload = message(reply)
    ack(
        text=payload["text"],
        blocks=payload["blocks"],
        response_type="in_channel" if reply.visibility == "channel" else "ephemeral",
    )
    after_answer(client, command, caller, runtime, reply)


def answer_later(
    client: WebClient, command: dict[str, Any], caller: Caller, runtime: Runtime, reply: Reply
) -> None:
    """A slow command's reply, after its acknowledgement: through the command's response_url,
    for the channel or the caller as the reply says, then its files."""
    payload = message(reply)
    response_url = command.get("response_url")
    if reply.visibility == "channel" and response_url:
        hook = WebhookClient(response_url, timeout=10, retry_handlers=client.retry_handlers)
        hook.send_dict({"response_type": "in_channel", "replace_original": False, **payload})
    else:
        tell_privately(client, ReplyTo(caller.user_id, response_url), payload)
    after_answer(client, command, caller, runtime, reply)


def after_answer(
    client: WebClient, command: dict[str, Any], caller: Caller, runtime: Runtime, reply: Reply
) -> None:
    """What follows a command's answer: its files (an upload takes longer than Slack waits), to
    the channel for a reply the channel sees, else to the caller's direct messages; and their
    Home tab when their own work changed."""
    if reply.files:
        channel = command.get("channel_id") if reply.visibility == "channel" else None
        upload_files(client, channel or direct_channel(client, caller.user_id), reply.files)
    if reply.changed_own_work:
        publish_home(runtime, client, caller)


# --- buttons and forms: the core's table, translated -------------------------------------------


def press_button(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    caller: Caller,
    runtime: Runtime,
    client: WebClient,
    context: BoltContext,
) -> None:
    """Any button of the core's table: run before the acknowledgement (milliseconds), then its
    form opened, or its answer told privately."""
    reply = interactions.press(
        runtime, caller, str(action.get("action_id") or ""), str(action.get("value") or "")
    )
    ack()
    if reply.form is not None:
        origin = FormOrigin.of(reply.form, context.response_url)
        client.views_open(trigger_id=body["trigger_id"], view=origin.modal(reply.form))
        return
    tell_privately(client, ReplyTo(caller.user_id, context.response_url), message(reply))
    if reply.changed_own_work:
        publish_home(runtime, client, caller)


def save_form(
    ack: Ack, view: dict[str, Any], caller: Caller, runtime: Runtime, client: WebClient
) -> None:
    """Any submitted form: translated into a FormSubmission; the services decide what changed
    and whether it may be saved. A refusal is shown beside the field it concerns."""
    origin = FormOrigin.model_validate_json(view["private_metadata"])
    submission = FormSubmission(
        purpose=origin.purpose,
        key=origin.subject,
        values=read_form_values(view["state"]["values"]),
        initial=dict(origin.initial),
    )
    try:
        confirmation = interactions.submit(runtime, caller, submission)
    except FieldError as refusal:
        ack(
            response_action="errors",
            errors={field_block(origin.purpose, refusal.field): str(refusal)},
        )
        return
    except UserError as refusal:
        main = interactions.main_field(origin.purpose)
        ack(response_action="errors", errors={field_block(origin.purpose, main): str(refusal)})
        return
    ack()
    tell_privately(client, origin.reply_to(caller.user_id), message(confirmation))
    publish_home(runtime, client, caller)


# --- direct messages -----------------------------------------------------------------------------


def answer_direct_message(
    event: dict[str, Any], caller: Caller | None, runtime: Runtime, client: WebClient
) -> None:
    """A lead's plain reply to a check-in, in their direct messages with the bot: recorded as
    an update, answered with what was understood. Edits, joins and the bot's own posts (any
    subtype, or a bot id) are not replies."""
    if event.get("subtype") or event.get("bot_id") or caller is None:
        return
    channel = str(event.get("channel") or caller.user_id)
    reply = answer_plain(runtime, caller, str(event.get("text") or ""))
    client.chat_postMessage(channel=channel, **message(reply))


# --- App Home ----------------------------------------------------------------------------------


def show_home_tab(
    event: dict[str, Any], caller: Caller, runtime: Runtime, client: WebClient
) -> None:
    # The event also fires for the Messages tab, which has nothing of ours to refresh.
    if event.get("tab", "home") == "home":
        publish_home(runtime, client, caller)


# --- the one error handler ---------------------------------------------------------------------


def explain_error(
    error: Exception,
    body: dict[str, Any],
    context: BoltContext,
    response: BoltResponse | None,
    client: WebClient,
) -> BoltResponse | None:
    """A UserError becomes its message, privately; anything else is logged with its traceback
    and a reference, and the person gets a short apology naming the reference.

    `response` is not None while Slack is still waiting for the acknowledgement: then the
    answer can go in it. Afterwards it goes through the response_url or a direct message."""
    kind = _kind(body)
    if isinstance(error, UserError):
        text = str(error)
    else:
        reference = new_reference()
        log.error(
            "unexpected error answering a Slack %s (reference %s)",
            kind,
            reference,
            exc_info=error,
        )
        text = apology(reference).summary
    waiting = response is not None
    if waiting and kind == "view_submission":
        return BoltResponse(
            status=200, body={"response_action": "update", "view": notice_modal(say(text))}
        )
    if waiting and kind == "slash_command":
        return BoltResponse(status=200, body={"response_type": "ephemeral", **message(say(text))})
    # An event (a Home tab opening) has nobody waiting on it: the log is enough.
    if kind != "event_callback" and context.user_id:
        _tell_quietly(client, ReplyTo(context.user_id, context.response_url), text)
    return BoltResponse(status=200, body="") if waiting else None


def _kind(body: dict[str, Any]) -> str:
    if "command" in body:
        return "slash_command"
    return str(body.get("type") or "request")


def _tell_quietly(client: WebClient, reply_to: ReplyTo, text: str) -> None:
    # Failing to deliver the apology must not hide the error being apologised for.
    try:
        tell_privately(client, reply_to, message(say(text)))
    except Exception:
        log.exception("could not tell %s about an error", reply_to.user_id)
