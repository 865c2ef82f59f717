"""Registration rushes on SQLite and PostgreSQL, in one process and in several, and the same person
checked in from several phones at once.

Each race test has a negative control: the same rush without the guard (the event lock replaced by an
unlocked read-decide-write, or the check-in's unique pair dropped) must break an invariant, which shows
the test can see the bug.
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

from events_app import checkin, registration
from events_app.models import Attendance, AuditEntry, CheckIn, EventSession, Registration, RegistrationStatus as S
from events_app.registration import Applicant
from tests import race
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, make_event, make_user

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


async def _door_scene():
    """A single-date workshop (the case that once stored no date), one confirmed person, one door user."""
    event = await make_event(kind="workshop", capacity=5)
    person = (await registration.register(event_id=event.id, applicant=Applicant(name="Ayşe", email="a@example.org"))
              ).registration
    door, _ = await make_user("door", "door-race@stadt-giessen.de")
    return event, person, await EventSession.get(event_id=event.id), door


@both_databases
async def test_the_same_person_checked_in_from_20_phones_at_once_gets_one_row(db):
    """On PostgreSQL the check-ins run on separate pooled connections; the unique (registration, session)
    pair lets one insert win and the others find its row."""
    event, person, session, door = await _door_scene()
    failures = await race.check_in_rush(event_id=event.id, registration_id=person.id, session_id=session.id,
                                        by=door, count=20)
    assert failures == []
    assert await CheckIn.filter(registration_id=person.id).count() == 1
    assert await Attendance.filter(registration_id=person.id, session_id=session.id, present=True).count() == 1
    assert await AuditEntry.filter(action="checkin.arrived").count() == 1


@both_databases
async def test_the_door_form_sent_from_ten_phones_at_once_gets_one_row(client, db):
    event, person, session, _ = await _door_scene()
    me = await sign_in(client, "organiser")
    responses = await asyncio.gather(*(client.post(f"/admin/checkin/{event.id}/arrive", data={
        "csrf_token": me.csrf, "registration_id": person.id}) for _ in range(10)))
    assert [r.status_code for r in responses] == [303] * 10
    assert await CheckIn.filter(registration_id=person.id, session_id=session.id).count() == 1


@both_databases
async def test_negative_control_without_the_unique_pair_the_rush_checks_in_twice(db, monkeypatch):
    """The old path: arrivals at single-date events stored no date, so the unique pair never applied.
    On PostgreSQL the check-in's own transactions then let two inserts through. On SQLite they run one
    after another in a process (and BEGIN IMMEDIATE across processes), so the old path could not double
    there: the control also takes the transaction away to show the rush does interleave."""
    event, person, session, door = await _door_scene()
    if db.startswith("sqlite"):
        monkeypatch.setattr(checkin, "in_transaction", race.no_transaction)
    async with race.checkin_pair_not_unique():
        await race.check_in_rush(event_id=event.id, registration_id=person.id, session_id=session.id, by=door,
                                 count=20)
        assert await CheckIn.filter(registration_id=person.id).count() > 1
