"""Back office: certificates per event (issue, revoke, bulk download) and the private calendar address."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar

from events_app import attendance, registration
from events_app.events import SessionSpec
from events_app.models import Certificate, EventSession, OutboxMessage
from events_app.registration import Applicant
from tests.fixtures_backoffice import sign_in
from tests.fixtures_courses import pdf_text
from tests.helpers import in_days, make_event


async def _course_with_attendance():
    dates = [SessionSpec(in_days(-30 + 7 * week), in_days(-30 + 7 * week) + timedelta(hours=1)) for week in range(4)]
    course = await make_event(kind="course", title="Schwimmkurs Herbst", sessions=dates, certificate_min_attendance=75)
    sessions = await EventSession.filter(event_id=course.id).order_by("starts_at")
    people = {}
    for name, attended in (("Amina Yusuf", 3), ("Olena Shevchenko", 2)):
        outcome = await registration.register(event_id=course.id, applicant=Applicant(
            name=name, email=f"{name.split()[0].lower()}@example.org"))
        for session in sessions[:attended]:
            await attendance.record(registration_id=outcome.registration.id, session_id=session.id, present=True)
        people[name] = outcome.registration
    return course, people


async def test_organiser_issues_all_eligible_then_revokes_one(client, db, tmp_path):
    course, people = await _course_with_attendance()
    me = await sign_in(client)
    page = await client.get(f"/admin/events/{course.id}/certificates")
    assert page.status_code == 200 and "Amina Yusuf" in page.text and "Olena Shevchenko" in page.text
    issued = await client.post(f"/admin/events/{course.id}/certificates/issue",
                               data={"csrf_token": me.csrf, "send_mail": "yes"})
    assert issued.status_code == 303
    [certificate] = await Certificate.all()
    assert certificate.registration_id == people["Amina Yusuf"].id  # 3 of 4 = 75 %; 2 of 4 is not enough
    assert await OutboxMessage.filter(template="certificate", registration_id=certificate.registration_id).count() == 1
    pdf = await client.get(f"/admin/events/{course.id}/certificates.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content, tmp_path)
    assert "Amina Yusuf" in text and certificate.serial in text and "Olena" not in text
    revoked = await client.post(f"/admin/events/{course.id}/certificates/revoke",
                                data={"csrf_token": me.csrf, "serial": certificate.serial})
    assert revoked.status_code == 303
    assert (await Certificate.get(id=certificate.id)).revoked_at is not None
    verification = await client.get(f"/certificates/{certificate.serial}")
    assert verification.status_code in (200, 410) and re.search("widerrufen|revoked", verification.text, re.I)
    assert (await client.get(f"/admin/events/{course.id}/certificates.txt")).status_code == 404


async def test_private_calendar_address_works_until_switched_off(client, db):
    await make_event(title="Nur intern sichtbar", visibility="unlisted")
    me = await sign_in(client)
    created = await client.post("/admin/account/feeds", data={"csrf_token": me.csrf})
    assert created.status_code == 200
    url = re.search(r'<code class="feed-url">([^<]+)</code>', created.text).group(1)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    feed = await client.get(path)
    assert feed.status_code == 200
    titles = [str(c["SUMMARY"]) for c in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")]
    assert "Nur intern sichtbar" in titles
    token_id = re.search(r'/admin/account/feeds/(\d+)/revoke', (await client.get("/admin/account")).text).group(1)
    off = await client.post(f"/admin/account/feeds/{token_id}/revoke", data={"csrf_token": me.csrf})
    assert off.status_code == 303
    assert (await client.get(path)).status_code == 404


async def test_issuing_for_an_unknown_person_is_refused(client, db):
    course, _ = await _course_with_attendance()
    me = await sign_in(client)
    for bogus in ("abc", "999999"):
        response = await client.post(f"/admin/events/{course.id}/certificates/issue",
                                     data={"csrf_token": me.csrf, "registration": bogus})
        assert response.status_code == 404
    assert await Certificate.all().count() == 0
