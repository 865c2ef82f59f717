"""Registration rushes on SQLite and PostgreSQL, in one process and in several, and the same person
checked in from several phones at once.

Each race test has a negative control: the same rush without the guard (the seat primitive's lock,
`seating.event_lock`, replaced by an unlocked read-decide-write, or the check-in's unique pair dropped)
must break an invariant, which shows the test can see the bug. The controls do not rely on timing: a
gate (`race.Gate`) makes racing workers meet after reading and before writing, so the lost update
happens on every run, however busy the machine; processes start together through a gate as well.
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
from tortoise.exceptions import IntegrityError

from events_app.backoffice import changes
from events_app.core import errors
from events_app.courses import certificates, checkin
from events_app.receptions import invitations
from events_app.receptions.invitations import Reply
from events_app.seats import register_sql, registration, seating
from events_app.core.models import (
    Attendance, AuditEntry, Certificate, CheckIn, EventSession, OutboxMessage, Registration, RegistrationStatus,
)
from events_app.seats.registration import Applicant
from tests import race
from tests.fixtures_backoffice import sign_in
from tests.fixtures_courses import attend, confirmed, make_course
from tests.fixtures_receptions import invite, make_reception
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
async def test_negative_control_without_the_lock_overbooks(db, monkeypatch, tmp_path):
    """Two registrations read the same free seats before either writes, so one update of the seat
    counter is lost; as every later change only adds seats, the counter trails the seats held for good."""
    gate = race.Gate(tmp_path, 2)
    monkeypatch.setattr(seating, "event_lock", race.unlocked_event_lock(gate))
    monkeypatch.setattr(register_sql, "place", race.unlocked_place(gate))
    event = await make_event(capacity=20)
    await race.rush(event.id, 200)
    with pytest.raises(AssertionError, match="overbooked|seat counter"):
        await race.check_invariants(event.id, expected_total=200)


async def _churn(event_id: int, tokens: list[str]) -> None:
    """Cancellations, new registrations and a capacity change, all at once."""
    result = await race.churn(event_id, 30, cancel_tokens=tokens, prefix="late", raise_capacity_to=25)
    assert result.errors == []


@both_databases
async def test_concurrent_cancellations_and_promotions_never_exceed_capacity(db):
    event = await make_event(capacity=20)
    await race.rush(event.id, 60)
    confirmed = await Registration.filter(event_id=event.id, status=RegistrationStatus.CONFIRMED).values_list(
        "manage_token", flat=True)
    await _churn(event.id, list(confirmed[:15]))
    stats = await race.check_invariants(event.id, expected_total=90)
    assert stats["held"] == 25  # the long waiting list refilled every freed seat


@both_databases
async def test_negative_control_churn_without_the_lock_breaks_the_counter(db, monkeypatch, tmp_path):
    """Everyone reads the full event; the capacity raise then fills its five new seats and commits
    first; the cancellations write the counter from what they read before it (full at 20). So either
    the counter says 20 while more seats are held, or 20 are held while five seats of 25 stay free with
    people waiting who fit: an invariant breaks on every run."""
    event = await make_event(capacity=20)
    await race.rush(event.id, 60)
    confirmed = await Registration.filter(event_id=event.id, status=RegistrationStatus.CONFIRMED).values_list(
        "manage_token", flat=True)
    gate = race.Gate(tmp_path, 30 + 15 + 1, first="raise")  # every registration, cancellation and the raise
    monkeypatch.setattr(seating, "event_lock", race.unlocked_event_lock(gate))
    monkeypatch.setattr(register_sql, "place", race.unlocked_place(gate))
    await race.churn(event.id, 30, cancel_tokens=list(confirmed[:15]), prefix="late", raise_capacity_to=25, gate=gate)
    with pytest.raises(AssertionError, match="seat counter|free seats left"):
        await race.check_invariants(event.id, expected_total=90)


def _rush_in_processes(database_url: str, event_id: int, *, processes: int, each: int, start: Path,
                       gate: race.Gate | None = None, plans: list[list[str]] | None = None) -> list[dict]:
    """Start `processes` copies of tests/race.py; they begin together once all are connected (the start
    gate in `start`). With `gate` they run without the lock and meet there; plans[n] adds arguments for
    process n."""
    plans = plans or [[] for _ in range(processes)]
    unlocked = ["--unlocked", *gate.to_args()] if gate else []
    commands = [[sys.executable, "-m", "tests.race", database_url, str(event_id), str(each), f"--start={start}",
                 f"--processes={processes}", "--prefix", f"proc{n}-", *plans[n], *unlocked] for n in range(processes)]
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
async def test_200_in_four_processes_for_20_seats(db, tmp_path):
    event = await make_event(capacity=20)
    results = await asyncio.to_thread(_rush_in_processes, db, event.id, processes=4, each=50, start=tmp_path)
    assert [r["errors"] for r in results] == [[], [], [], []]
    statuses = [s for r in results for s in r["statuses"]]
    assert statuses.count("confirmed") == 20 and statuses.count("waitlisted") == 180
    assert await race.check_invariants(event.id, expected_total=200) == {"held": 20, "waiting": 180, "total": 200}


@pytest.mark.multiprocess
@both_databases
async def test_negative_control_four_processes_without_the_lock_fail(db, tmp_path):
    """The first four registrations to read the event meet at the gate before any of them writes.
    Registration's hot path without its lock (no FOR UPDATE, no BEGIN IMMEDIATE, no transaction): all
    four read no seat taken and each writes the counter as 1, so it trails the seats held for good
    (later changes only add), on both databases."""
    event = await make_event(capacity=20)
    gate = race.Gate(tmp_path / "gate", 4)
    await asyncio.to_thread(_rush_in_processes, db, event.id, processes=4, each=50, start=tmp_path / "start",
                            gate=gate)
    with pytest.raises(AssertionError, match="overbooked|seat counter"):
        await race.check_invariants(event.id, expected_total=200)


#: Seats per request cycle through 1, 1, 3, 1, 2, so some waiting requests do not fit a freed seat.
MIXED_COMPANIONS = (0, 0, 2, 0, 1)


async def _churn_plans(event_id: int) -> tuple[list[list[str]], list[str]]:
    """Per process: cancel two seat holders and two waiting people; the first process also raises the capacity."""
    await race.rush(event_id, 60, companions=MIXED_COMPANIONS)
    by_queue = Registration.filter(event_id=event_id).order_by("queued_at", "id")
    holders = await by_queue.filter(status=RegistrationStatus.CONFIRMED).values_list("manage_token", flat=True)
    waiting = await by_queue.filter(status=RegistrationStatus.WAITLISTED).values_list("manage_token", flat=True)
    tokens = [*holders[:8], *waiting[::5][:8]]
    assert len(tokens) == 16
    companions = "--companions=" + ",".join(map(str, MIXED_COMPANIONS))
    # "--cancel=TOKEN": a token may begin with "-"
    plans = [[companions, *(f"--cancel={tokens[i]}" for i in (n, n + 4, n + 8, n + 12))] for n in range(4)]
    plans[0].append("--raise-capacity=24")
    return plans, tokens


async def _all_cancelled(tokens: list[str]) -> None:
    statuses = await Registration.filter(manage_token__in=tokens).values_list("status", flat=True)
    assert sorted(statuses) == [RegistrationStatus.CANCELLED] * len(tokens), "a cancellation was lost"


@pytest.mark.multiprocess
@both_databases
async def test_cancellations_registrations_and_promotions_in_four_processes(db, tmp_path):
    """Four processes cancel (which promotes), register and raise the capacity at once. Afterwards
    the seats held fit the capacity and match the counter, the waiting positions run 1..N, no freed
    seat went past an older waiting request that fits it, nobody was lost."""
    event = await make_event(capacity=20, max_companions=2)
    plans, tokens = await _churn_plans(event.id)
    results = await asyncio.to_thread(_rush_in_processes, db, event.id, processes=4, each=15, start=tmp_path,
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
async def test_negative_control_churn_in_four_processes_without_the_lock_fails(db, tmp_path):
    """SQLite without BEGIN IMMEDIATE: the first change of each process reads, the four meet at the
    gate, one writes and three are lost to 'database is locked' (at most one of them the raise).
    PostgreSQL without FOR UPDATE: the sixteen cancellations and the raise all read the full event; the
    raise fills its four new seats and commits first; the cancellations then write the counter from
    what they read (full at 20), so it says 20 or less while 24 seats are held. (A promotion that read
    someone as waiting may also overwrite their cancellation: then "a cancellation was lost" fires first.)"""
    event = await make_event(capacity=20, max_companions=2)
    plans, tokens = await _churn_plans(event.id)
    if db.startswith("sqlite"):
        gate, failure = race.Gate(tmp_path / "gate", 4), "lost"
    else:
        gate = race.Gate(tmp_path / "gate", len(tokens) + 1, roles=("cancel", "raise"), first="raise")
        failure = "lost|seat counter|overbooked|free seats left"
    await asyncio.to_thread(_rush_in_processes, db, event.id, processes=4, each=15, start=tmp_path / "start",
                            gate=gate, plans=plans)
    with pytest.raises(AssertionError, match=failure):
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
async def test_the_same_person_checked_in_from_20_phones_at_once_gets_one_row(db, tmp_path):
    """On PostgreSQL the check-ins run on separate pooled connections; the unique (registration, session)
    pair lets one insert win and the others find its row. On SQLite a process runs its transactions one
    after another, so there nobody can meet at the gate: it lets each pass alone."""
    event, person, session, door = await _door_scene()
    gate = race.Gate(tmp_path, 1 if db.startswith("sqlite") else 2)
    with race.gate_between_read_and_insert(gate):  # as in the negative control below: only the unique pair differs
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
async def test_negative_control_without_the_unique_pair_the_rush_checks_in_twice(db, monkeypatch, tmp_path):
    """The old path: arrivals at single-date events stored no date, so the unique pair never applied.
    On PostgreSQL the check-in's own transactions then let two inserts through. On SQLite they run one
    after another in a process (and BEGIN IMMEDIATE across processes), so the old path could not double
    there: the control also takes the transaction away to show the rush does interleave."""
    event, person, session, door = await _door_scene()
    if db.startswith("sqlite"):
        monkeypatch.setattr(checkin, "in_transaction", race.no_transaction)
    async with race.checkin_pair_not_unique():
        with race.gate_between_read_and_insert(race.Gate(tmp_path, 2)):  # two found no row, then both insert
            await race.check_in_rush(event_id=event.id, registration_id=person.id, session_id=session.id, by=door,
                                     count=20)
        assert await CheckIn.filter(registration_id=person.id).count() > 1


# ---- the other paths through the seat primitive: RSVP with companions, the back office adding by hand


async def _accepted_reception() -> tuple[int, list]:
    """A reception for 16 whose ten invitees have accepted alone: 6 seats free."""
    event = await make_reception(capacity=16)
    people = await invite(event, 10)
    for person in people:
        await invitations.answer(invitation_id=person.id, reply=Reply(accept=True))
    return event.id, people


async def _more_companions_at_once(people) -> list[BaseException]:
    outcomes = await asyncio.gather(*(invitations.answer(invitation_id=p.id, reply=Reply(accept=True, companions=2))
                                      for p in people), return_exceptions=True)
    return [o for o in outcomes if isinstance(o, BaseException)]


@both_databases
async def test_ten_invitees_asking_for_two_companions_at_once_get_the_six_free_seats(db):
    event_id, people = await _accepted_reception()
    refused = await _more_companions_at_once(people)
    assert [type(e) for e in refused] == [errors.MoreSeatsUnavailable] * 7  # three times two seats fit
    assert await race.check_invariants(event_id, expected_total=10) == {"held": 16, "waiting": 0, "total": 10}


@both_databases
async def test_negative_control_companions_without_the_lock_break_the_counter(db, monkeypatch, tmp_path):
    """Two invitees read the same six free seats before either writes; each writes the counter as
    10 + 2, so one change is lost and the counter trails the seats held for good."""
    event_id, people = await _accepted_reception()
    monkeypatch.setattr(seating, "event_lock", race.unlocked_event_lock(race.Gate(tmp_path, 2)))
    await _more_companions_at_once(people)
    with pytest.raises(AssertionError, match="overbooked|seat counter"):
        await race.check_invariants(event_id, expected_total=10)


async def _added_by_hand_at_once(event_id: int, organiser, count: int) -> list:
    return await asyncio.gather(*(changes.add_by_hand(
        event_id=event_id, applicant=Applicant(name=f"Telefon {n}", phone=f"+49 641 {n:04d}"), languages=("de",),
        by=organiser) for n in range(count)), return_exceptions=True)


@both_databases
async def test_thirty_added_by_hand_at_once_for_ten_seats(db):
    event = await make_event(capacity=10, phone_allowed=True)
    organiser, _ = await make_user("organiser", "rush@stadt-giessen.de")
    outcomes = await _added_by_hand_at_once(event.id, organiser, 30)
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    assert sorted(o.registration.status.value for o in outcomes).count("confirmed") == 10
    assert await race.check_invariants(event.id, expected_total=30) == {"held": 10, "waiting": 20, "total": 30}
    assert await AuditEntry.filter(action="registration.added").count() == 30


@both_databases
async def test_negative_control_adding_by_hand_without_the_lock_breaks_the_counter(db, monkeypatch, tmp_path):
    event = await make_event(capacity=10, phone_allowed=True)
    organiser, _ = await make_user("organiser", "rush@stadt-giessen.de")
    monkeypatch.setattr(seating, "event_lock", race.unlocked_event_lock(race.Gate(tmp_path, 2)))
    await _added_by_hand_at_once(event.id, organiser, 30)
    with pytest.raises(AssertionError, match="overbooked|seat counter"):
        await race.check_invariants(event.id, expected_total=30)


# ---- certificates: at most one valid certificate per registration, enforced by the database


async def _eligible_person():
    event, sessions = await make_course(dates=1, kind="workshop", title="Interkulturelle Kompetenz",
                                        certificate_min_attendance=100)
    person = await confirmed(event, "Ayşe Yılmaz")
    await attend(person, sessions, 1)
    return event, person


async def _issue_at_once(event_id: int, person_id: int) -> list:
    """Eight single issues and two "issue all" at once, as two organisers clicking twice would."""
    jobs = [certificates.issue(registration_id=person_id, event_id=event_id) for _ in range(8)]
    jobs += [certificates.issue_all(event_id=event_id) for _ in range(2)]
    return await asyncio.gather(*jobs, return_exceptions=True)


@both_databases
async def test_ten_concurrent_issues_give_one_valid_certificate(db, tmp_path):
    """On PostgreSQL the issues run on separate connections: two that found none meet at the gate and
    both insert; the partial unique index lets one commit and the other returns that certificate. On
    SQLite a process runs its transactions one after another, so the gate lets each pass alone."""
    event, person = await _eligible_person()
    with race.gate_before_certificate_insert(race.Gate(tmp_path, 1 if db.startswith("sqlite") else 2)):
        outcomes = await _issue_at_once(event.id, person.id)
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    serials = {o.serial for o in outcomes[:8]} | {c.serial for o in outcomes[8:] for c in o}
    assert len(serials) == 1
    assert await Certificate.filter(registration_id=person.id, revoked_at=None).count() == 1
    assert await Certificate.filter(registration_id=person.id).count() == 1


@both_databases
async def test_negative_control_without_the_index_two_valid_certificates(db, monkeypatch, tmp_path):
    """Without the partial unique index (and, on SQLite, without the transaction that runs issues one
    after another in a process) the two issues that meet at the gate both insert."""
    event, person = await _eligible_person()
    if db.startswith("sqlite"):
        monkeypatch.setattr(certificates, "in_transaction", race.no_transaction)
    async with race.certificate_index_dropped():
        with race.gate_before_certificate_insert(race.Gate(tmp_path, 2)):
            await _issue_at_once(event.id, person.id)
        assert await Certificate.filter(registration_id=person.id, revoked_at=None).count() > 1


@both_databases
async def test_a_revoked_certificate_does_not_block_a_new_one(db):
    event, person = await _eligible_person()
    first = await certificates.issue(registration_id=person.id)
    await certificates.revoke(serial=first.serial, reason="Name falsch geschrieben")
    second = await certificates.issue(registration_id=person.id)
    assert second.serial != first.serial
    assert await Certificate.filter(registration_id=person.id).count() == 2
    with pytest.raises(IntegrityError):  # the database itself refuses a second valid one
        await Certificate.create(registration_id=person.id, serial="TB-2026-TEST-0001", issued_at=second.issued_at)
