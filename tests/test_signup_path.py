"""The public sign-up's hot path around its one database call: sign-ups take turns per process, the event
kept for sign-ups follows every change at once, and "taken part before" is found in the same call."""

from __future__ import annotations

import asyncio

from events_app.core.models import Event, Question, Registration
from events_app.seats import registration
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
