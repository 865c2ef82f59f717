"""The audit log: changes made through the API are recorded like those in the back office, and every
download of personal data (lists, letters, door list) names who took it."""

from __future__ import annotations

from datetime import timedelta

from events_app.core.models import AuditEntry
from tests.fixtures_backoffice import sign_in
from tests.fixtures_receptions import invite, make_reception
from tests.helpers import in_days, make_user


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


async def entries(action: str) -> list[tuple]:
    rows = await AuditEntry.filter(action=action).order_by("id")
    return [(r.user_id, r.event_id, r.detail) for r in rows]


async def test_events_created_changed_and_cancelled_through_the_api_are_audited(client, db):
    me, token = await make_user()
    created = await client.post("/api/v1/events", headers=bearer(token), json={
        "kind": "workshop", "title": "Interkulturelle Kompetenz", "capacity": 20,
        "starts_at": in_days(30).isoformat(), "ends_at": (in_days(30) + timedelta(hours=2)).isoformat()})
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    assert await entries("event.created") == [(me.id, event_id, {})]

    changed = await client.patch(f"/api/v1/events/{event_id}", headers=bearer(token),
                                 json={"title": "Interkulturelle Kompetenz II", "capacity": 25})
    assert changed.status_code == 200
    assert await entries("event.changed") == [(me.id, event_id, {"fields": ["capacity", "title"]})]

    cancelled = await client.post(f"/api/v1/events/{event_id}/cancel", headers=bearer(token), json={"reason": "krank"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    await client.post(f"/api/v1/events/{event_id}/cancel", headers=bearer(token), json={})  # already cancelled
    assert await entries("event.cancelled") == [(me.id, event_id, {})]

    # refused requests change nothing and record nothing
    before = await AuditEntry.all().count()
    assert (await client.patch(f"/api/v1/events/{event_id}", json={"title": "X"})).status_code == 401
    assert (await client.patch(f"/api/v1/events/{event_id}", headers=bearer(token),
                               json={"capacity": -1})).status_code == 422
    assert await AuditEntry.all().count() == before


async def test_back_office_event_changes_share_the_same_entries(client, db):
    me = await sign_in(client)
    event = await make_reception()
    cancelled = await client.post(f"/admin/events/{event.id}/cancel",
                                  data={"csrf_token": me.csrf, "confirm": "yes", "reason": "Umbau"})
    assert cancelled.status_code == 303
    assert await entries("event.cancelled") == [(me.user.id, event.id, {})]
    assert await entries("event.created") == [(None, event.id, {})]  # made by a script: nobody signed in


async def test_downloads_of_invitees_and_registrations_are_audited(client, db):
    event = await make_reception()
    await invite(event, 3, with_email=False)
    me, token = await make_user()
    listed = await client.get(f"/api/v1/events/{event.id}/invitations", headers=bearer(token))
    assert listed.status_code == 200 and len(listed.json()) == 3
    registrations = await client.get(f"/api/v1/events/{event.id}/registrations", headers=bearer(token))
    assert registrations.status_code == 200
    letters = await client.get(f"/api/v1/events/{event.id}/letters.pdf", headers=bearer(token))
    assert letters.status_code == 200 and letters.content.startswith(b"%PDF")
    assert await entries("export.downloaded") == [
        (me.id, event.id, {"format": "json", "layout": "invitations"}),
        (me.id, event.id, {"format": "json", "layout": "registrations"}),
        (me.id, event.id, {"format": "pdf", "layout": "letters", "everyone": False, "letters": 3}),
    ]

    staff = await sign_in(client, email="orga2@stadt-giessen.de")
    await AuditEntry.filter(action="export.downloaded").delete()
    assert (await client.get(f"/admin/events/{event.id}/invitations/letters.pdf?all=1")).status_code == 200
    assert (await client.get(f"/admin/events/{event.id}/invitations/door-list.pdf")).status_code == 200
    assert await entries("export.downloaded") == [
        (staff.user.id, event.id, {"format": "pdf", "layout": "letters", "everyone": True, "letters": 3}),
        (staff.user.id, event.id, {"format": "pdf", "layout": "reception_door", "guests": 0}),
    ]

    # no token, no list and no entry
    await AuditEntry.filter(action="export.downloaded").delete()
    for path in ("invitations", "registrations", "letters.pdf"):
        assert (await client.get(f"/api/v1/events/{event.id}/{path}")).status_code == 401
    _, door_token = await make_user("door")
    assert (await client.get(f"/api/v1/events/{event.id}/invitations", headers=bearer(door_token))).status_code == 403
    assert await entries("export.downloaded") == []
