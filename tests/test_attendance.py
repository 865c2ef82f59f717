"""Attendance per date and the certificate rule: the 75 % boundary, cancelled dates not counted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events_app.courses import attendance, certificates
from events_app.core import errors
from events_app.seats import events, registration
from events_app.seats.events import SessionSpec
from events_app.core.models import Attendance, DoorAssignment, RegistrationStatus
from events_app.seats.registration import Applicant
from tests.fixtures_courses import attend, confirmed, make_course
from tests.helpers import make_user


async def _eligible(event_id: int) -> dict[str, bool]:
    return {e.registration.name: e.eligible for e in await certificates.eligibility(event_id=event_id)}


async def test_exactly_75_percent_earns_a_certificate_and_one_date_less_does_not(db):
    event, sessions = await make_course(dates=8, certificate_min_attendance=75)
    six = await confirmed(event, "Amina")
    five = await confirmed(event, "Olena")
    await attend(six, sessions, 6)
    await attend(five, sessions, 5)
    assert await _eligible(event.id) == {"Amina": True, "Olena": False}
    with pytest.raises(errors.NotEligibleForCertificate):
        await certificates.issue(registration_id=five.id)


async def test_cancelled_dates_count_neither_for_nor_against(db):
    event, sessions = await make_course(dates=4, certificate_min_attendance=75)
    person = await confirmed(event, "Zahra")
    await attend(person, sessions[:3], 2)  # present on dates 1 and 2, absent on 3, date 4 not recorded
    assert await _eligible(event.id) == {"Zahra": False}  # 2 of 4 = 50 %
    keep = [SessionSpec(s.starts_at, s.ends_at, id=s.id) for s in sessions[:3]]
    await events.update_event(event_id=event.id, values={}, sessions=keep)  # the fourth date is cancelled
    summary = (await attendance.summaries(event_id=event.id))[person.id]
    assert (summary.attended, summary.countable) == (2, 3)
    assert await _eligible(event.id) == {"Zahra": False}  # 2 of 3 = 66.7 %
    await events.update_event(event_id=event.id, values={}, sessions=keep[:2])  # and the third
    assert await _eligible(event.id) == {"Zahra": True}  # 2 of 2
    with pytest.raises(errors.SessionCancelled):
        await attendance.record(registration_id=person.id, session_id=sessions[3].id, present=True)


async def test_attendance_at_a_cancelled_date_recorded_earlier_is_ignored(db):
    event, sessions = await make_course(dates=2, certificate_min_attendance=100)
    person = await confirmed(event, "Mariam")
    await attend(person, sessions, 2)
    await events.update_event(event_id=event.id, values={},
                              sessions=[SessionSpec(sessions[1].starts_at, sessions[1].ends_at, id=sessions[1].id)])
    summary = (await attendance.summaries(event_id=event.id))[person.id]
    assert (summary.attended, summary.countable) == (1, 1)


async def test_recording_twice_keeps_one_row_and_the_last_value(db):
    event, sessions = await make_course(dates=2)
    person = await confirmed(event, "Leyla")
    await attendance.record(registration_id=person.id, session_id=sessions[0].id, present=True)
    await attendance.record(registration_id=person.id, session_id=sessions[0].id, present=True)
    await attendance.record(registration_id=person.id, session_id=sessions[0].id, present=False)
    rows = await Attendance.filter(registration_id=person.id).values_list("present", flat=True)
    assert rows == [False]
    ticks = await attendance.tick_list(event_id=event.id, session_id=sessions[0].id)
    assert [(t.registration.name, t.present) for t in ticks] == [("Leyla", False)]


async def test_only_confirmed_participants_and_their_own_event_dates(db):
    event, sessions = await make_course(dates=2, capacity=1)
    other, other_sessions = await make_course(dates=1)
    person = await confirmed(event, "Hana")
    waiting = (await registration.register(event_id=event.id, applicant=Applicant(name="W", email="w@example.org"))
               ).registration
    assert waiting.status == RegistrationStatus.WAITLISTED
    with pytest.raises(errors.NotAParticipant):
        await attendance.record(registration_id=waiting.id, session_id=sessions[0].id, present=True)
    with pytest.raises(errors.SessionNotFound):
        await attendance.record(registration_id=person.id, session_id=other_sessions[0].id, present=True)
    with pytest.raises(errors.RegistrationNotFound):
        await attendance.record(registration_id=9999, session_id=sessions[0].id, present=True)
    assert await Attendance.all().count() == 0


async def test_nobody_is_eligible_without_attending_even_at_zero_percent(db):
    event, sessions = await make_course(dates=2, certificate_min_attendance=0)
    await confirmed(event, "Ana")
    assert await _eligible(event.id) == {"Ana": False}


async def test_attendance_api_for_door_staff_and_its_rejections(client, db):
    event, sessions = await make_course(dates=2)
    person = await confirmed(event, "Nour")
    door_user, door = await make_user("door", "door@stadt-giessen.de")
    await DoorAssignment.create(user_id=door_user.id, event_id=event.id)
    url = f"/api/v1/registrations/{person.id}/attendance"
    auth = {"authorization": f"Bearer {door}"}
    ok = await client.post(url, json={"session": sessions[0].id, "present": True}, headers=auth)
    assert ok.status_code == 200 and ok.json()["present"] is True
    again = await client.post(url, json={"session": sessions[0].id, "present": True}, headers=auth)
    assert again.status_code == 200
    row = await Attendance.get(registration_id=person.id, session_id=sessions[0].id)
    assert row.present and row.recorded_by_id is not None
    cases = [
        (await client.post(url, json={"session": sessions[0].id, "present": True}), 401),
        (await client.post(url, json={"session": sessions[0].id, "present": "yes"}, headers=auth), 422),
        (await client.post(url, json={"present": True}, headers=auth), 422),
        (await client.post(url, json={"session": 99999, "present": True}, headers=auth), 404),
        (await client.post("/api/v1/registrations/99999/attendance", json={"session": sessions[0].id, "present": True},
                           headers=auth), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await Attendance.all().count() == 1


async def test_attendance_api_refuses_door_staff_at_an_event_they_are_not_assigned_to(client, db):
    """The same rule as the door page: door staff record attendance only at their assigned events."""
    event, sessions = await make_course(dates=2)
    other, _ = await make_course(dates=1, title="Deutschkurs")
    person = await confirmed(event, "Nour")
    door_user, door = await make_user("door", "door@stadt-giessen.de")
    await DoorAssignment.create(user_id=door_user.id, event_id=other.id)
    _, organiser = await make_user("organiser")
    url = f"/api/v1/registrations/{person.id}/attendance"
    body = {"session": sessions[0].id, "present": True}
    refused = await client.post(url, json=body, headers={"authorization": f"Bearer {door}"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 403
    assert not await Attendance.exists()
    allowed = await client.post(url, json=body, headers={"authorization": f"Bearer {organiser}"})
    assert allowed.status_code == 200  # organisers everywhere


async def test_attendance_only_for_dates_that_have_begun(client, db):
    """A date still to come cannot have been attended: the API answers 422 and nothing is stored."""
    event, sessions = await make_course(dates=2, held=False)
    person = await confirmed(event, "Nour")
    _, token = await make_user("organiser", "orga@stadt-giessen.de")
    future = await client.post(f"/api/v1/registrations/{person.id}/attendance",
                               json={"session": sessions[0].id, "present": True},
                               headers={"authorization": f"Bearer {token}"})
    assert future.status_code == 422 and future.headers["content-type"].startswith("application/problem+json")
    assert future.json()["type"] == "/problems/date-not-begun"
    with pytest.raises(errors.DateNotBegun):
        await attendance.save_tick_list(event_id=event.id, session_id=sessions[0].id, present={person.id: True},
                                        user_id=None)
    assert await Attendance.all().count() == 0
    begun = sessions[0].starts_at + timedelta(minutes=5)
    await attendance.record(registration_id=person.id, session_id=sessions[0].id, present=True, now=begun)
    assert await Attendance.filter(present=True).count() == 1
