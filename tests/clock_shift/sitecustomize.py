"""Moves the wall clock of every Python process that starts with this folder on PYTHONPATH by
WSOA_CLOCK_SHIFT_DAYS days, ticking on from there: the test run, its workers and every process
they start (`wsoa serve`, `wsoa tick`) alike, so what they sign and check still agrees. The
monotonic clock (timeouts, sleeps) is left alone.

    PYTHONPATH=tests/clock_shift WSOA_CLOCK_SHIFT_DAYS=365 make test

proves that no test depends on the day it runs (README, Development)."""

import os

_DAYS = os.environ.get("WSOA_CLOCK_SHIFT_DAYS")
if _DAYS:
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=int(_DAYS)), tick=True).start()
