"""Confidential meeting points (women's courses, tours) are shown only once the contact is verified: by
the link in our mail, or, for phone-only registrations, by an organiser who reached the person."""

from __future__ import annotations

import re

from events_app.core.models import AuditEntry, Registration
from tests.fixtures_backoffice import sign_in
from tests.fixtures_mail import SmtpSink
from tests.helpers import make_event
from tests.test_mail_kinds import deliver_all, text_of

MEETING_POINT = "Hallenbad Ost, Seiteneingang"


async def test_ticking_the_box_with_any_address_does_not_show_the_meeting_point(client, smtp_settings, app,
                                                                                smtp_server: SmtpSink):
    app.state.settings = smtp_settings
    course = await make_event(kind="course", audience="women", title="Schwimmkurs", location=MEETING_POINT,
                              location_confidential=True, capacity=8)
    answer = await client.post(f"/api/v1/events/{course.id}/registrations",
                               json={"name": "Irgendwer", "email": "someone.else@example.org", "women_only": True})
    assert answer.status_code == 201 and answer.json()["status"] == "confirmed"
    assert MEETING_POINT not in answer.text
    manage_url = answer.json()["manage_url"]
    path = "/" + manage_url.split("://", 1)[1].split("/", 1)[1]
    page = await client.get(path)
    assert page.status_code == 200 and MEETING_POINT not in page.text
    assert "Bestätigungsmail" in page.text
    feed = await client.get(path + "/calendar.ics")
    assert feed.status_code == 200 and "Hallenbad" not in feed.text
    forged = await client.get(path + "?contact=forged.code")
    assert MEETING_POINT not in forged.text

    # the person who reads the mail at that address: the mail tells the place, its link unlocks the page
    await deliver_all(smtp_settings)
    [mail] = smtp_server.to("someone.else@example.org")
    assert MEETING_POINT in text_of(mail)
    link = re.search(r"https?://\S+/r/[A-Za-z0-9_-]+\?contact=\S+", text_of(mail)).group(0)
    opened = await client.get("/" + link.split("://", 1)[1].split("/", 1)[1])
    assert opened.status_code == 200 and MEETING_POINT in opened.text
    assert MEETING_POINT in (await client.get(path)).text  # from then on, also without the code
    assert "Hallenbad" in (await client.get(path + "/calendar.ics")).text
    registration = await Registration.get(email="someone.else@example.org")
    assert registration.contact_verified_at is not None


async def test_phone_only_registrations_see_it_once_an_organiser_confirms(client, db):
    course = await make_event(kind="tour", audience="women", title="Stadtteilführung", location=MEETING_POINT,
                              location_confidential=True, phone_allowed=True, capacity=8)
    answer = await client.post(f"/api/v1/events/{course.id}/registrations",
                               json={"name": "Leyla", "phone": "+49 641 1234567", "women_only": True})
    assert answer.status_code == 201
    path = "/" + answer.json()["manage_url"].split("://", 1)[1].split("/", 1)[1]
    page = await client.get(path)
    assert MEETING_POINT not in page.text and "telefonisch" in page.text
    me = await sign_in(client, "organiser")
    registration = await Registration.get(phone="+49 641 1234567")
    admin_page = await client.get(f"/admin/events/{course.id}/registrations/{registration.id}")
    assert "verify-contact" in admin_page.text
    done = await client.post(f"/admin/events/{course.id}/registrations/{registration.id}/verify-contact",
                             data={"csrf_token": me.csrf})
    assert done.status_code == 303
    assert MEETING_POINT in (await client.get(path)).text
    assert await AuditEntry.filter(action="registration.contact_verified", event_id=course.id).count() == 1
    # a public event's place was never confidential
    public = await make_event(title="Offenes Treffen", location="Rathaus, Raum 1")
    opened = await client.post(f"/api/v1/events/{public.id}/registrations", json={"name": "A", "email": "a@example.org"})
    assert "Rathaus, Raum 1" in (await client.get("/" + opened.json()["manage_url"].split("/", 3)[3])).text
