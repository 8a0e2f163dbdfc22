"""The Teams inbound side: what an activity says, where its answer goes, and what to remember
about the conversation it came from.

Pure rules over the activity JSON as Teams posts it (no SDK models, which drop fields the bot
needs), plus `TeamsBot`, which runs a command through a seam the core fills in and posts the
answer with the `Connector`. The HTTP side (token check, one ASGI app with Slack) is `web.py`.

- Routing is decided here, before anything else: the bot's own `<at>…</at>` mention is stripped
  (Teams keeps it in the text), then a leading `wsoa` or `/wsoa`; one handler takes every message.
- Every activity (messages, installs, `conversationUpdate`) yields a `ConversationRef`: the
  conversation id, its regional `serviceUrl` (path kept), the tenant, and the person's `29:` id
  and Entra object id. Proactive posts need all of them.
- A channel's answers go into the thread of the message. A private answer goes to the caller's
  personal chat with the bot, and the thread gets one short pointer that repeats nothing.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.commands.registry import WORKING, failure_apology, is_slow
from bot.render import cards
from bot.replies import Reply, say
from bot.teams.connector import Connector, ConnectorError

log = logging.getLogger(__name__)

ConversationType = Literal["personal", "channel", "groupChat"]

# What the channel's thread gets when the answer went to the caller's personal chat.
POINTER = "I've sent you the answer in our personal chat."
# Formatting tags Teams wraps typed text in; anything else in the text arrives escaped.
_FORMAT_TAGS = re.compile(r"</?(?:p|div|span|br|b|i|strong|em|u)\b[^>]*>", re.IGNORECASE)
_AT_TAG = re.compile(r"<at\b[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_PREFIX = re.compile(r"^/?wsoa\b[:,]?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ConversationRef:
    """Everything needed to post into a conversation later (a digest, a reminder, a private
    answer), learned from an activity in it."""

    service_url: str
    conversation_id: str
    conversation_type: ConversationType
    tenant_id: str | None = None
    bot_id: str | None = None
    # the person who sent the activity: the Bot Connector's `29:` id, and their Entra object id
    # (what permissions key on)
    user_id: str | None = None
    aad_object_id: str | None = None
    user_name: str | None = None
    team_id: str | None = None
    channel_id: str | None = None
    activity_id: str | None = None

    @property
    def base_conversation_id(self) -> str:
        """The conversation without `;messageid=…`: posting there starts a new thread."""
        return self.conversation_id.split(";", 1)[0]

    @property
    def is_personal(self) -> bool:
        return self.conversation_type == "personal"


@dataclass(frozen=True)
class Mention:
    """A person mentioned in the command (not the bot): `assign 11F @Sam`."""

    name: str
    user_id: str
    aad_object_id: str | None = None


@dataclass(frozen=True)
class CommandInfo:
    """A command as the core's seam receives it."""

    text: str
    ref: ConversationRef
    mentions: tuple[Mention, ...] = ()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def capture_reference(activity: Mapping[str, Any]) -> ConversationRef | None:
    """The conversation reference of any activity, or None when it lacks what a post needs."""
    conversation = activity.get("conversation") or {}
    service_url = _text(activity.get("serviceUrl"))
    conversation_id = _text(conversation.get("id"))
    if service_url is None or conversation_id is None:
        return None
    sender = activity.get("from") or {}
    recipient = activity.get("recipient") or {}
    channel_data = activity.get("channelData") or {}
    tenant = (channel_data.get("tenant") or {}).get("id") or conversation.get("tenantId")
    kind = conversation.get("conversationType")
    conversation_type: ConversationType = (
        kind if kind in ("personal", "channel", "groupChat") else "personal"
    )
    return ConversationRef(
        service_url=service_url,
        conversation_id=conversation_id,
        conversation_type=conversation_type,
        tenant_id=_text(tenant),
        bot_id=_text(recipient.get("id")),
        user_id=_text(sender.get("id")),
        aad_object_id=_text(sender.get("aadObjectId")),
        user_name=_text(sender.get("name")),
        team_id=_text((channel_data.get("team") or {}).get("id")),
        channel_id=_text((channel_data.get("channel") or {}).get("id")),
        activity_id=_text(activity.get("id")),
    )


def command_text(activity: Mapping[str, Any]) -> tuple[str, tuple[Mention, ...]] | None:
    """The command in a message and the people it mentions, or None when it is not for the bot
    (in a channel or group chat, a message that does not mention it)."""
    raw = activity.get("text")
    if not isinstance(raw, str):
        return None
    bot_id = (activity.get("recipient") or {}).get("id")
    kind = (activity.get("conversation") or {}).get("conversationType") or "personal"
    bot_tags: set[str] = set()
    mentions: list[Mention] = []
    for entity in activity.get("entities") or []:
        if not isinstance(entity, dict) or entity.get("type") != "mention":
            continue
        mentioned = entity.get("mentioned") or {}
        tag = entity.get("text")
        if mentioned.get("id") == bot_id and isinstance(tag, str):
            bot_tags.add(tag)
        elif isinstance(mentioned.get("id"), str):
            mentions.append(
                Mention(
                    name=str(mentioned.get("name") or ""),
                    user_id=mentioned["id"],
                    aad_object_id=_text(mentioned.get("aadObjectId")),
                )
            )
    text = raw
    for tag in bot_tags:
        text = text.replace(tag, " ")
    addressed = bool(bot_tags)
    if not addressed and kind != "personal":
        # Teams sends a channel message to a bot only when it is mentioned, but a mention
        # entity can be missing (older clients): a leading <at> counts as the bot's.
        leading = _AT_TAG.match(text.lstrip())
        if leading is None:
            return None
        text = text.lstrip()[leading.end() :]
    # Other people's mentions read as their names: `assign 11F @Sam Lead`.
    text = _AT_TAG.sub(lambda m: "@" + m.group(1).strip(), text)
    text = html.unescape(_FORMAT_TAGS.sub(" ", text))
    text = _PREFIX.sub("", " ".join(text.split()))
    return text, tuple(mentions)


@dataclass(frozen=True)
class Outgoing:
    """One post: where, in reply to what, and the activity."""

    service_url: str
    conversation_id: str
    activity: dict[str, Any]
    reply_to: str | None = None
    personal_for: ConversationRef | None = None  # a private answer: open the chat first


def plan_answer(reply: Reply, ref: ConversationRef) -> list[Outgoing]:
    """Where a command's answer goes, in order: a personal chat's answers stay there; in a
    channel or group chat the answer goes to the thread, or, if private, to the caller's
    personal chat with a pointer in the thread."""
    if ref.is_personal:
        # No `@WSoA` needed where there is only the bot to talk to.
        return [Outgoing(ref.service_url, ref.conversation_id, _activity(reply, ""))]
    thread = Outgoing(
        ref.service_url,
        ref.conversation_id,
        _activity(reply, cards.TEAMS_INVOCATION),
        reply_to=ref.activity_id,
    )
    if reply.visibility == "channel":
        return [thread]
    private = Outgoing(ref.service_url, "", _activity(reply, ""), personal_for=ref)
    pointer = Outgoing(
        ref.service_url,
        ref.conversation_id,
        {"type": "message", "text": POINTER},
        reply_to=ref.activity_id,
    )
    return [private, pointer]


def _activity(reply: Reply, invocation: str) -> dict[str, Any]:
    if reply.form is not None:
        return cards.form_message(reply.form)
    return cards.message(reply, invocation=invocation)


@dataclass(frozen=True)
class ButtonInfo:
    """A card button pressed (`Action.Execute`: verb = the button's action_id, value its value),
    or a dialog asked for (`task/fetch`: verb = the form's purpose, value its key)."""

    verb: str
    value: str
    ref: ConversationRef


@dataclass(frozen=True)
class FormInfo:
    """A form submitted: which form (purpose, key) and its values by field id, as sent."""

    purpose: str
    key: str
    values: Mapping[str, str]
    ref: ConversationRef


@dataclass(frozen=True)
class FormAnswer:
    """What a submission came to: saved (`reply`), or refused with `errors` by field id (`""`
    for the whole form) to show in the form again (`dialog`)."""

    reply: Reply | None = None
    errors: Mapping[str, str] = field(default_factory=dict)
    dialog: cards.Dialog | None = None


OnCommand = Callable[[CommandInfo], Reply]
OnButton = Callable[[ButtonInfo], Reply]
OnForm = Callable[[FormInfo], FormAnswer]
Remember = Callable[[ConversationRef], None]
_NOT_VALUES = frozenset({"purpose", "key", "msteams", "value"})


def _data(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _form_values(data: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in data.items() if isinstance(v, str) and k not in _NOT_VALUES}


def _or_apology(run: Callable[[], Reply], what: str) -> Reply:
    """The core's seams answer their own failures; this is for one that failed outside them
    (resolving the caller): the person still gets the apology with its reference."""
    try:
        return run()
    except Exception:
        return failure_apology(f"Teams {what}")


@dataclass
class TeamsBot:
    """Runs each activity: remembers its conversation, runs a command through `on_command` (the
    core's seam: `execute` with the caller resolved from `info.ref.aad_object_id`), and posts
    the answer. Synchronous: the web layer calls it in a worker thread."""

    connector: Connector
    on_command: OnCommand
    on_button: OnButton | None = None
    on_form: OnForm | None = None
    remember: Remember = lambda ref: None
    # the personal chat of each user, by `29:` id, once created or learned
    personal_chats: dict[str, str] = field(default_factory=dict)

    def handle(self, activity: Mapping[str, Any]) -> dict[str, Any] | None:
        """Handles one activity; returns the invoke response body, if any."""
        ref = capture_reference(activity)
        if ref is None:
            return None
        self.remember(ref)
        if ref.is_personal and ref.user_id:
            self.personal_chats[ref.user_id] = ref.conversation_id
        kind = activity.get("type")
        if kind == "message":
            found = command_text(activity)
            if found is None:
                return None
            text, mentions = found
            info = CommandInfo(text=text or "help", ref=ref, mentions=mentions)
            if is_slow(info.text):
                # A document takes longer than Teams waits for its 200 (and an unanswered
                # message comes again): answered now, the reply posted when it is made, on a
                # thread of its own that no request deadline binds.
                self.deliver(say(WORKING), ref)
                threading.Thread(
                    target=self._answer_later, args=(info,), name="teams-slow", daemon=True
                ).start()
                return None
            self._answer(info)
            return None
        if kind == "invoke":
            return self.invoke(str(activity.get("name") or ""), _data(activity.get("value")), ref)
        return None

    def _answer(self, info: CommandInfo) -> None:
        self.deliver(_or_apology(lambda: self.on_command(info), "command"), info.ref)

    def _answer_later(self, info: CommandInfo) -> None:
        try:
            self._answer(info)
        except Exception:
            # No request is left to fail: the connector's own retries are spent.
            log.exception("a slow command's answer could not be posted to Teams")

    def invoke(self, name: str, value: Mapping[str, Any], ref: ConversationRef) -> dict[str, Any]:
        """Buttons and forms answer in the HTTP response: a card that replaces the one pressed,
        or a dialog."""
        if name == "adaptiveCard/action":
            action = _data(value.get("action"))
            data = _data(action.get("data"))
            if action.get("verb") == cards.FORM_SUBMIT_VERB:
                return self._submitted(data, ref, as_dialog=False)
            reply = self._pressed(str(action.get("verb") or ""), str(data.get("value") or ""), ref)
            if reply.form is not None:
                form = cards.dialog_card(cards.dialog_from_form(reply.form), submit="card")
                return cards.invoke_card(form)
            return cards.invoke_card(
                cards.message(reply, invocation="")["attachments"][0]["content"]
            )
        if name == "task/fetch":
            data = _data(value.get("data"))
            reply = self._pressed(str(data.get("purpose") or ""), str(data.get("key") or ""), ref)
            if reply.form is not None:
                return cards.dialog_task(cards.dialog_from_form(reply.form))
            return cards.dialog_closed(cards.summary_text(reply, ""))
        if name == "task/submit":
            return self._submitted(_data(value.get("data")), ref, as_dialog=True)
        # Other invokes (file consent, message extensions) are not used: 200 with nothing.
        return {}

    def _pressed(self, verb: str, value: str, ref: ConversationRef) -> Reply:
        if self.on_button is None:
            return Reply(summary="Buttons are not available here.").para(
                "Buttons are not available here."
            )
        return self.on_button(ButtonInfo(verb=verb, value=value, ref=ref))

    def _submitted(
        self, data: Mapping[str, Any], ref: ConversationRef, *, as_dialog: bool
    ) -> dict[str, Any]:
        target = cards.submission_target(data)
        if target is None or self.on_form is None:
            return cards.invoke_message("That form has expired: ask for it again.")
        purpose, key = target
        answer = self.on_form(FormInfo(purpose, key, _form_values(data), ref))
        if answer.errors and answer.dialog is not None:
            if as_dialog:
                return cards.dialog_task(answer.dialog, answer.errors)
            return cards.invoke_card(cards.dialog_card(answer.dialog, answer.errors, submit="card"))
        reply = answer.reply or Reply(summary="Saved.").para("Saved.")
        if as_dialog:
            # The dialog closes; the answer lands where the form was opened from.
            self.deliver(reply, ref)
            return cards.dialog_closed()
        return cards.invoke_card(cards.message(reply, invocation="")["attachments"][0]["content"])

    def deliver(self, reply: Reply, ref: ConversationRef) -> None:
        """Post a reply where it belongs. If it cannot be rendered, the person gets the apology
        with its reference instead, as on every surface, never silence."""
        try:
            posts = plan_answer(reply, ref)
        except Exception:
            posts = plan_answer(failure_apology("rendering a Teams reply"), ref)
        for post in posts:
            conversation_id = post.conversation_id
            if post.personal_for is not None:
                conversation_id = self.personal_chat(post.personal_for)
            self.connector.send(
                post.service_url, conversation_id, post.activity, reply_to=post.reply_to
            )

    def personal_chat(self, ref: ConversationRef) -> str:
        """The caller's personal chat with the bot: learned from an earlier activity, or created
        with their ids (Teams returns the existing one)."""
        if ref.user_id and ref.user_id in self.personal_chats:
            return self.personal_chats[ref.user_id]
        if not (ref.user_id and ref.bot_id and ref.tenant_id):
            raise ConnectorError(0, "the activity lacks the ids a personal chat needs")
        chat = self.connector.create_personal_conversation(
            ref.service_url, bot_id=ref.bot_id, user_id=ref.user_id, tenant_id=ref.tenant_id
        )
        self.personal_chats[ref.user_id] = chat
        return chat
