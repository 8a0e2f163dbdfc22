"""Teams wired into the core: who is asking (from `from.aadObjectId`, their `29:` id, the tenant,
and their e-mail from the members endpoint), which plan (the tenant's or channel's binding, via
`Ctx.plan`), and the same `execute`, form and service functions Slack's listeners use.

Every activity's conversation reference is remembered: the person's identity keeps their `29:`
id and regional service URL (reminders and private answers reach their personal chat), and a
channel's address is what a board meeting or weekly digest set up there stores.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace

from bot.addresses import Address
from bot.commands import execute, interactions
from bot.commands.registry import failure_apology
from bot.commands.reports import answer_plain
from bot.domain import Surface, UserError
from bot.render import cards
from bot.replies import FormSubmission, Reply, say
from bot.runtime import Runtime
from bot.services import forms, people
from bot.services.context import Caller
from bot.teams.app import (
    ButtonInfo,
    CommandInfo,
    ConversationRef,
    FormAnswer,
    FormInfo,
    TeamsBot,
)
from bot.teams.connector import Connector, ConnectorError

log = logging.getLogger(__name__)

PLATFORM = "teams"
# An e-mail looked up from the members endpoint is kept this long: people rarely change it,
# and one look-up per person per hour keeps each message to one round trip.
MEMBER_TTL = 3600.0


@dataclass
class TeamsCore:
    runtime: Runtime
    connector: Connector
    # (tenant, aad object id) -> (e-mail or None, when looked up)
    _emails: dict[tuple[str, str], tuple[str | None, float]] = field(default_factory=dict)
    # references already stored: (tenant, aad id, 29: id, service URL)
    _remembered: set[tuple[str, str, str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bot(self) -> TeamsBot:
        return TeamsBot(
            connector=self.connector,
            on_command=self.on_command,
            on_button=self.on_button,
            on_form=self.on_form,
            remember=self.remember,
        )

    # --- who is asking -----------------------------------------------------------------------

    def email_of(self, ref: ConversationRef) -> str | None:
        """The caller's e-mail (or UPN) from the members endpoint, cached per person."""
        if not (ref.aad_object_id and ref.user_id):
            return None
        key = (ref.tenant_id or "", ref.aad_object_id.lower())
        with self._lock:
            known = self._emails.get(key)
        if known is not None and time.monotonic() - known[1] < MEMBER_TTL:
            return known[0]
        try:
            member = self.connector.member(ref.service_url, ref.base_conversation_id, ref.user_id)
        except ConnectorError as failed:
            # Permissions by AAD id still work; e-mail links wait for the next look-up.
            log.warning("Teams member look-up failed: %s", failed)
            return known[0] if known else None
        email = (member.email or member.user_principal_name) if member else None
        email = email.lower() if email and "@" in email else None
        with self._lock:
            self._emails[key] = (email, time.monotonic())
        return email

    def caller(self, ref: ConversationRef) -> Caller:
        personal = ref.is_personal
        conversation = ref.base_conversation_id
        address = Address(
            platform="teams",
            workspace=ref.tenant_id or "",
            conversation=conversation,
            service_url=ref.service_url,
        )
        return Caller(
            user_id=(ref.aad_object_id or ref.user_id or "").lower(),
            channel_id=ref.channel_id or conversation,
            source=Surface.TEAMS,
            name=ref.user_name,
            platform=PLATFORM,
            workspace=ref.tenant_id or "",
            email=self.email_of(ref),
            connector_id=ref.user_id,
            prefix="" if personal else cards.TEAMS_INVOCATION,
            address=address,
        )

    def remember(self, ref: ConversationRef) -> None:
        """Store what a personal chat with this person needs (their `29:` id and regional URL)
        on their Teams identity, creating it (and linking a lead named by e-mail) on first
        contact. Written only when something changed."""
        if not (ref.aad_object_id and ref.user_id and ref.tenant_id):
            return
        key = (ref.tenant_id, ref.aad_object_id.lower(), ref.user_id, ref.service_url)
        with self._lock:
            if key in self._remembered:
                return
        caller = self.caller(ref)
        try:
            with self.runtime.work(caller) as ctx:
                who = caller.who
                identity = people.find_identity(ctx.session, who)
                if identity is None:
                    people.identify(ctx.session, who)
                    identity = people.find_identity(ctx.session, who)
                if identity is not None:
                    identity.connector_id = ref.user_id
                    identity.service_url = ref.service_url
        except UserError as refused:
            log.info("could not remember a Teams conversation: %s", refused)
            return
        with self._lock:
            self._remembered.add(key)

    # --- the seams ---------------------------------------------------------------------------

    def on_command(self, info: CommandInfo) -> Reply:
        text = info.text
        for mention in info.mentions:
            # `assign 11F @Sam Lead`: the person, by the id permissions key on.
            if mention.aad_object_id and mention.name:
                text = text.replace("@" + mention.name, mention.aad_object_id.lower())
        caller = self.caller(info.ref)
        if info.ref.is_personal:
            # A lead's plain reply to a check-in (`11F amber pilot live`) is an update; a line
            # starting with a command's word is that command.
            return answer_plain(self.runtime, caller, text)
        return execute(self.runtime, caller, text)

    def on_button(self, info: ButtonInfo) -> Reply:
        """Any button of the core's table, or a form asked for by its purpose (a dialog)."""
        return interactions.press(self.runtime, self.caller(info.ref), info.verb, info.value)

    def on_form(self, info: FormInfo) -> FormAnswer:
        values: dict[str, str | None] = {}
        initial: dict[str, str | None] = {}
        for name, value in info.values.items():
            if name.startswith(cards.INITIAL_PREFIX):
                initial[name.removeprefix(cards.INITIAL_PREFIX)] = value
            else:
                values[name] = value
        submission = FormSubmission(
            purpose=info.purpose, key=info.key, values=values, initial=initial
        )
        caller = self.caller(info.ref)
        try:
            return FormAnswer(reply=interactions.submit(self.runtime, caller, submission))
        except forms.FieldError as refusal:
            return self._again(caller, submission, {refusal.field: str(refusal)})
        except UserError as refusal:
            main = interactions.main_field(info.purpose)
            return self._again(caller, submission, {main: str(refusal)})
        except Exception:
            return FormAnswer(reply=failure_apology(f"Teams form {info.purpose}", rolled_back=True))

    def _again(
        self, caller: Caller, submission: FormSubmission, errors: dict[str, str]
    ) -> FormAnswer:
        """The form shown again with the error beside its field and what was typed kept."""
        form = interactions.open_form(self.runtime, caller, submission.purpose, submission.key)
        if form is None:
            return FormAnswer(reply=say(next(iter(errors.values()))))
        fields = [
            f.model_copy(update={"initial": submission.values.get(f.id) or f.initial})
            for f in form.fields
        ]
        dialog = cards.dialog_from_form(form.model_copy(update={"fields": fields}))
        # The values it first opened with, not what was typed, decide what changed.
        dialog = replace(
            dialog,
            extra={
                cards.INITIAL_PREFIX + k: v for k, v in submission.initial.items() if v is not None
            },
        )
        return FormAnswer(errors=errors, dialog=dialog)
