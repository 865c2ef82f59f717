"""District tours for women (kind tour): the meeting point only for confirmed participants, in their mail and on
their page; the public page, the API and the public calendar say it comes after confirmation."""

from __future__ import annotations

import re

from events_app.core.models import Event, Registration, RegistrationStatus
from events_app.mail import delivery
from tests.helpers import in_days, make_user

MEETING_POINT = "Treffpunkt: Brunnen am Seltersweg"


async def test_a_tour_tells_its_meeting_point_only_to_the_confirmed(client, smtp_settings, smtp_server):
    _, token = await make_user()
    created = await client.post("/api/v1/events", headers={"authorization": f"Bearer {token}"}, json={
        "kind": "tour", "title": "Stadtteilführung Nordstadt", "capacity": 1, "location": MEETING_POINT,
        "audience": "women", "location_confidential": False, "phone_allowed": True,
        "starts_at": in_days(5).isoformat(), "ends_at": in_days(5, 20).isoformat()})
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    assert created.json()["location_confidential"] is True and created.json()["location"] == ""
    # an edit cannot make the tour's meeting point public
    patched = await client.patch(f"/api/v1/events/{event_id}", headers={"authorization": f"Bearer {token}"},
                                 json={"location_confidential": False})
    assert patched.status_code == 200 and (await Event.get(id=event_id)).location_confidential is True

    page = await client.get(f"/events/{event_id}")
    assert MEETING_POINT not in page.text
    assert "Den Treffpunkt erhalten Sie, wenn Ihr Platz bestätigt ist." in page.text
    assert MEETING_POINT not in (await client.get(f"/events/{event_id}.ics")).text
    for n in range(2):
        answer = await client.post(f"/api/v1/events/{event_id}/registrations", json={
            "name": f"Frau {n}", "email": f"frau{n}@example.org", "women_only": True})
        assert answer.status_code == 201, answer.text
    confirmed, waiting = await Registration.filter(event_id=event_id).order_by("id")
    assert (confirmed.status, waiting.status) == (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)
    # a typed address proves nothing: the page shows the place once the mail's link was opened
    assert MEETING_POINT not in (await client.get(f"/r/{confirmed.manage_token}")).text
    assert MEETING_POINT not in (await client.get(f"/r/{waiting.manage_token}")).text
    await delivery.deliver_due(smtp_settings)
    [to_confirmed] = smtp_server.to("frau0@example.org")
    [to_waiting] = smtp_server.to("frau1@example.org")
    text = to_confirmed.get_body(("plain",)).get_content()
    assert MEETING_POINT in text
    assert MEETING_POINT not in to_waiting.as_string()
    link = re.search(r"https?://\S+/r/[A-Za-z0-9_-]+\?contact=\S+", text).group(0)
    assert MEETING_POINT in (await client.get("/" + link.split("://", 1)[1].split("/", 1)[1])).text
    assert MEETING_POINT in (await client.get(f"/r/{confirmed.manage_token}")).text
