"""Changing an event's capacity: never below the seats already taken, a raise moves the waiting list.

The check runs under the event lock, so a registration cannot take a seat between the check and
the write; an unchanged capacity passes even after an organiser promoted beyond it.
"""

from __future__ import annotations

import asyncio

import pytest

from events_app.core import errors
from events_app.seats import events, registration
from events_app.core.models import AuditEntry, Event, OutboxMessage, Registration, RegistrationStatus
from events_app.seats.registration import Applicant
from tests import race
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, make_event, make_user


async def _fill(event_id: int, count: int) -> list[Registration]:
    outcomes = [await registration.register(event_id=event_id, applicant=Applicant(name=f"Person {n}",
                                                                                   email=f"p{n}@example.org"))
                for n in range(count)]
    return [o.registration for o in outcomes]


@both_databases
async def test_api_refuses_a_capacity_below_the_seats_taken(client, db):
    event = await make_event(capacity=5, title="Sprachcafé")
    await _fill(event.id, 4)
    _, token = await make_user()
    auth = {"authorization": f"Bearer {token}"}
    lowered = await client.patch(f"/api/v1/events/{event.id}", json={"capacity": 3, "title": "Sprachcafé (klein)"},
                                 headers={**auth, "accept-language": "de"})
    assert lowered.status_code == 422
    assert lowered.headers["content-type"].startswith("application/problem+json")
    problem = lowered.json()
    assert problem["type"] == "/problems/capacity-below-seats-taken" and problem["status"] == 422
    assert problem["errors"]["capacity"] == "Die Kapazität kann nicht kleiner sein als die Zahl der bereits vergebenen Plätze: 4."
    english = await client.patch(f"/api/v1/events/{event.id}", json={"capacity": 0},
                                 headers={**auth, "accept-language": "en"})
    assert english.json()["errors"]["capacity"] == "The capacity cannot be lower than the seats already taken: 4."
    stored = await Event.get(id=event.id)
    assert (stored.capacity, stored.title, stored.seats_taken) == (5, "Sprachcafé", 4)  # nothing of the PATCH applied
    exactly = await client.patch(f"/api/v1/events/{event.id}", json={"capacity": 4}, headers=auth)
    assert exactly.status_code == 200 and exactly.json()["seats_available"] == 0


@both_databases
async def test_api_raise_promotes_the_waiting_list(client, db):
    event = await make_event(capacity=2)
    people = await _fill(event.id, 5)
    _, token = await make_user()
    raised = await client.patch(f"/api/v1/events/{event.id}", json={"capacity": 4},
                                headers={"authorization": f"Bearer {token}"})
    assert raised.status_code == 200
    body = raised.json()
    assert (body["seats_taken"], body["seats_available"], body["waitlist_length"]) == (4, 0, 1)
    statuses = [(await Registration.get(id=p.id)).status for p in people]
    assert statuses == [RegistrationStatus.CONFIRMED] * 4 + [RegistrationStatus.WAITLISTED]
    assert await OutboxMessage.filter(template="promoted", registration_id__in=[people[2].id, people[3].id]).count() == 2


@both_databases
async def test_back_office_edit_shows_the_seats_taken_next_to_the_capacity(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=3, title="Stadtführung")
    await _fill(event.id, 3)
    form = (await client.get(f"/admin/events/{event.id}/edit")).text
    assert 'name="capacity"' in form
    data = {"csrf_token": me.csrf, "title": "Stadtführung", "kind": "tour", "capacity": "2", "location": "Rathaus",
            "waitlist": "on", "offer_hours": "0", "max_companions": "0", "audience": "public",
            "visibility": "public", "session_rows": "1", "s0_date": "2030-05-04", "s0_start": "10:00",
            "s0_end": "12:00", "question_rows": "0"}
    refused = await client.post(f"/admin/events/{event.id}/edit", data=data)
    assert refused.status_code == 422
    assert "Die Kapazität kann nicht kleiner sein als die Zahl der bereits vergebenen Plätze: 3." in refused.text
    assert 'value="2"' in refused.text and 'aria-invalid="true"' in refused.text  # what was typed stays
    stored = await Event.get(id=event.id)
    assert (stored.capacity, stored.kind.value) == (3, "workshop")
    assert not await AuditEntry.filter(action="event.changed", event_id=event.id).exists()
    english = await client.post(f"/admin/events/{event.id}/edit?lang=en", data=data)
    assert "The capacity cannot be lower than the seats already taken: 3." in english.text
    raised = await client.post(f"/admin/events/{event.id}/edit", data={**data, "capacity": "4"})
    assert raised.status_code == 303
    assert (await Event.get(id=event.id)).capacity == 4


@both_databases
async def test_back_office_raise_promotes_and_an_unchanged_capacity_passes_after_an_override(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=1, title="Stadtführung")
    anna, berat, chiara = await _fill(event.id, 3)
    override = await client.post(f"/admin/events/{event.id}/registrations/{berat.id}/promote",
                                 data={"csrf_token": me.csrf, "beyond_capacity": "yes"})
    assert override.status_code == 303
    assert (await AuditEntry.get(action="registration.promoted")).detail == {"registration_id": berat.id,
                                                                              "beyond_capacity": True}
    data = {"csrf_token": me.csrf, "title": "Stadtführung am Fluss", "kind": "tour", "capacity": "1",
            "location": "Rathaus", "waitlist": "on", "offer_hours": "0", "max_companions": "0", "audience": "public",
            "visibility": "public", "session_rows": "1", "s0_date": "2030-05-04", "s0_start": "10:00",
            "s0_end": "12:00", "question_rows": "0"}
    renamed = await client.post(f"/admin/events/{event.id}/edit", data=data)  # 2 seats taken, capacity stays 1
    assert renamed.status_code == 303
    assert (await Event.get(id=event.id)).title == "Stadtführung am Fluss"
    raised = await client.post(f"/admin/events/{event.id}/edit", data={**data, "capacity": "3"})
    assert raised.status_code == 303
    assert (await Registration.get(id=chiara.id)).status == RegistrationStatus.CONFIRMED
    assert (await Event.get(id=event.id)).seats_taken == 3
    assert await OutboxMessage.filter(template="promoted", registration_id=chiara.id).exists()


@both_databases
async def test_set_capacity_refuses_below_the_seats_taken(db):
    event = await make_event(capacity=3)
    await _fill(event.id, 3)
    with pytest.raises(errors.CapacityBelowSeatsTaken) as refused:
        await registration.set_capacity(event_id=event.id, capacity=2)
    assert refused.value.params == {"taken": 3} and set(refused.value.fields) == {"capacity"}
    assert (await Event.get(id=event.id)).capacity == 3


@both_databases
async def test_lowering_races_registrations_without_overbooking(db):
    """Each lowering is decided under the lock against the seats taken at that moment: whatever
    the order, the seats held never exceed the capacity in force."""
    event = await make_event(capacity=20)
    await race.rush(event.id, 8)

    async def lower(capacity: int) -> str:
        try:
            await events.update_event(event_id=event.id, values={"capacity": capacity})
        except errors.CapacityBelowSeatsTaken:
            return "refused"
        return "lowered"

    outcomes = await asyncio.gather(race.rush(event.id, 30, prefix="late"), lower(12), lower(10), lower(15))
    assert outcomes[0].errors == []
    stats = await race.check_invariants(event.id, expected_total=38)
    capacity = (await Event.get(id=event.id)).capacity
    assert stats["held"] == capacity  # every seat of the capacity in force is taken, none beyond
    assert set(outcomes[1:]) <= {"refused", "lowered"}
