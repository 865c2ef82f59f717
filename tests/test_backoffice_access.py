"""Who may open what: every back-office route against every role, as one table.

Anonymous visitors are sent to the sign-in page (303), a signed-in user with the wrong role gets
403, the right role gets the page. The export API answers 401 without a token and 403 to door staff.
"""

from __future__ import annotations

import pytest

from events_app.mail import delivery
from events_app.mail.files import mail_files
from events_app.core.models import DoorAssignment, Interpreter, Newsletter, OutboxMessage
from events_app.seats.registration import Applicant, register
from tests.fixtures_backoffice import sign_in
from tests.helpers import make_event, make_user

A, O, D = "admin", "organiser", "door"
ALL = {A, O, D}
ORG = {A, O}

#: (method, path, roles allowed). {e}: an event the door user is assigned to; {r}: a registration; {u}: a user;
#: {m}: a mail file, {o}: its outbox row, {i}: an invitation (none exists, so the right role gets 404), {n}: an
#: interpreter of the pool.
ROUTES = [
    ("GET", "/admin", ORG),
    ("GET", "/admin/events", ORG),
    ("GET", "/admin/events/new", ORG),
    ("POST", "/admin/events/new", ORG),
    ("GET", "/admin/events/{e}", ORG),
    ("GET", "/admin/events/{e}/edit", ORG),
    ("POST", "/admin/events/{e}/edit", ORG),
    ("POST", "/admin/events/{e}/duplicate", ORG),
    ("POST", "/admin/events/{e}/cancel", ORG),
    ("POST", "/admin/events/{e}/delete", ORG),
    ("GET", "/admin/events/{e}/registrations/new", ORG),
    ("POST", "/admin/events/{e}/registrations/new", ORG),
    ("GET", "/admin/events/{e}/registrations/{r}", ORG),
    ("POST", "/admin/events/{e}/registrations/{r}/contact", ORG),
    ("POST", "/admin/events/{e}/registrations/{r}/verify-contact", ORG),
    ("POST", "/admin/events/{e}/registrations/{r}/cancel", ORG),
    ("POST", "/admin/events/{e}/registrations/{r}/promote", ORG),
    ("POST", "/admin/events/{e}/registrations/{r}/waitlist", ORG),
    ("POST", "/admin/events/{e}/registrations/{r}/resend", ORG),
    ("GET", "/admin/events/{e}/message", ORG),
    ("POST", "/admin/events/{e}/message", ORG),
    ("GET", "/admin/events/{e}/export", ORG),
    ("GET", "/admin/events/{e}/export.csv", ORG),
    ("GET", "/admin/events/{e}/export.xlsx", ORG),
    ("GET", "/admin/checkin", ALL),
    ("GET", "/admin/checkin/{e}", ALL),
    ("POST", "/admin/checkin/{e}/arrive", ALL),
    ("POST", "/admin/checkin/{e}/undo", ALL),
    ("GET", "/admin/events/{e}/attendance", ALL),
    ("POST", "/admin/events/{e}/attendance", ALL),
    ("GET", "/admin/tokens", ORG),
    ("POST", "/admin/tokens", ORG),
    ("POST", "/admin/tokens/999/revoke", ORG),
    ("GET", "/admin/users", {A}),
    ("POST", "/admin/users", {A}),
    ("POST", "/admin/users/{u}/unlock", {A}),
    ("POST", "/admin/users/{u}/active", {A}),
    ("POST", "/admin/users/{u}/role", {A}),
    ("POST", "/admin/users/{u}/password", {A}),
    ("GET", "/admin/audit", {A}),
    ("GET", "/admin/settings", {A}),
    ("GET", "/admin/account", ALL),
    ("POST", "/admin/account/password", ALL),
    ("GET", "/admin/events/{e}/invitations", ORG),
    ("POST", "/admin/events/{e}/invitations/preview", ORG),
    ("POST", "/admin/events/{e}/invitations/import", ORG),
    ("POST", "/admin/events/{e}/invitations/letter", ORG),
    ("POST", "/admin/events/{e}/invitations/send", ORG),
    ("POST", "/admin/events/{e}/invitations/remind", ORG),
    ("POST", "/admin/events/{e}/invitations/{i}/told", ORG),
    ("GET", "/admin/events/{e}/invitations/letters.pdf", ORG),
    ("GET", "/admin/events/{e}/invitations/letters/preview.pdf", ORG),
    ("POST", "/admin/events/{e}/invitations/deadline", ORG),
    ("POST", "/admin/events/{e}/invitations/letters", ORG),
    ("GET", "/admin/events/{e}/invitations/letters/{j}.pdf", ORG),
    ("GET", "/admin/events/{e}/invitations/letters/{j}", ORG),
    ("GET", "/admin/events/{e}/invitations/door-list.pdf", ORG),
    ("GET", "/admin/events/{e}/certificates", ORG),
    ("POST", "/admin/events/{e}/certificates/issue", ORG),
    ("POST", "/admin/events/{e}/certificates/revoke", ORG),
    ("GET", "/admin/events/{e}/certificates.pdf", ORG),
    ("POST", "/admin/events/{e}/certificates/template", ORG),
    ("GET", "/admin/events/{e}/certificates/preview.pdf", ORG),
    ("POST", "/admin/events/{e}/certificates/jobs", ORG),
    ("GET", "/admin/events/{e}/certificates/jobs/{j}.pdf", ORG),
    ("GET", "/admin/events/{e}/certificates/jobs/{j}", ORG),
    ("GET", "/admin/training", ORG),
    ("GET", "/admin/training/record.csv", ORG),
    ("GET", "/admin/mail", {A}),
    ("GET", "/admin/mail/files/{m}", {A}),
    ("GET", "/admin/mail/files/{m}/download", {A}),
    ("POST", "/admin/mail/{o}/requeue", ORG),
    ("POST", "/admin/account/feeds", ALL),
    ("POST", "/admin/account/feeds/{f}/revoke", ALL),
    ("GET", "/admin/statistics", ORG),
    ("GET", "/admin/statistics.csv", ORG),
    ("GET", "/admin/statistics/districts", ORG),
    ("POST", "/admin/statistics/districts", ORG),
    ("GET", "/admin/privacy", {A}),
    ("GET", "/admin/privacy/personal-data.json?email=amina@example.org", {A}),
    ("POST", "/admin/privacy/erase", {A}),
    ("GET", "/admin/events/{e}/slots", ORG),
    ("POST", "/admin/events/{e}/slots", ORG),
    ("GET", "/admin/events/{e}/slots/desk", ORG),
    ("POST", "/admin/events/{e}/slots/desk", ORG),
    ("POST", "/admin/events/{e}/slots/bookings/{b}/cancel", ORG),
    ("POST", "/admin/events/{e}/slots/bookings/{b}/move", ORG),
    ("GET", "/admin/events/{fe}/partners", ORG),
    ("GET", "/admin/events/{fe}/partners.xlsx", ORG),
    ("POST", "/admin/events/{fe}/partners/stands", ORG),
    ("POST", "/admin/events/{fe}/partners/numbers", ORG),
    ("POST", "/admin/events/{fe}/partners/{p}/decision", ORG),
    ("GET", "/admin/interpreters", ORG),
    ("POST", "/admin/interpreters", ORG),
    ("GET", "/admin/interpreters/{n}/edit", ORG),
    ("POST", "/admin/interpreters/{n}/edit", ORG),
    ("POST", "/admin/interpreters/{n}/remove", ORG),
    ("GET", "/admin/events/{e}/language-needs", ORG),
    ("POST", "/admin/events/{e}/language-needs", ORG),
    ("GET", "/admin/newsletter", ORG),
    ("POST", "/admin/newsletter", ORG),
    ("GET", "/admin/newsletter/{nl}", ORG),
    ("POST", "/admin/newsletter/{nl}", ORG),
    ("POST", "/admin/newsletter/{nl}/test", ORG),
    ("POST", "/admin/newsletter/{nl}/send", ORG),
    ("GET", "/admin/subscribers", {A}),
    ("GET", "/admin/subscribers.csv", {A}),
    ("POST", "/admin/events/{e}/registrations/bulk", ORG),
    ("GET", "/admin/events/{e}/mail-texts", ORG),
    ("POST", "/admin/events/{e}/mail-texts", ORG),
    ("GET", "/admin/events/{e}/mail-texts/preview?kind=confirmed&language=de", ORG),
    ("POST", "/admin/logout", ALL),
]


def test_every_admin_route_is_in_the_table():
    from events_app.web.routes import routes

    listed = {(m, p.replace("{e}", "{event_id:id}").replace("{r}", "{registration_id:id}")
               .replace("{u}", "{user_id:id}").replace("999", "{token_id:id}").replace("{j}", "{job_id}")
               .replace("certificates/jobs/{job_id}.pdf", "certificates/jobs/{job_id}.{fmt:str}").replace("{f}", "{token_id:id}")
               .replace("certificates.pdf", "certificates.{fmt:str}").replace("record.csv", "record.{fmt:str}")
               .replace("{m}", "{name}").replace("{o}", "{message_id:id}").replace("{i}", "{invitation_id:id}")
               .replace("export.csv", "export.{fmt}").replace("export.xlsx", "export.{fmt}")
               .replace("statistics.csv", "statistics.{fmt:str}")
               .replace("personal-data.json?email=amina@example.org", "personal-data.{fmt:str}")
               .replace("{fe}", "{event_id:id}").replace("{b}", "{booking_id:id}").replace("{p}", "{partner_id:id}")
               .replace("{n}", "{interpreter_id:id}").replace("partners.xlsx", "partners.{fmt}")
               .replace("{nl}", "{newsletter_id:id}").replace("?kind=confirmed&language=de", "")) for m, p, _ in ROUTES}
    served = {(m, r.path) for r in routes if getattr(r, "path", "").startswith("/admin") and r.path != "/admin/login"
              for m in (r.methods or set()) - {"HEAD"}}
    assert served <= listed, served - listed


async def _fixtures(door_user_id: int, settings) -> dict:
    event = await make_event(capacity=5)
    await DoorAssignment.create(user_id=door_user_id, event_id=event.id)
    outcome = await register(event_id=event.id, applicant=Applicant(name="Amina", email="amina@example.org"))
    await delivery.deliver_due(settings)  # no SMTP server: the confirmation becomes a mail file
    [mail_file] = mail_files(settings)
    sent = await OutboxMessage.get(registration_id=outcome.registration.id)
    festival = await make_event(kind="festival", title="Global Village")
    newsletter = await Newsletter.create(texts={"de": {"subject": "Neues", "body": "Text"}})
    interpreter = await Interpreter.create(name="Samira Haddad", phone="0641 1", languages=["ar"])
    return {"nl": newsletter.id, "e": event.id, "r": outcome.registration.id, "u": door_user_id, "j": "nosuchjob0123456789", "f": 999999,
            "m": mail_file.name, "o": sent.id, "i": 999999, "fe": festival.id, "b": 999999, "p": 999999, "n": interpreter.id}


@pytest.mark.parametrize("role", ["anonymous", A, O, D])
async def test_role_route_matrix(client, db, settings, role):
    door, _ = await make_user("door", email="door-fixture@stadt-giessen.de")
    ids = await _fixtures(door.id, settings)
    csrf = ""
    if role != "anonymous":
        me = await sign_in(client, role)
        csrf = me.csrf
        if role == D:
            await DoorAssignment.create(user_id=me.user.id, event_id=ids["e"])
    outcomes = []
    for method, template, allowed in ROUTES:
        path = template.format(**ids)
        if method == "GET":
            response = await client.get(path)
        else:
            response = await client.post(path, data={"csrf_token": csrf})
        outcomes.append((method, path, response.status_code, response.headers.get("location", "")))
        if role == "anonymous":
            assert response.status_code == 303 and response.headers["location"].startswith("/admin/login?next="), \
                outcomes[-1]
        elif role not in allowed:
            assert response.status_code == 403, outcomes[-1]
        else:
            assert response.status_code not in (401, 403, 500), outcomes[-1]
            if method == "GET" and "{j}" not in template and "certificates.pdf" not in template \
                    and "/letters" not in template:
                # an unknown letters job is a 404 for anyone; no certificate issued yet is a 4xx;
                # letters for an event that is no reception with an answer deadline are a 422
                assert response.status_code == 200, outcomes[-1]
        if template == "/admin/logout" and role != "anonymous":
            break  # last row: signing out ends the session


async def test_door_staff_only_at_assigned_events(client, db):
    me = await sign_in(client, D)
    mine = await make_event(title="Zugewiesen")
    other = await make_event(title="Fremd")
    await DoorAssignment.create(user_id=me.user.id, event_id=mine.id)
    assert (await client.get(f"/admin/checkin/{mine.id}")).status_code == 200
    assert (await client.get(f"/admin/checkin/{other.id}")).status_code == 403
    listing = await client.get("/admin/checkin")
    assert "Zugewiesen" in listing.text and "Fremd" not in listing.text


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
async def test_export_api_needs_a_token_and_the_right_role(client, db, fmt):
    event = await make_event()
    _, organiser_token = await make_user("organiser")
    _, door_token = await make_user("door")
    url = f"/api/v1/events/{event.id}/export.{fmt}?layout=attendees"
    anonymous = await client.get(url)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"
    bogus = await client.get(url, headers={"authorization": "Bearer ev_nonsense"})
    assert bogus.status_code == 401
    door = await client.get(url, headers={"authorization": f"Bearer {door_token}"})
    assert door.status_code == 403
    allowed = await client.get(url, headers={"authorization": f"Bearer {organiser_token}"})
    assert allowed.status_code == 200 and allowed.content
    bad_layout = await client.get(url.replace("attendees", "poster"),
                                  headers={"authorization": f"Bearer {organiser_token}"})
    assert bad_layout.status_code == 422
    unknown_format = await client.get(f"/api/v1/events/{event.id}/export.doc",
                                      headers={"authorization": f"Bearer {organiser_token}"})
    assert unknown_format.status_code == 404


async def test_exports_are_described_in_openapi(client, db):
    spec = (await client.get("/api/v1/openapi.json")).json()
    for fmt in ("csv", "xlsx", "pdf"):
        operation = spec["paths"][f"/api/v1/events/{{event_id}}/export.{fmt}"]["get"]
        assert {"401", "403", "200"} <= set(operation["responses"])


async def test_every_form_refuses_a_missing_or_foreign_csrf_token(client, db, settings):
    me = await sign_in(client, A)
    ids = await _fixtures(me.user.id, settings)
    from events_app.core.models import AuditEntry

    before = await AuditEntry.all().count()
    for method, template, allowed in ROUTES:
        if method != "POST":
            continue
        path = template.format(**ids)
        missing = await client.post(path, data={})
        foreign = await client.post(path, data={"csrf_token": "a" * 43})
        assert (missing.status_code, foreign.status_code) == (403, 403), path
    assert await AuditEntry.all().count() == before  # nothing happened
