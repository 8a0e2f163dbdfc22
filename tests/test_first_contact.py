"""A burst of first commands from someone new: each is answered as itself, and one person with
one identity is created, never an apology from the unique clash of two creating them at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime
from bot.store.models import FollowUp, Identity, Person
from tests.conftest import ADMIN
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401 (the `slack` fixture)
from tests.slack_requests import HttpResult

NEWCOMER = "U0NEWCOMER"
BURST = 12


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("trial", range(3))
def test_twelve_first_commands_at_once_make_one_person(
    runtime: Runtime, slack: SlackHarness, trial: int
) -> None:
    newcomer = f"{NEWCOMER}{trial}"
    runtime.settings = runtime.settings.model_copy(update={"admins": frozenset({ADMIN, newcomer})})
    barrier = threading.Barrier(BURST)

    def first_command(i: int) -> HttpResult:
        barrier.wait()
        return slack.slash(f"followup add 11F Question {i} from a new adviser", user_id=newcomer)

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        results = list(pool.map(first_command, range(BURST)))

    texts = [r.text for r in results]
    assert all(r.status == 200 for r in results), texts
    assert all("FU-" in t for t in texts), texts
    with runtime.sessions() as session:
        identities = session.scalars(select(Identity).where(Identity.external_id == newcomer)).all()
        assert len(identities) == 1
        person_id = identities[0].person_id
        assert session.get(Person, person_id) is not None
        raised = session.scalar(
            select(func.count())
            .select_from(FollowUp)
            .where(FollowUp.raised_by_person_id == person_id)
        )
        assert raised == BURST
