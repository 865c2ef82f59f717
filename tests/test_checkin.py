"""Check-in at the door: by name or QR token, idempotent, undo, counts, per session for courses."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from events_app.courses.checkin import current_session
from events_app.seats.events import SessionSpec
from events_app.core.models import AuditEntry, CheckIn, DoorAssignment, EventSession, SessionStatus
from events_app.seats.registration import Applicant, register
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, in_days, make_event


async def _door_event(client, **overrides):
    me = await sign_in(client, "door")
    event = await make_event(title="Einbürgerungsempfang", max_companions=2, capacity=4, **overrides)
    await DoorAssignment.create(user_id=me.user.id, event_id=event.id)
    ayse = (await register(event_id=event.id, applicant=Applicant(name="Ayşe Yılmaz", email="a@example.org",
                                                                  companions=2))).registration
    bogdan = (await register(event_id=event.id, applicant=Applicant(name="Bogdan", email="b@example.org"))).registration
    return me, event, ayse, bogdan


@both_databases
async def test_arrive_twice_is_idempotent_and_undo_removes(client, db):
    me, event, ayse, bogdan = await _door_event(client)
    url = f"/admin/checkin/{event.id}/arrive"
    first = await client.post(url, data={"csrf_token": me.csrf, "registration_id": ayse.id, "companions": "1"})
    second = await client.post(url, data={"csrf_token": me.csrf, "registration_id": ayse.id, "companions": "1"})
    assert first.status_code == second.status_code == 303
    rows = await CheckIn.filter(registration_id=ayse.id)
    assert len(rows) == 1 and rows[0].companions_arrived == 1 and rows[0].by_user_id == me.user.id
    assert rows[0].session_id == (await EventSession.get(event_id=event.id)).id  # the one date of the event
    assert await AuditEntry.filter(action="checkin.arrived").count() == 1
    page = await client.get(f"/admin/checkin/{event.id}")
    assert re.search(r"\b2\b.*\b4\b", page.text.split('class="counts"')[1].split("</p>")[0])  # 2 of 4 persons
    more = await client.post(url, data={"csrf_token": me.csrf, "registration_id": ayse.id, "companions": "9"})
    assert more.status_code == 303
    assert (await CheckIn.get(registration_id=ayse.id)).companions_arrived == 2  # capped at what was registered
    undo = await client.post(f"/admin/checkin/{event.id}/undo", data={"csrf_token": me.csrf, "registration_id": ayse.id})
    assert undo.status_code == 303
    assert not await CheckIn.filter(registration_id=ayse.id).exists()
    again = await client.post(f"/admin/checkin/{event.id}/undo", data={"csrf_token": me.csrf, "registration_id": ayse.id})
    assert again.status_code == 303 and await AuditEntry.filter(action="checkin.undone").count() == 1


async def test_search_by_name_and_scan_the_qr_token(client, db):
    me, event, ayse, bogdan = await _door_event(client)
    found = await client.get(f"/admin/checkin/{event.id}", params={"q": "bog"})
    people = found.text.split('class="people"')[-1]
    assert "Bogdan" in people and "Ayşe" not in people
    typed_plainly = await client.get(f"/admin/checkin/{event.id}", params={"q": "ayse yilmaz"})
    assert "Ayşe Yılmaz" in typed_plainly.text.split('class="people"')[-1]
    scanned = await client.get(f"/admin/checkin/{event.id}", params={"token": ayse.checkin_token})
    assert "Ayşe Yılmaz" in scanned.text.split("scanned")[1]
    wrong = await client.get(f"/admin/checkin/{event.id}", params={"token": "not-a-token"})
    assert wrong.status_code == 404
    other = await make_event(title="Andere")
    await DoorAssignment.create(user_id=me.user.id, event_id=other.id)
    elsewhere = await client.get(f"/admin/checkin/{other.id}", params={"token": ayse.checkin_token})
    assert elsewhere.status_code == 404  # a token only works at its own event


async def test_only_confirmed_people_can_be_checked_in(client, db):
    me, event, ayse, bogdan = await _door_event(client)
    waiting = (await register(event_id=event.id, applicant=Applicant(name="Chiara", email="c@example.org"))).registration
    assert waiting.status.value == "waitlisted"
    response = await client.post(f"/admin/checkin/{event.id}/arrive", data={"csrf_token": me.csrf,
                                                                          "registration_id": waiting.id})
    assert response.status_code == 409
    missing = await client.post(f"/admin/checkin/{event.id}/arrive", data={"csrf_token": me.csrf})
    assert missing.status_code == 404
    assert not await CheckIn.exists()


@both_databases
async def test_courses_record_attendance_per_session(client, db):
    now = datetime.now(timezone.utc).replace(microsecond=0)  # "today" in any time zone, at any hour
    sessions = [SessionSpec(now + timedelta(days=7 * w), now + timedelta(days=7 * w, hours=1)) for w in (-1, 0, 1)]
    me, event, ayse, bogdan = await _door_event(client, kind="course", sessions=sessions)
    from events_app.core.models import EventSession

    first, second, _ = await EventSession.filter(event_id=event.id).order_by("starts_at")
    url = f"/admin/checkin/{event.id}/arrive"
    await client.post(url, data={"csrf_token": me.csrf, "registration_id": bogdan.id, "session": first.id})
    await client.post(url, data={"csrf_token": me.csrf, "registration_id": bogdan.id})  # today's: the next one
    rows = await CheckIn.filter(registration_id=bogdan.id).order_by("session_id")
    assert [r.session_id for r in rows] == [first.id, second.id]
    page = await client.get(f"/admin/checkin/{event.id}", params={"session": first.id})
    assert f'value="{first.id}" selected' in page.text


async def test_registration_page_shows_the_check_in_code_that_leads_to_the_person(client, db):
    await sign_in(client, "organiser")
    event = await make_event()
    person = (await register(event_id=event.id, applicant=Applicant(name="Leyla", email="l@example.org"))).registration
    page = await client.get(f"/admin/events/{event.id}/registrations/{person.id}")
    assert "<svg" in page.text
    link = re.search(r'href="(http://[^"]+/admin/checkin/[^"]+)"', page.text).group(1).replace("&amp;", "&")
    scanned = await client.get(link.replace("http://127.0.0.1:8000", ""))
    assert scanned.status_code == 200 and "Leyla" in scanned.text.split("scanned")[1]


async def test_door_check_in_for_a_course_date_counts_as_attendance(db):
    """Arriving at the door for a date of a course is what certificates count; undo takes it back."""
    from datetime import timedelta

    from events_app.courses import attendance, checkin
    from events_app.seats import registration
    from events_app.seats.events import SessionSpec
    from events_app.core.models import EventSession
    from events_app.seats.registration import Applicant
    from tests.helpers import make_user

    dates = [SessionSpec(in_days(7 * week + 1), in_days(7 * week + 1) + timedelta(hours=1)) for week in range(4)]
    course = await make_event(kind="course", sessions=dates, certificate_min_attendance=75)
    outcome = await registration.register(event_id=course.id, applicant=Applicant(name="Nadia", email="n@example.org"))
    door, _ = await make_user("door", email="door-course@stadt-giessen.de")
    sessions = await EventSession.filter(event_id=course.id).order_by("starts_at")
    for session in sessions[:3]:
        await checkin.check_in(event_id=course.id, registration_id=outcome.registration.id, session_id=session.id,
                               companions=0, by=door)
    summary = (await attendance.summaries(event_id=course.id))[outcome.registration.id]
    assert summary.attended == 3
    await checkin.undo(event_id=course.id, registration_id=outcome.registration.id, session_id=sessions[0].id, by=door)
    summary = (await attendance.summaries(event_id=course.id))[outcome.registration.id]
    assert summary.attended == 2


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_the_door_page_picks_todays_date_even_after_it_ended():
    """Door staff often tick the list after the session: today's date (local time) stays chosen."""
    def course(*starts, cancelled=()):
        return [EventSession(id=number, starts_at=_at(start), ends_at=_at(start) + timedelta(hours=1),
                             status=SessionStatus.CANCELLED if number in cancelled else SessionStatus.SCHEDULED)
                for number, start in enumerate(starts, 1)]

    weekly = course("2026-11-17T17:00", "2026-11-24T17:00", "2026-12-01T17:00")
    berlin = "Europe/Berlin"
    assert current_session(weekly, _at("2026-11-24T21:30"), berlin).id == 2  # ended at 18:00 UTC, still today
    assert current_session(weekly, _at("2026-11-24T08:00"), berlin).id == 2  # later today
    assert current_session(weekly, _at("2026-11-25T08:00"), berlin).id == 3  # no date today: the next one
    assert current_session(weekly, _at("2026-12-09T08:00"), berlin).id == 3  # all past: the last one
    assert current_session(weekly, _at("2026-11-24T23:30"), berlin).id == 3  # 00:30 on the 25th in Berlin
    assert current_session(weekly, _at("2026-11-24T23:30"), "UTC").id == 2
    twice = course("2026-11-24T08:00", "2026-11-24T14:00", "2026-11-25T08:00")
    assert current_session(twice, _at("2026-11-24T12:00"), berlin).id == 1  # the morning one has begun
    assert current_session(twice, _at("2026-11-24T15:00"), berlin).id == 2
    assert current_session(course("2026-11-24T08:00", "2026-11-25T08:00", cancelled={1}),
                           _at("2026-11-24T09:00"), berlin).id == 2  # one date left: that one
    assert current_session(course("2026-11-24T08:00"), _at("2026-12-24T09:00"), berlin).id == 1  # a single date
    assert current_session(course("2026-11-24T08:00", cancelled={1}), _at("2026-11-24T09:00"), berlin) is None


async def test_a_door_check_in_at_a_single_date_workshop_earns_the_certificate(client, db):
    """Workshops are mostly one date: arriving there is the attendance certificates count."""
    from events_app.courses import certificates

    me = await sign_in(client, "door")
    workshop = await make_event(kind="workshop", certificate_min_attendance=100)
    await DoorAssignment.create(user_id=me.user.id, event_id=workshop.id)
    person = (await register(event_id=workshop.id, applicant=Applicant(name="Selin", email="s@example.org"))
              ).registration
    [before] = await certificates.eligibility(event_id=workshop.id)
    assert not before.eligible
    arrived = await client.post(f"/admin/checkin/{workshop.id}/arrive",
                                data={"csrf_token": me.csrf, "registration_id": person.id})
    assert arrived.status_code == 303
    [after] = await certificates.eligibility(event_id=workshop.id)
    assert (after.summary.attended, after.summary.countable, after.eligible) == (1, 1, True)
    undone = await client.post(f"/admin/checkin/{workshop.id}/undo",
                               data={"csrf_token": me.csrf, "registration_id": person.id})
    assert undone.status_code == 303
    assert not (await certificates.eligibility(event_id=workshop.id))[0].eligible


async def test_no_check_in_when_every_date_is_cancelled(client, db):
    from events_app.seats import events

    me, event, ayse, bogdan = await _door_event(client)
    await events.update_event(event_id=event.id, values={}, sessions=[])
    page = await client.get(f"/admin/checkin/{event.id}")
    arrive = await client.post(f"/admin/checkin/{event.id}/arrive",
                               data={"csrf_token": me.csrf, "registration_id": ayse.id})
    assert (page.status_code, arrive.status_code) == (409, 409)
    assert "keinen Termin mehr" in arrive.text  # in the user's language (German by default)
    assert not await CheckIn.exists()
