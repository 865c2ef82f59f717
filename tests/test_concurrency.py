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

from events_app.courses import checkin
from events_app.seats import register_sql, registration
from events_app.core.models import Attendance, AuditEntry, CheckIn, EventSession, OutboxMessage, Registration, RegistrationStatus as S
from events_app.seats.registration import Applicant
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
    monkeypatch.setattr(register_sql, "place", race.unlocked_place)
    event = await make_event(capacity=20)
    await race.rush(event.id, 200)
    with pytest.raises(AssertionError):
        await race.check_invariants(event.id, expected_total=200)


async def _churn(event_id: int, tokens: list[str]) -> None:
    """Cancellations, new registrations and a capacity change, all at once."""
    result = await race.churn(event_id, 30, cancel_tokens=tokens, prefix="late", raise_capacity_to=25)
    assert result.errors == []


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
    monkeypatch.setattr(register_sql, "place", race.unlocked_place)
    with pytest.raises(AssertionError):
        await _churn(event.id, list(confirmed[:15]))
        await race.check_invariants(event.id, expected_total=90)


def _rush_in_processes(database_url: str, event_id: int, *, processes: int, each: int, unlocked: bool,
                       plans: list[list[str]] | None = None) -> list[dict]:
    """Start `processes` copies of tests/race.py at the same moment; plans[n] adds arguments for process n."""
    start_at = time.time() + 2.5  # all processes imported and connected before the start
    plans = plans or [[] for _ in range(processes)]
    commands = [[sys.executable, "-m", "tests.race", database_url, str(event_id), str(each), str(start_at),
                 "--prefix", f"proc{n}-", *plans[n]] + (["--unlocked"] if unlocked else []) for n in range(processes)]
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


#: Seats per request cycle through 1, 1, 3, 1, 2, so some waiting requests do not fit a freed seat.
MIXED_COMPANIONS = (0, 0, 2, 0, 1)


async def _churn_plans(event_id: int) -> tuple[list[list[str]], list[str]]:
    """Per process: cancel two seat holders and two waiting people; the first process also raises the capacity."""
    await race.rush(event_id, 60, companions=MIXED_COMPANIONS)
    by_queue = Registration.filter(event_id=event_id).order_by("queued_at", "id")
    holders = await by_queue.filter(status=S.CONFIRMED).values_list("manage_token", flat=True)
    waiting = await by_queue.filter(status=S.WAITLISTED).values_list("manage_token", flat=True)
    tokens = [*holders[:8], *waiting[::5][:8]]
    assert len(tokens) == 16
    companions = "--companions=" + ",".join(map(str, MIXED_COMPANIONS))
    # "--cancel=TOKEN": a token may begin with "-"
    plans = [[companions, *(f"--cancel={tokens[i]}" for i in (n, n + 4, n + 8, n + 12))] for n in range(4)]
    plans[0].append("--raise-capacity=24")
    return plans, tokens


async def _all_cancelled(tokens: list[str]) -> None:
    statuses = await Registration.filter(manage_token__in=tokens).values_list("status", flat=True)
    assert sorted(statuses) == [S.CANCELLED] * len(tokens), "a cancellation was lost"


@pytest.mark.multiprocess
@both_databases
async def test_cancellations_registrations_and_promotions_in_four_processes(db):
    """Four processes cancel (which promotes), register and raise the capacity at once. Afterwards
    the seats held fit the capacity and match the counter, the waiting positions run 1..N, no freed
    seat went past an older waiting request that fits it, nobody was lost."""
    event = await make_event(capacity=20, max_companions=2)
    plans, tokens = await _churn_plans(event.id)
    results = await asyncio.to_thread(_rush_in_processes, db, event.id, processes=4, each=15, unlocked=False,
                                      plans=plans)
    assert [r["errors"] for r in results] == [[], [], [], []]
    assert sum(len(r["statuses"]) for r in results) == 60
    await _all_cancelled(tokens)
    stats = await race.check_invariants(event.id, expected_total=120)
    assert stats["held"] == 24  # the raise and every freed seat were filled from the waiting list
    promoted = await OutboxMessage.filter(event_id=event.id, template="promoted").count()
    assert promoted > 0


@pytest.mark.multiprocess
@both_databases
async def test_negative_control_churn_in_four_processes_without_the_lock_fails(db):
    """SQLite without BEGIN IMMEDIATE loses cancellations and registrations to 'database is locked';
    PostgreSQL without FOR UPDATE loses seat-counter updates."""
    event = await make_event(capacity=20, max_companions=2)
    plans, tokens = await _churn_plans(event.id)
    await asyncio.to_thread(_rush_in_processes, db, event.id, processes=4, each=15, unlocked=True, plans=plans)
    with pytest.raises(AssertionError):
        await _all_cancelled(tokens)
        await race.check_invariants(event.id, expected_total=120)


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
    with race.gap_between_read_and_insert():  # as in the negative control below: only the unique pair differs
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
        with race.gap_between_read_and_insert():
            await race.check_in_rush(event_id=event.id, registration_id=person.id, session_id=session.id, by=door,
                                     count=20)
        assert await CheckIn.filter(registration_id=person.id).count() > 1
