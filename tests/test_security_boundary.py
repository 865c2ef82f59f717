"""One input boundary: every entry point answers bad input with a 4xx and a message, stores nothing
partial, and the event's back-office page, exports and public pages keep answering 200 afterwards.
Each case here is one of the examples that used to break the site (issue: hardening)."""

from __future__ import annotations

import json

import pytest
from starlette.routing import Route

from events_app.core.models import AuditEntry, Event, Invitation, Registration
from tests.fixtures_backoffice import sign_in
from tests.fixtures_receptions import make_reception
from tests.helpers import both_databases, make_event

LONG_TOKEN = "A" * 65
YEAR_9999 = "9999-12-31T23:30:00-01:00"


async def _everything_still_answers(client, event_id: int, auth: dict) -> None:
    for path in ("/", "/calendar.ics", f"/events/{event_id}", f"/events/{event_id}.ics", "/api/v1/events",
                 f"/admin/events/{event_id}", f"/admin/events/{event_id}/export.csv?layout=attendees",
                 f"/admin/events/{event_id}/export.xlsx?layout=attendees"):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    listing = await client.get(f"/api/v1/events/{event_id}/registrations", headers=auth)
    assert listing.status_code == 200


def _json(body) -> bytes:
    return json.dumps(body, ensure_ascii=True).encode() if not isinstance(body, bytes) else body


# (what, method, path template, body, expected status, field named in the answer or None)
API_CASES = [
    ("lone surrogate in an answer", "POST", "/api/v1/events/{e}/registrations",
     b'{"name": "Amina", "email": "a@example.org", "answers": {"note": "\\ud800"}}', 422, "answers.note"),
    ("NUL in a name", "POST", "/api/v1/events/{e}/registrations",
     b'{"name": "Am\\u0000ina", "email": "a@example.org"}', 422, "name"),
    ("surrogate in a key", "POST", "/api/v1/events/{e}/registrations",
     b'{"name": "A", "email": "a@example.org", "\\udfff": 1}', 422, None),
    ("name over its length", "POST", "/api/v1/events/{e}/registrations",
     {"name": "A" * 201, "email": "a@example.org"}, 422, "name"),
    ("answer over its length", "POST", "/api/v1/events/{e}/registrations",
     {"name": "A", "email": "a@example.org", "answers": {"note": "x" * 2001}}, 422, "note"),
    ("deeply nested JSON", "POST", "/api/v1/events/{e}/registrations", b"[" * 100_000 + b"]" * 100_000, 400, None),
    ("nesting just over the cap", "POST", "/api/v1/events/{e}/registrations",
     b'{"a":' * 21 + b"1" + b"}" * 21, 400, None),
    ("companions beyond 64 bits", "POST", "/api/v1/events/{e}/registrations",
     {"name": "A", "email": "a@example.org", "companions": 2 ** 70}, 422, "companions"),
    ("event in year 9999", "POST", "/api/v1/events",
     {"kind": "workshop", "title": "Fern", "capacity": 5, "starts_at": YEAR_9999, "ends_at": YEAR_9999}, 422,
     "starts_at"),
    ("offset at the edge of the range", "POST", "/api/v1/events",
     {"kind": "workshop", "title": "Rand", "capacity": 5, "starts_at": "0001-01-01T00:30:00+01:00",
      "ends_at": "0001-01-01T01:30:00+01:00"}, 422, "starts_at"),
    ("registration window in year 9999", "PATCH", "/api/v1/events/{e}", {"registration_closes_at": YEAR_9999},
     422, "registration_closes_at"),
    ("NUL in an event title", "PATCH", "/api/v1/events/{e}", b'{"title": "a\\u0000b"}', 422, "title"),
    ("attendance for a date id beyond 64 bits", "POST", "/api/v1/registrations/{r}/attendance",
     {"session": 2 ** 70, "present": True}, 422, "session"),
    ("certificate for an id beyond 64 bits", "POST", "/api/v1/events/{e}/certificates",
     {"registration": 2 ** 70}, 422, "registration"),
    ("SVG logo", "PUT", "/api/v1/events/{e}/certificate-template",
     {"logo": "data:image/svg+xml;base64,PHN2Zy8+"}, 422, "logo"),
    ("over-long RSVP code", "POST", "/api/v1/invitations/" + LONG_TOKEN + "/rsvp", {"answer": "accept"}, 404, None),
    ("over-long cancel token", "POST", "/api/v1/registrations/" + LONG_TOKEN + "/cancel", {}, 404, None),
    ("over-long accept token", "POST", "/api/v1/registrations/" + LONG_TOKEN + "/accept", {}, 404, None),
    ("NUL in a query string", "GET", "/api/v1/events?x=%00", None, 400, None),
]


async def _api_setup(client):
    from events_app.core.models import Question
    from events_app.seats import registration
    from events_app.seats.registration import Applicant

    event = await make_event(capacity=10, phone_allowed=True)
    await Question.create(event_id=event.id, key="note", label="Hinweis", kind="text", required=False, position=0)
    person = (await registration.register(event_id=event.id, applicant=Applicant(name="Erika", email="e@example.org"))
              ).registration
    me = await sign_in(client, "organiser")
    return event, person, {"authorization": f"Bearer {me.api_token}"}


async def _api_case(client, case, event, person, auth):
    what, method, template, body, status, field = case
    registrations, audits, events = (await Registration.all().count(), await AuditEntry.all().count(),
                                     await Event.all().count())
    path = template.format(e=event.id, r=person.id)
    response = await client.request(method, path, content=None if body is None else _json(body),
                                    headers={**auth, "content-type": "application/json"})
    assert response.status_code == status, (what, response.text)
    problem = response.json()
    assert problem["title"] and problem["status"] == status
    if field:
        assert field in problem.get("errors", {}), (what, problem)
    assert await Registration.all().count() == registrations, what
    assert await Event.all().count() == events, what
    assert await AuditEntry.all().count() == audits, what
    await _everything_still_answers(client, event.id, auth)


async def test_json_api_refuses_bad_input_and_stores_nothing(client, db):
    """Table-driven: every case in API_CASES, each followed by the pages that used to break."""
    event, person, auth = await _api_setup(client)
    for case in API_CASES:
        await _api_case(client, case, event, person, auth)


@both_databases
async def test_what_broke_postgresql_is_refused_there_too(client, db):
    event, person, auth = await _api_setup(client)
    for case in API_CASES[:2]:
        await _api_case(client, case, event, person, auth)
    nul_form = await client.post(f"/events/{event.id}/register", data={"name": "Am\x00ina", "email": "n@example.org"})
    assert nul_form.status_code == 422 and await Registration.all().count() == 1


FORM_CASES = [
    ("NUL in a name (HTML form)", "/events/{e}/register", {"name": "Am\x00ina", "email": "a@example.org"}, 422,
     "nicht erlaubt"),
    ("answer over its length (HTML form)", "/events/{e}/register",
     {"name": "Amina", "email": "a@example.org", "q_note": "x" * 2001}, 422, "zu lang"),
    ("superscript two as companions (HTML form)", "/events/{e}/register",
     {"name": "Amina", "email": "a@example.org", "companions": "²"}, 422, "ganze Zahl"),
    ("NUL in an RSVP code", "/rsvp", {"code": "AB\x00CD"}, 422, "nicht erlaubt"),
]


async def test_public_forms_refuse_bad_input_and_store_nothing(client, db):
    from events_app.core.models import Question

    event = await make_event(capacity=10, max_companions=2)
    await Question.create(event_id=event.id, key="note", label="Hinweis", kind="text", required=False, position=0)
    me = await sign_in(client, "organiser")
    for what, template, form, status, message in FORM_CASES:
        response = await client.post(template.format(e=event.id), data=form)
        assert response.status_code == status, (what, response.status_code)
        assert message in response.text, what
        assert await Registration.all().count() == 0
        await _everything_still_answers(client, event.id, {"authorization": f"Bearer {me.api_token}"})


@pytest.mark.parametrize("path", [
    "/r/" + LONG_TOKEN, "/rsvp/" + LONG_TOKEN, "/certificates/" + LONG_TOKEN, "/r/" + LONG_TOKEN + "/calendar.ics",
    "/r/%00", "/r/a%00b", "/certificates/%F0%9F%98%80", "/feeds/" + LONG_TOKEN + ".ics",
])
async def test_over_long_or_odd_tokens_are_404(client, db, path):
    response = await client.get(path)
    assert response.status_code in (400, 404), response.status_code
    for post in ("/r/" + LONG_TOKEN + "/cancel", "/r/" + LONG_TOKEN + "/accept"):
        assert (await client.post(post)).status_code == 404


async def test_back_office_and_door_forms_refuse_bad_input(client, db):
    event = await make_event(capacity=10)
    me = await sign_in(client, "organiser")
    auth = {"authorization": f"Bearer {me.api_token}"}
    csrf = {"csrf_token": me.csrf}
    base = {"title": "Neu", "kind": "workshop", "capacity": "10", "audience": "public", "visibility": "public",
            "session_rows": "1", "s0_date": "2030-03-02", "s0_start": "10:00", "s0_end": "12:00", **csrf}
    count = await Event.all().count()
    for bad in ({"s0_date": "9999-12-31", "s0_start": "23:30"}, {"registration_closes_date": "9999-12-31"},
                {"title": "a\x00b"}, {"capacity": "²"}, {"capacity": str(2 ** 70)}, {"session_rows": "²"}):
        response = await client.post("/admin/events/new", data={**base, **bad})
        assert response.status_code == 422, (bad, response.status_code)
    assert await Event.all().count() == count
    for door in ({"registration_id": "²"}, {"registration_id": str(2 ** 70)}, {"registration_id": "1", "session": "²"}):
        response = await client.post(f"/admin/checkin/{event.id}/arrive", data={**door, **csrf})
        assert 400 <= response.status_code < 500, (door, response.status_code)
    duplicate = await client.post(f"/admin/events/{event.id}/duplicate", data={"shift_weeks": "²", **csrf})
    assert duplicate.status_code == 422
    page = await client.get(f"/admin/events/{event.id}?page=%C2%B2")
    assert page.status_code == 200
    await _everything_still_answers(client, event.id, auth)


async def test_an_import_with_a_nul_byte_is_refused(client, db):
    reception = await make_reception()
    me = await sign_in(client, "organiser")
    data = "Nachname;Vorname;E-Mail\r\nMus\x00ter;Erika;e@example.org\r\n".encode()
    response = await client.post(f"/admin/events/{reception.id}/invitations/preview",
                                 files={"file": ("liste.csv", data, "text/csv")}, data={"csrf_token": me.csrf})
    assert response.status_code == 422 and "Datei" in response.text
    assert await Invitation.all().count() == 0
    await _everything_still_answers(client, reception.id, {"authorization": f"Bearer {me.api_token}"})


async def test_error_answers_carry_the_security_headers_allow_and_hsts(client, app, settings, db):
    async def boom(request):
        raise RuntimeError("a bug")

    app.router.routes.append(Route("/boom", boom))
    crashed = await client.get("/boom")
    assert crashed.status_code == 500
    assert "default-src 'self'" in crashed.headers["content-security-policy"]
    assert crashed.headers["x-frame-options"] == "DENY" and crashed.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in crashed.headers  # http: no HSTS
    wrong_method = await client.post("/")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET, HEAD"
    split = await client.put("/rsvp")  # one path, two routes (GET and POST)
    assert split.status_code == 405 and split.headers["allow"] == "GET, HEAD, POST"
    import httpx

    from events_app.app import create_app

    https = create_app(settings.with_(base_url="https://events.giessen.de"), manage_orm=False)
    https.router.routes.append(Route("/boom", boom))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=https, raise_app_exceptions=False),
                                 base_url="http://testserver") as secure:
        for path in ("/", "/boom", "/events/999"):
            response = await secure.get(path)
            assert response.headers["strict-transport-security"].startswith("max-age=31536000"), path
