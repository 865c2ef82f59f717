"""Registration rushes on SQLite and PostgreSQL, in one process and in several.

Each race test has a negative control: the same rush with the event lock replaced by an
unlocked read-decide-write must break an invariant, which shows the test can see the bug.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from events_app import registration
from events_app.models import Registration, RegistrationStatus as S
from tests import race
from tests.helpers import both_databases, make_event

ROOT = Path(__file__).resolve().parent.parent


@both_databases
async def test_200_at_once_for_20_seats(db):
    event = await make_event(capacity=20)
    result = await race.rush(event.id, 200)
    assert result.errors == []
    assert result.statuses.count("confirmed") == 20
    assert result.statuses.count("waitlisted") == 180
    assert sorted(result.positions) == list(range(1, 181))
    assert await race.check_invariants(event.id, expected_total=200) == {"held": 20, "waiting": 180, "total": 200}


@both_databases
async def test_negative_control_without_the_lock_overbooks(db, monkeypatch):
    monkeypatch.setattr(registration, "event_lock", race.unlocked_event_lock)
    event = await make_event(capacity=20)
    await race.rush(event.id, 200)
    with pytest.raises(AssertionError):
        await race.check_invariants(event.id, expected_total=200)


async def _churn(event_id: int, tokens: list[str]) -> None:
    """Cancellations, new registrations and a capacity change, all at once."""
    jobs = [registration.cancel(token=t) for t in tokens]
    jobs += [race.rush(event_id, 30, prefix="late")]
    jobs += [registration.set_capacity(event_id=event_id, capacity=25)]
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert failures == []


@both_databases
async def test_concurrent_cancellations_and_promotions_never_exceed_capacity(db):
    event = await make_event(capacity=20)
    await race.rush(event.id, 60)
    confirmed = await Registration.filter(event_id=event.id, status=S.CONFIRMED).values_list("manage_token", flat=True)
    await _churn(event.id, list(confirmed[:15]))
    stats = await race.check_invariants(event.id, expected_total=90)
    assert stats["held"] == 25  # the long waiting list refilled every freed seat


@both_databases
async def test_negative_control_churn_without_the_lock_breaks_the_counter(db, monkeypatch):
    event = await make_event(capacity=20)
    await race.rush(event.id, 60)
    confirmed = await Registration.filter(event_id=event.id, status=S.CONFIRMED).values_list("manage_token", flat=True)
    monkeypatch.setattr(registration, "event_lock", race.unlocked_event_lock)
    with pytest.raises(AssertionError):
        await _churn(event.id, list(confirmed[:15]))
        await race.check_invariants(event.id, expected_total=90)


def _rush_in_processes(database_url: str, event_id: int, *, processes: int, each: int, unlocked: bool) -> list[dict]:
    start_at = time.time() + 2.5  # all processes imported and connected before the start
    commands = [[sys.executable, "-m", "tests.race", database_url, str(event_id), str(each), str(start_at),
                 "--prefix", f"proc{n}-"] + (["--unlocked"] if unlocked else []) for n in range(processes)]
    running = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}) for c in commands]
    results = []
    for process in running:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.multiprocess
@both_databases
async def test_200_in_four_processes_for_20_seats(db):
    event = await make_event(capacity=20)
    results = await asyncio.to_thread(_rush_in_processes, db, event.id, processes=4, each=50, unlocked=False)
    assert [r["errors"] for r in results] == [[], [], [], []]
    statuses = [s for r in results for s in r["statuses"]]
    assert statuses.count("confirmed") == 20 and statuses.count("waitlisted") == 180
    assert await race.check_invariants(event.id, expected_total=200) == {"held": 20, "waiting": 180, "total": 200}


@pytest.mark.multiprocess
@both_databases
async def test_negative_control_four_processes_without_the_lock_fail(db):
    """SQLite without BEGIN IMMEDIATE loses registrations to 'database is locked';
    PostgreSQL without FOR UPDATE overbooks."""
    event = await make_event(capacity=20)
    await asyncio.to_thread(_rush_in_processes, db, event.id, processes=4, each=50, unlocked=True)
    with pytest.raises(AssertionError):
        await race.check_invariants(event.id, expected_total=200)
