"""The public sign-up's hot path around its one database call: sign-ups take turns per process, those that
arrive while a call is under way are placed together in the next (each with its own checks, row, mail and
answer, an error staying with its own sign-up), the event kept for sign-ups follows every change at once,
and "taken part before" is found in the same call."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from events_app.core import errors
from events_app.core.models import Event, OutboxMessage, Question, Registration
from events_app.seats import register_sql, registration
from events_app.seats.registration import Applicant
from events_app.web import requests as web_requests
from tests.helpers import both_databases, make_event


async def test_sign_ups_take_turns_in_the_order_they_came(client, db, monkeypatch):
    """With two turns, five sign-ups at once: never more than two inside, and all five answered in order."""
    monkeypatch.setattr(web_requests, "SIGNUPS_AT_ONCE", 2)
    monkeypatch.setattr(web_requests, "_signup_turns", {})
    event = await make_event(capacity=2)
    inside, most, order = 0, 0, []
    release = asyncio.Event()
    original = registration.register

    async def held(**kwargs):
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        order.append(kwargs["applicant"].name)
        await release.wait()
        try:
            return await original(**kwargs)
        finally:
            inside -= 1

    monkeypatch.setattr(registration, "register", held)
    posts = []
    for n in range(5):
        posts.append(asyncio.create_task(client.post(f"/api/v1/events/{event.id}/registrations",
                                                     json={"name": f"P{n}", "email": f"p{n}@example.org"})))
        while len(order) < min(n + 1, 2):  # the first two are inside before the next one comes
            await asyncio.sleep(0)
    turns = next(iter(web_requests._signup_turns.values()))
    while len(turns._waiters or ()) < 3:  # the other three wait for their turn
        await asyncio.sleep(0)
    assert inside == 2 and order == ["P0", "P1"]
    release.set()
    answers = await asyncio.gather(*posts)
    assert [answer.status_code for answer in answers] == [201] * 5
    assert most == 2 and order == ["P0", "P1", "P2", "P3", "P4"]
    assert [a.json()["status"] for a in answers] == ["confirmed", "confirmed"] + ["waitlisted"] * 3


@both_databases
async def test_a_new_required_question_reaches_the_next_sign_up_at_once(client, db):
    event = await make_event()
    first = await client.post(f"/api/v1/events/{event.id}/registrations", json={"name": "A", "email": "a@example.org"})
    assert first.status_code == 201  # the event is now kept for sign-ups
    await Question.create(event_id=event.id, key="size", label="Größe", required=True)
    refused = await client.post(f"/api/v1/events/{event.id}/registrations",
                                json={"name": "B", "email": "b@example.org"})
    assert refused.status_code == 422 and "size" in refused.json()["errors"]
    await Event.filter(id=event.id).update(max_companions=0)
    too_many = await client.post(f"/api/v1/events/{event.id}/registrations",
                                 json={"name": "C", "email": "c@example.org", "companions": 1,
                                       "answers": {"size": "M"}})
    assert too_many.status_code == 422 and "companions" in too_many.json()["errors"]
    assert await Registration.filter(event_id=event.id).count() == 1


@both_databases
async def test_taking_part_before_is_found_in_the_placing_call(db):
    before = await make_event(title="Frühere Führung", phone_allowed=True)
    await registration.register(event_id=before.id, applicant=Applicant(name="Amal", email="Amal@Example.org"))
    await registration.register(event_id=before.id, applicant=Applicant(name="Bilal", phone="0641 1234567"))
    now = await make_event(title="Neue Führung", phone_allowed=True)
    again = await registration.register(event_id=now.id, applicant=Applicant(name="Amal", email="amal@example.org"))
    by_phone = await registration.register(event_id=now.id, applicant=Applicant(name="Bilal", phone="0641 1234567"))
    new = await registration.register(event_id=now.id, applicant=Applicant(name="Chiara", email="c@example.org"))
    assert (again.registration.returning, by_phone.registration.returning, new.registration.returning) == (
        True, True, False)
    stored = {r.name: r.returning for r in await Registration.filter(event_id=now.id)}
    assert stored == {"Amal": True, "Bilal": True, "Chiara": False}


class HeldCall:
    """The first placing call of this process waits (as for the lock) until released; records each call's size."""

    def __init__(self, monkeypatch):
        self.sizes: list[int] = []
        self.arrived: list[str] = []  # names, in the order the calls took them
        self.entered, self.release = asyncio.Event(), asyncio.Event()
        real = register_sql._place_many

        async def place_many(client, rows):
            self.sizes.append(len(rows))
            self.arrived += [row.name for row, _ in rows]
            if len(self.sizes) == 1:
                self.entered.set()
                await self.release.wait()
            return await real(client, rows)

        monkeypatch.setattr(register_sql, "PLACING_AT_ONCE", 1)
        monkeypatch.setattr(register_sql, "_place_many", place_many)

    async def gather(self, event_id: int, applicants: list[Applicant], **options) -> list:
        """The first applicant's call is held; the others arrive meanwhile; then the call is released."""
        def sign_up(person):
            return asyncio.create_task(registration.register(event_id=event_id, applicant=person, **options))

        first = sign_up(applicants[0])
        await self.entered.wait()
        rest = [sign_up(person) for person in applicants[1:]]
        batch = register_sql._batches[next(iter(register_sql._batches))]
        while len(batch.waiting) < len(rest):  # every other sign-up waits for the next call
            await asyncio.sleep(0)
        self.release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)


@both_databases
async def test_sign_ups_arriving_during_a_call_are_placed_together_in_arrival_order(db, monkeypatch):
    event = await make_event(capacity=2)
    held = HeldCall(monkeypatch)
    people = [Applicant(name=f"P{n}", email=f"p{n}@example.org") for n in range(7)]
    outcomes = await held.gather(event.id, people)
    assert held.sizes == [1, 6]  # one call for the six that came while the first was placed
    by_name = {o.registration.name: o for o in outcomes}
    assert [(by_name[name].registration.status.value, by_name[name].waitlist_position) for name in held.arrived] == [
        ("confirmed", None), ("confirmed", None), ("waitlisted", 1), ("waitlisted", 2), ("waitlisted", 3),
        ("waitlisted", 4), ("waitlisted", 5)]
    stored = await Registration.filter(event_id=event.id).order_by("queued_at", "id")
    assert [r.name for r in stored] == held.arrived  # queue order is the order of arrival
    assert {r.id for r in stored} == {o.registration.id for o in outcomes}
    assert len({r.manage_token for r in stored}) == 7
    mails = await OutboxMessage.filter(event_id=event.id).order_by("id")
    assert [(m.recipient, m.template) for m in mails] == [
        (by_name[name].registration.email, "confirmed" if n < 2 else "waitlisted")
        for n, name in enumerate(held.arrived)]
    assert [m.context["position"] for m in mails] == [None, None, 1, 2, 3, 4, 5]
    event = await Event.get(id=event.id)
    assert (event.seats_taken, event.waiting) == (2, 5)
    assert register_sql._batches == {}


@both_databases
async def test_the_same_address_twice_in_one_call_is_registered_once(db, monkeypatch):
    event = await make_event(capacity=5)
    held = HeldCall(monkeypatch)
    people = [Applicant(name="A", email="a@example.org"), Applicant(name="B", email="b@example.org"),
              Applicant(name="B again", email="B@Example.org"), Applicant(name="C", email="c@example.org")]
    outcomes = await held.gather(event.id, people, once_per_email=True)
    assert held.sizes == [1, 3]
    assert isinstance(outcomes[2], errors.AlreadyRegistered)
    assert [o.registration.status.value for o in (outcomes[0], outcomes[1], outcomes[3])] == ["confirmed"] * 3
    assert sorted(r.name for r in await Registration.filter(event_id=event.id)) == ["A", "B", "C"]
    assert await OutboxMessage.filter(event_id=event.id).count() == 3
    assert (await Event.get(id=event.id)).seats_taken == 3


@both_databases
async def test_a_sign_up_failing_in_a_shared_call_fails_alone(db, monkeypatch):
    """A row the database refuses (here a manage token already in use) fails the shared call; each sign-up
    is then placed on its own, so only that one fails and the counters hold no trace of it."""
    event = await make_event(capacity=1)
    taken = (await registration.register(event_id=event.id, applicant=Applicant(name="Z", email="z@example.org"))
             ).registration.manage_token
    held = HeldCall(monkeypatch)
    held_place_many = register_sql._place_many

    async def place_many(client, rows):
        rows = [(dataclasses.replace(row, manage_token=taken) if row.name == "Broken" else row, now)
                for row, now in rows]
        return await held_place_many(client, rows)

    monkeypatch.setattr(register_sql, "_place_many", place_many)
    people = [Applicant(name=name, email=f"{name.lower()}@example.org") for name in ("A", "B", "Broken", "C")]
    outcomes = await held.gather(event.id, people)
    assert held.sizes == [1, 3, 1, 1, 1]  # the shared call failed; then each on its own
    assert isinstance(outcomes[2], Exception) and not isinstance(outcomes[2], errors.SeatsBusy)
    placed = [held.arrived[0]] + [name for name in held.arrived[4:] if name != "Broken"]
    by_name = {o.registration.name: o for o in outcomes if not isinstance(o, Exception)}
    assert [(by_name[name].registration.status.value, by_name[name].waitlist_position) for name in placed] == [
        ("waitlisted", 1), ("waitlisted", 2), ("waitlisted", 3)]
    stored = await Registration.filter(event_id=event.id).order_by("id")
    assert [r.name for r in stored] == ["Z", *placed]
    assert await OutboxMessage.filter(event_id=event.id).count() == 4
    assert (await Event.get(id=event.id)).waiting == 3


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_a_shared_call_that_waits_too_long_for_the_lock_answers_each_try_again(db, monkeypatch):
    from tests.test_seat_lock import HeldLock

    monkeypatch.setattr(register_sql.seating, "_lock_timeout_ms", 200)
    event = await make_event(capacity=5)
    async with HeldLock(db, event.id):
        outcomes = await asyncio.gather(*(
            registration.register(event_id=event.id, applicant=Applicant(name=f"P{n}", email=f"p{n}@example.org"))
            for n in range(4)), return_exceptions=True)
    assert all(isinstance(outcome, errors.SeatsBusy) for outcome in outcomes)
    assert await Registration.filter(event_id=event.id).count() == 0 and register_sql._batches == {}
    assert (await registration.register(event_id=event.id, applicant=Applicant(name="A", email="a@example.org"))
            ).registration.status.value == "confirmed"
