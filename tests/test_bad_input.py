"""Odd and hostile input anywhere gives a clear 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.helpers import make_event, make_user

JSON_BODIES = [b"", b"{", b"null", b"[]", b'"text"', b"1e999", b'{"name": {"nested": 1}}', "{\"name\": \"\u0000\"}".encode(),
               b'{"name": "A", "email": "a@example.org", "companions": 1e9}',
               b'{"name": "A", "email": "a@example.org", "language": ["de"]}',
               b'{"answer": "maybe", "companions": "x"}']


async def test_json_endpoints_never_answer_500(client, db):
    event = await make_event(max_companions=2)
    _, token = await make_user()
    auth = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    posts = [f"/api/v1/events/{event.id}/registrations", "/api/v1/events", f"/api/v1/events/{event.id}/cancel",
             "/api/v1/invitations/ABCD-EFGH-JKM/rsvp", "/api/v1/registrations/1/attendance",
             f"/api/v1/events/{event.id}/certificates", "/api/v1/certificates/TB-0000/revoke"]
    seen = []
    for path in posts:
        for body in JSON_BODIES:
            response = await client.post(path, content=body, headers=auth)
            seen.append((path, body, response.status_code))
            assert response.status_code < 500, (path, body, response.text)
    patched = await client.patch(f"/api/v1/events/{event.id}", content=b'{"sessions": [{"starts_at": 5}]}', headers=auth)
    assert patched.status_code == 422
    assert any(status == 400 for _, _, status in seen) and any(status == 422 for _, _, status in seen)


@pytest.mark.parametrize("path", [
    "/events/0", "/events/99999999999999999999", "/events/1.ics?lang=zz", "/calendar/party.ics", "/calendar/.ics",
    "/r/%00", "/r/x/calendar.ics", "/r/x/certificate.pdf", "/r/x/verify?code=", "/certificates/%3Cscript%3E",
    "/feeds/nothing.ics", "/rsvp/short", "/api/v1/events/abc", "/api/v1/training-record.pdf",
    "/api/v1/events/1/export.doc", "/static/../pyproject.toml", "/?lang=%ff", "/admin/events/abc",
])
async def test_odd_paths_never_answer_500(client, db, path):
    response = await client.get(path, headers={"accept-language": "ar;q=x, de"})
    assert response.status_code < 500, response.text


async def test_html_forms_with_odd_fields_never_answer_500(client, db):
    event = await make_event(max_companions=1, phone_allowed=True)
    forms = [{}, {"name": "A" * 10_000, "email": "a@example.org"}, {"name": "B", "phone": "+49 (0) 641/1234-5"},
             {"name": "C", "email": "c@example.org", "companions": "-1"}, {"name": "D", "email": "d@example.org",
             "companions": "1.5"}, {"name": "E\r\nBcc: x@example.org", "email": "e@example.org\r\n"}]
    for form in forms:
        response = await client.post(f"/events/{event.id}/register", data=form)
        assert response.status_code in (303, 422), (form, response.status_code)
    for form in ({}, {"code": "0" * 500}, {"code": "ÄÖÜ"}):
        response = await client.post("/rsvp", data=form)
        assert response.status_code < 500


async def test_numbers_too_large_for_the_database_are_refused(client, db):
    _, token = await make_user()
    auth = {"authorization": f"Bearer {token}"}
    body = {"kind": "workshop", "title": "Groß", "capacity": 10 ** 20,
            "starts_at": "2027-01-10T10:00:00+01:00", "ends_at": "2027-01-10T12:00:00+01:00"}
    response = await client.post("/api/v1/events", json=body, headers=auth)
    assert response.status_code == 422 and set(response.json()["errors"]) == {"capacity"}
    event = await make_event(max_companions=2)
    response = await client.post(f"/api/v1/events/{event.id}/registrations",
                                 json={"name": "A", "email": "a@example.org", "companions": 10 ** 30})
    assert response.status_code == 422 and set(response.json()["errors"]) == {"companions"}
