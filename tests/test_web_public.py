"""Public pages and the JSON API end to end, including every rejection path."""

from __future__ import annotations

import re

from events_app.core.models import Registration, RegistrationStatus
from tests.helpers import in_days, make_event, make_user


async def test_home_lists_public_events_in_german_by_default(client, db):
    await make_event(title="Global Village")
    await make_event(title="Geheimer Entwurf", visibility="draft")
    response = await client.get("/")
    assert response.status_code == 200
    assert 'lang="de"' in response.text and "Global Village" in response.text
    assert "Geheimer Entwurf" not in response.text
    assert "Uhr" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


async def test_register_by_form_then_cancel_on_manage_page(client, db):
    event = await make_event(capacity=1)
    response = await client.post(f"/events/{event.id}/register", data={"name": "Ayşe Yılmaz", "email": "a@example.org"})
    assert response.status_code == 303
    manage_url = response.headers["location"]
    page = await client.get(manage_url)
    assert "Bestätigt" in page.text or "Confirmed" in page.text
    second = await client.post(f"/events/{event.id}/register", data={"name": "B", "email": "b@example.org"})
    waiting_page = await client.get(second.headers["location"])
    assert re.search(r"(position|Platz) 1", waiting_page.text)
    token = manage_url.split("/r/")[1].split("?")[0]
    asked = await client.post(f"/r/{token}/cancel")  # without the confirmation nothing happens yet
    assert asked.status_code == 200 and "Möchten Sie Ihren Platz wirklich abgeben?" in asked.text
    assert await Registration.filter(status=RegistrationStatus.CANCELLED).count() == 0
    cancelled = await client.post(f"/r/{token}/cancel", data={"confirm": "1"})
    assert cancelled.status_code == 303
    statuses = sorted((await Registration.all().values_list("status", flat=True)))
    assert statuses == [RegistrationStatus.CANCELLED, RegistrationStatus.CONFIRMED]


async def test_form_errors_are_shown_next_to_fields_keeping_input(client, db):
    event = await make_event()
    response = await client.post(f"/events/{event.id}/register", data={"name": "Oleksandr", "email": "k.nowak@example"})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert 'value="Oleksandr"' in response.text
    assert await Registration.all().count() == 0


async def test_unknown_event_and_token_give_friendly_404(client, db):
    assert (await client.get("/events/999")).status_code == 404
    page = await client.get("/r/nonsense")
    assert page.status_code == 404 and "<html" in page.text


async def test_api_register_returns_status_and_position(client, db):
    event = await make_event(capacity=1)
    first = await client.post(f"/api/v1/events/{event.id}/registrations", json={"name": "A", "email": "a@example.org"})
    second = await client.post(f"/api/v1/events/{event.id}/registrations", json={"name": "B", "email": "b@example.org"})
    assert first.status_code == 201 and first.json()["status"] == "confirmed"
    assert second.json()["status"] == "waitlisted" and second.json()["waitlist_position"] == 1
    detail = (await client.get(f"/api/v1/events/{event.id}")).json()
    assert (detail["seats_taken"], detail["seats_available"], detail["waitlist_length"]) == (1, 0, 1)
    token = first.json()["manage_url"].rsplit("/", 1)[1]
    cancelled = await client.post(f"/api/v1/registrations/{token}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert (await Registration.get(id=second.json()["id"])).status == RegistrationStatus.CONFIRMED


async def test_api_rejections_are_problem_json_never_500(client, db):
    event = await make_event(max_companions=1, registration_closes_at=None)
    url = f"/api/v1/events/{event.id}/registrations"
    cases = [
        (await client.post(url, content=b"{not json", headers={"content-type": "application/json"}), 400),
        (await client.post(url, json=["a list"]), 400),
        (await client.post(url, json={"name": "A", "email": "name(at)example.org"}), 422),
        (await client.post(url, json={"name": "A", "email": "a@example.org", "companions": 5}), 422),
        (await client.post(url, json={"name": "A", "email": "a@example.org", "companions": "two"}), 422),
        (await client.post(url, content=b"x" * 2_000_000, headers={"content-type": "application/json"}), 413),
        (await client.post("/api/v1/events/999/registrations", json={"name": "A"}), 404),
        (await client.post("/api/v1/registrations/bogus/cancel"), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == status and response.json()["title"]
    assert await Registration.all().count() == 0


async def test_closed_registration_is_409_in_the_users_language(client, db):
    event = await make_event(registration_closes_at=in_days(-1))
    response = await client.post(f"/api/v1/events/{event.id}/registrations", json={"name": "A", "email": "a@example.org"},
                                 headers={"accept-language": "en"})
    assert response.status_code == 409
    assert response.json()["type"].endswith("registration-closed")


async def test_api_event_management_needs_a_token(client, db):
    body = {"kind": "course", "title": "Schwimmkurs", "capacity": 10, "audience": "women", "offer_hours": 48,
            "sessions": [{"starts_at": "2027-03-01T18:00:00+01:00", "ends_at": "2027-03-01T19:30:00+01:00"},
                         {"starts_at": "2027-03-29T18:00:00+02:00", "ends_at": "2027-03-29T19:30:00+02:00"}]}
    assert (await client.post("/api/v1/events", json=body)).status_code == 401
    _, door_token = await make_user("door")
    assert (await client.post("/api/v1/events", json=body, headers={"authorization": f"Bearer {door_token}"})).status_code == 403
    _, token = await make_user("organiser")
    auth = {"authorization": f"Bearer {token}"}
    created = await client.post("/api/v1/events", json=body, headers=auth)
    assert created.status_code == 201, created.text
    event = created.json()
    assert len(event["sessions"]) == 2 and event["sessions"][1]["starts_at"].startswith("2027-03-29T16:00")
    unknown = await client.post("/api/v1/events", json={**body, "colour": "red"}, headers=auth)
    assert unknown.status_code == 422 and set(unknown.json()["errors"]) == {"colour"}
    negative = await client.post("/api/v1/events", json={**body, "capacity": -1}, headers=auth)
    assert negative.status_code == 422 and set(negative.json()["errors"]) == {"capacity"}
    backwards = await client.post("/api/v1/events", json={**body, "sessions": [
        {"starts_at": "2027-03-01T18:00:00+01:00", "ends_at": "2027-03-01T17:00:00+01:00"}]}, headers=auth)
    assert backwards.status_code == 422 and set(backwards.json()["errors"]) == {"sessions"}
    naive = await client.post("/api/v1/events", json={**body, "sessions": [
        {"starts_at": "2027-03-01T18:00:00", "ends_at": "2027-03-01T19:00:00"}]}, headers=auth)
    assert naive.status_code == 422
    patched = await client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 12, "location": "Hallenbad Ost"}, headers=auth)
    assert patched.json()["capacity"] == 12
    listed = await client.get(f"/api/v1/events/{event['id']}/registrations", headers=auth)
    assert listed.status_code == 200 and listed.json() == []
    cancelled = await client.post(f"/api/v1/events/{event['id']}/cancel", headers=auth)
    assert cancelled.json()["status"] == "cancelled"


async def test_openapi_document_lists_the_api(client, db):
    doc = (await client.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/events/{event_id}/registrations" in doc["paths"]


async def test_the_api_lists_public_events_with_their_questions(client, db):
    from events_app.core.models import Question

    event = await make_event()
    await Question.create(event_id=event.id, key="diet", label="Essenswünsche")
    listed = await client.get("/api/v1/events")
    assert listed.status_code == 200, listed.text
    assert [q["key"] for q in listed.json()[0]["questions"]] == ["diet"]
