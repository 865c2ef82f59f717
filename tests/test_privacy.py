"""Retention and people's rights: personal data disappears on time and on request, figures stay.

The people below have names, addresses and answers that appear nowhere else, so finding one of them
in a dump of the database, in the raw SQLite file or under var/ means it was not removed.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from tortoise import Tortoise

from events_app.backoffice import changes
from events_app.core.models import (AuditEntry, Certificate, Event, Invitation, InvitationState, OutboxMessage,
                                    Registration, RegistrationStatus)
from events_app.core.timeutil import utcnow
from events_app.courses import attendance, certificates, checkin
from events_app.mail import delivery
from events_app.privacy import retention, rights
from events_app.seats import registration
from events_app.seats.events import SessionSpec
from events_app.seats.registration import Applicant
from events_app.statistics import figures
from events_app.web.access_log import RedactingFilter, redact_path
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, in_days, make_event, make_user

ALL_TIME = figures.Query(date(2000, 1, 1), date(2040, 12, 31), "year")


def dates(days_ago: int, count: int = 1) -> list[SessionSpec]:
    return [SessionSpec(in_days(-days_ago + 7 * n), in_days(-days_ago + 7 * n) + timedelta(hours=2))
            for n in range(count)]


async def dump() -> str:
    """Every row of every table, as text."""
    parts = []
    for model in Tortoise.apps["events"].values():
        parts.append(f"{model._meta.db_table}: {await model.all().values()!r}")
    return "\n".join(parts)


def files_under(folder: Path) -> bytes:
    return b"\n".join(path.read_bytes() for path in folder.rglob("*") if path.is_file())


async def figures_now() -> list[dict]:
    return [row.as_json() for row in await figures.compute(ALL_TIME)]


async def _old_course_and_reception(settings, organiser):
    """A course and a reception that ended 200 days ago, with every kind of personal record."""
    course = await make_event(kind="course", title="Schwimmkurs", capacity=3, sessions=dates(200, 2),
                              phone_allowed=True, max_companions=1)
    sessions = list(await course.sessions.all().order_by("starts_at"))
    people = {}
    for key, applicant in (
        ("zenobia", Applicant(name="Zenobia Quellwasser", email="zenobia.quellwasser@example.org",
                              phone="+49 641 9988771", answers={"childcare": True}, postcode="35390")),
        ("ysolde", Applicant(name="Ysolde Brückenkamp", phone="0641 5566443", companions=1)),
        ("xaveria", Applicant(name="Xaveria Tannenhuber", email="xaveria.tannenhuber@example.org", language="ar")),
    ):
        people[key] = (await registration.register(event_id=course.id, applicant=applicant,
                                                   now=sessions[0].starts_at - timedelta(days=20))).registration
    for session in sessions:
        await attendance.record(registration_id=people["zenobia"].id, session_id=session.id, present=True)
    await checkin.check_in(event_id=course.id, registration_id=people["ysolde"].id, session_id=sessions[0].id,
                           companions=1, by=organiser)
    certificate = await certificates.issue(registration_id=people["zenobia"].id)
    await changes.cancel_registration(event_id=course.id, registration_id=people["xaveria"].id, by=organiser,
                                      reason="Rückruf bei Xaveria Tannenhuber vereinbart")
    reception = await make_event(kind="reception", audience="invitation", title="Einbürgerungsempfang",
                                 capacity=50, max_companions=2, sessions=dates(200))
    invitation = await Invitation.create(
        event_id=reception.id, first_name="Wendelin", last_name="Ochsenfurter", birth_date=date(1971, 3, 14),
        street="Quittenweg 77", postcode="35394", city="Gießen", email="wendelin.ochsenfurter@example.org",
        phone="0641 4433221", file_number="EB-7788-QX", note="Rollstuhl, Eingang Ostseite", code="QWXR7TZ5K2M",
        max_companions=2, token="invitation-token-" + "q" * 40, needs={"language_assistance": "Kurmandschi-Dolmetschung"})
    from events_app.receptions import invitations

    await invitations.answer(invitation_id=invitation.id, reply=invitations.Reply(accept=True, companions=2),
                             now=sessions[0].starts_at - timedelta(days=30))
    await delivery.deliver_due(settings)  # the mails become .eml files under var/mail/
    letters = settings.var_dir / "letters"
    letters.mkdir(parents=True, exist_ok=True)
    (letters / "job-for-reception-000.json").write_text(json.dumps({"event_id": reception.id, "state": "done"}))
    (letters / "job-for-reception-000.out").write_text("Herrn Wendelin Ochsenfurter, Quittenweg 77")
    invitation = await Invitation.get(id=invitation.id)
    secrets = ["Zenobia Quellwasser", "zenobia.quellwasser@example.org", "9988771", "Ysolde Brückenkamp",
               "5566443", "Xaveria Tannenhuber", "xaveria.tannenhuber@example.org", "Wendelin", "Ochsenfurter",
               "Quittenweg", "1971-03-14", "4433221", "EB-7788-QX", "Rollstuhl", "QWXR7TZ5K2M", "Kurmandschi",
               invitation.token]
    for reg in await Registration.filter(event_id__in=[course.id, reception.id]):
        secrets += [reg.manage_token, reg.checkin_token]
    return course, reception, people, certificate, secrets


@both_databases
async def test_retention_removes_every_trace_and_keeps_the_figures(db, settings, client):
    organiser, _ = await make_user("organiser")
    course, reception, people, certificate, secrets = await _old_course_and_reception(settings, organiser)
    recent = await make_event(title="Stadtteilführung", kind="tour", sessions=dates(10))
    kept = await make_event(title="Lange aufbewahrt", kind="workshop", sessions=dates(200), retention_days=400)
    for event in (recent, kept):
        await registration.register(event_id=event.id, applicant=Applicant(
            name=f"Vivienne Kastanienhof {event.id}", email=f"vivienne{event.id}@example.org"))
    assert (await Registration.get(id=people["zenobia"].id)).postcode == "35390"
    before = await figures_now()
    untouched_before = await Registration.filter(event_id__in=[recent.id, kept.id]).order_by("id").values()
    everything = await dump()
    assert "Zenobia Quellwasser" in everything and "Ochsenfurter" in everything

    planned = await retention.purge(settings, dry_run=True)
    assert planned["registration"] == 4 and planned["invitation"] == 1 and planned["var/letters"] == 1
    assert planned["outbox_message"] >= 4 and planned["var/mail"] >= 4 and planned["audit_entry"] >= 1
    assert "Zenobia Quellwasser" in await dump()  # a dry run changes nothing
    assert await retention.purge(settings) == planned

    everything = await dump()
    for secret in secrets:
        if secret == "Zenobia Quellwasser":  # her certificate keeps the name for its verification page
            assert everything.count(secret) == 1 and (await Certificate.get(id=certificate.id)).holder_name == secret
            continue
        assert secret not in everything, secret
        assert secret.encode() not in files_under(settings.var_dir), secret
    if db.startswith("sqlite://"):
        path = Path(db.removeprefix("sqlite://"))
        # read by another process: closing a file of a live SQLite database in this one would drop the locks
        # its connections hold on it (POSIX locks belong to the process), and the next process to close the
        # database would then take it for the last one and delete the log they still read
        raw = subprocess.run(["cat", *map(str, path.parent.glob(path.name + "*"))], capture_output=True,
                             check=True).stdout
        for secret in secrets:
            assert secret.encode() not in raw or secret == "Zenobia Quellwasser", secret
    assert await figures_now() == before
    assert await Registration.filter(event_id__in=[recent.id, kept.id]).order_by("id").values() == untouched_before
    gone = await Registration.get(id=people["ysolde"].id)
    assert (gone.status, gone.seats, gone.companions, gone.anonymised_at is not None) == (
        RegistrationStatus.CONFIRMED, 2, 1, True)
    assert (await Event.get(id=course.id)).anonymised_at is not None
    assert (await client.get(f"/r/{people['zenobia'].manage_token}")).status_code == 404
    page = await client.get(f"/certificates/{certificate.serial}?lang=de")
    assert page.status_code == 200 and "Zenobia Quellwasser" in page.text

    # past the certificates' own period the page says only that it existed
    later = await retention.purge(settings, now=utcnow() + timedelta(days=settings.certificate_retention_days + 1))
    assert later["certificate"] == 1
    assert "Zenobia Quellwasser" not in await dump()
    page = await client.get(f"/certificates/{certificate.serial}?lang=en")
    assert page.status_code == 200 and "Zenobia" not in page.text
    assert "have been deleted after the retention period" in page.text
    assert await retention.purge(settings) == {}  # nothing left to do


@both_databases
async def test_erasure_gives_the_seat_to_the_next_person_and_forgets_the_address(db, settings):
    event = await make_event(capacity=1, sessions=dates(-20))
    first = (await registration.register(event_id=event.id, applicant=Applicant(
        name="Ulrike Zaunkönig", email="ulrike.zaunkoenig@example.org"))).registration
    second = (await registration.register(event_id=event.id, applicant=Applicant(
        name="Theodora Mispel", email="theodora@example.org"))).registration
    assert second.status == RegistrationStatus.WAITLISTED
    admin, _ = await make_user("admin")

    removed = await rights.erase(settings, rights.subject_from(email="Ulrike.Zaunkoenig@EXAMPLE.org"), by=admin)

    assert removed["registration"] == 1
    erased = await Registration.get(id=first.id)
    assert (erased.status, erased.name, erased.email, erased.anonymised_at is not None) == (
        RegistrationStatus.CANCELLED, "", "", True)
    assert (await Registration.get(id=second.id)).status == RegistrationStatus.CONFIRMED
    assert (await Event.get(id=event.id)).seats_taken == 1
    assert await OutboxMessage.filter(recipient="theodora@example.org", template="promoted").count() == 1
    assert not await OutboxMessage.filter(template="cancelled", registration_id=first.id).exists()
    entry = await AuditEntry.get(action="personal_data.erased")
    assert entry.detail["subject_sha256"] == rights.subject_from(email="ulrike.zaunkoenig@example.org").hash()
    assert "zaunk" not in (await dump()).lower()


async def test_erasure_after_the_event_keeps_the_figures(db, settings):
    organiser, _ = await make_user("organiser")
    course, *_ = await _old_course_and_reception(settings, organiser)
    before = await figures_now()
    await rights.erase(settings, rights.subject_from(phone="+49 641 5566443"), by=organiser)
    await rights.erase(settings, rights.subject_from(email="wendelin.ochsenfurter@example.org"), by=organiser)
    assert await figures_now() == before
    everything = await dump()
    assert "Brückenkamp" not in everything and "Ochsenfurter" not in everything
    assert "Zenobia Quellwasser" in everything  # somebody else's data stays


async def test_access_export_has_every_record_of_the_person_and_nobody_elses(db, settings, client):
    organiser, _ = await make_user("organiser")
    course, reception, people, certificate, _ = await _old_course_and_reception(settings, organiser)
    other = await make_event(title="Zweiter Kurs", sessions=dates(-5))
    await registration.register(event_id=other.id, applicant=Applicant(
        name="Zenobia Quellwasser", email="ZENOBIA.quellwasser@example.org"))
    _, admin_token = await make_user("admin", email="admin@stadt-giessen.de")
    _, organiser_token = await make_user("organiser", email="orga2@stadt-giessen.de")

    response = await client.get("/api/v1/personal-data", params={"email": "zenobia.quellwasser@example.org"},
                                headers={"authorization": f"Bearer {admin_token}"})

    assert response.status_code == 200
    data = response.json()
    assert sorted(r["event"]["title"] for r in data["registrations"]) == ["Schwimmkurs", "Zweiter Kurs"]
    [swim] = [r for r in data["registrations"] if r["event"]["title"] == "Schwimmkurs"]
    assert swim["answers"] == {"childcare": True} and swim["postcode"] == "35390"
    assert [a["present"] for a in swim["attendance"]] == [True, True]
    assert [c["serial"] for c in swim["certificates"]] == [certificate.serial]
    assert {m["kind"] for m in swim["mails"]} >= {"confirmed"}
    text = response.text
    for stranger in ("Ysolde", "Xaveria", "Ochsenfurter", people["zenobia"].manage_token):
        assert stranger not in text
    assert await AuditEntry.filter(action="personal_data.exported").count() == 1
    assert "zenobia" not in json.dumps((await AuditEntry.get(action="personal_data.exported")).detail)

    by_phone = await client.get("/api/v1/personal-data", params={"phone": "+49 (641) 556 6443"},
                                headers={"authorization": f"Bearer {admin_token}"})
    assert [r["name"] for r in by_phone.json()["registrations"]] == ["Ysolde Brückenkamp"]
    invitee = (await client.get("/api/v1/personal-data", params={"email": "wendelin.ochsenfurter@example.org"},
                                headers={"authorization": f"Bearer {admin_token}"})).json()
    assert invitee["invitations"][0]["street"] == "Quittenweg 77"
    assert invitee["registrations"][0]["seats"] == 3  # the acceptance, found through the invitation
    assert "QWXR7TZ5K2M" not in json.dumps(invitee)

    refused = await client.get("/api/v1/personal-data", params={"email": "zenobia.quellwasser@example.org"},
                               headers={"authorization": f"Bearer {organiser_token}"})
    assert refused.status_code == 403
    assert (await client.get("/api/v1/personal-data")).status_code == 401
    for params in ({}, {"email": "not-an-address"}, {"email": "a@example.org", "phone": "0641 1"},
                   {"phone": "call me"}):
        bad = await client.get("/api/v1/personal-data", params=params, headers={
            "authorization": f"Bearer {admin_token}", "accept-language": "de"})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json"), params


async def test_erase_api_checks_its_input_and_role(db, settings, client):
    event = await make_event(sessions=dates(-3))
    person = (await registration.register(event_id=event.id, applicant=Applicant(
        name="Sieglinde Apfelbaum", email="sieglinde@example.org"))).registration
    _, admin_token = await make_user("admin")
    _, organiser_token = await make_user("organiser")
    admin = {"authorization": f"Bearer {admin_token}"}
    assert (await client.post("/api/v1/personal-data/erase", json={"email": "sieglinde@example.org"}, headers={
        "authorization": f"Bearer {organiser_token}"})).status_code == 403
    for body in ({}, {"email": 7}, {"email": "sieglinde@example.org", "phone": "0641 123456"}):
        assert (await client.post("/api/v1/personal-data/erase", json=body, headers=admin)).status_code == 422, body
    assert (await client.post("/api/v1/personal-data/erase", content=b"[1]", headers=admin)).status_code == 400
    assert (await Registration.get(id=person.id)).name == "Sieglinde Apfelbaum"

    done = await client.post("/api/v1/personal-data/erase", json={"email": "sieglinde@example.org"}, headers=admin)
    assert done.status_code == 200 and done.json()["removed"]["registration"] == 1
    assert (await Registration.get(id=person.id)).name == ""


async def test_back_office_erasure_asks_for_confirmation_first(db, settings, client, tmp_path):
    event = await make_event(sessions=dates(-3))
    person = (await registration.register(event_id=event.id, applicant=Applicant(
        name="Rosalind Holunder", email="rosalind@example.org"))).registration
    me = await sign_in(client, "admin")
    page = await client.get("/admin/privacy", params={"email": "rosalind@example.org"})
    assert page.status_code == 200 and "Rosalind Holunder" in page.text
    pdf = await client.get("/admin/privacy/personal-data.pdf", params={"email": "rosalind@example.org"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    from tests.fixtures_courses import pdf_text

    assert "Rosalind Holunder" in pdf_text(pdf.content, tmp_path)
    asked = await client.post("/admin/privacy/erase", data={"email": "rosalind@example.org", "csrf_token": me.csrf})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.text
    assert (await Registration.get(id=person.id)).name == "Rosalind Holunder"
    done = await client.post("/admin/privacy/erase", data={"email": "rosalind@example.org", "phone": "",
                                                          "confirm": "yes", "csrf_token": me.csrf})
    assert done.status_code == 200
    assert (await Registration.get(id=person.id)).name == ""
    bad = await client.get("/admin/privacy", params={"email": "nobody"})
    assert bad.status_code == 422
    client.cookies.clear()
    await sign_in(client, "organiser", email="orga@stadt-giessen.de")
    assert (await client.get("/admin/privacy")).status_code == 403


async def test_a_person_deletes_their_own_registration(db, settings, client):
    event = await make_event(capacity=1, sessions=dates(-3))
    person = (await registration.register(event_id=event.id, applicant=Applicant(
        name="Philippa Wacholder", email="philippa@example.org"))).registration
    waiting = (await registration.register(event_id=event.id, applicant=Applicant(
        name="Odila Ginster", email="odila@example.org"))).registration
    manage = await client.get(f"/r/{person.manage_token}?lang=de")
    assert f"/r/{person.manage_token}/delete" in manage.text and "/privacy" in manage.text
    confirm = await client.get(f"/r/{person.manage_token}/delete?lang=en")
    assert confirm.status_code == 200 and "Yes, delete my data" in confirm.text
    done = await client.post(f"/r/{person.manage_token}/delete?lang=en")
    assert done.status_code == 200 and "Your data has been deleted" in done.text
    assert (await client.get(f"/r/{person.manage_token}")).status_code == 404
    assert (await client.post(f"/r/{person.manage_token}/delete")).status_code == 404
    assert (await Registration.get(id=waiting.id)).status == RegistrationStatus.CONFIRMED
    assert "Wacholder" not in await dump()


@both_databases
async def test_purge_command_prints_counts_per_table(db, settings, tmp_path):
    event = await make_event(sessions=dates(300))
    await registration.register(event_id=event.id, applicant=Applicant(name="Nathalie Eibe", email="n@example.org"))
    env = {"EVENTS_DATABASE_URL": db, "EVENTS_VAR_DIR": str(tmp_path / "cli-var"), "EVENTS_SECRET_KEY": "x",
           "PATH": "/usr/bin:/bin"}
    dry = subprocess.run([sys.executable, "-m", "events_app.cli", "purge", "--dry-run"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "would remove" in dry.stdout and "registration: 1" in dry.stdout
    assert (await Registration.get(event_id=event.id)).name == "Nathalie Eibe"
    run = subprocess.run([sys.executable, "-m", "events_app.cli", "purge"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and "registration: 1" in run.stdout
    assert (await Registration.get(event_id=event.id)).name == ""


async def test_events_take_a_retention_period_and_past_dates(db, settings, client):
    _, token = await make_user()
    auth = {"authorization": f"Bearer {token}"}
    body = {"kind": "workshop", "title": "Nachgetragen", "capacity": 10, "retention_days": 30,
            "sessions": [{"starts_at": "2025-03-01T10:00:00+01:00", "ends_at": "2025-03-01T12:00:00+01:00"}]}
    created = await client.post("/api/v1/events", json=body, headers=auth)
    assert created.status_code == 201 and created.json()["retention_days"] == 30
    event_id = created.json()["id"]
    closed = await client.post(f"/api/v1/events/{event_id}/registrations", json={"name": "A", "email": "a@example.org"})
    assert closed.status_code == 409
    reset = await client.patch(f"/api/v1/events/{event_id}", json={"retention_days": None}, headers=auth)
    assert reset.json()["retention_days"] == settings.retention_days
    assert (await Event.get(id=event_id)).retention_days is None
    for bad in (-1, 4000, "soon", True):
        refused = await client.patch(f"/api/v1/events/{event_id}", json={"retention_days": bad}, headers=auth)
        assert refused.status_code == 422 and "retention_days" in refused.json()["errors"], bad
    await sign_in(client, "organiser", email="orga@stadt-giessen.de")
    form = await client.get(f"/admin/events/{event_id}/edit")
    assert 'name="retention_days"' in form.text


async def test_forms_say_what_is_kept_and_for_how_long(db, client):
    event = await make_event(retention_days=14)
    page = await client.get(f"/events/{event.id}?lang=de")
    assert "14 Tage nach dem letzten Termin" in page.text and 'href="/privacy"' in page.text
    assert 'name="postcode"' in page.text
    bad = await client.post(f"/events/{event.id}/register", data={"name": "Mia", "email": "mia@example.org",
                                                                 "postcode": "Gießen"})
    assert bad.status_code == 422
    good = await client.post(f"/events/{event.id}/register", data={"name": "Mia", "email": "mia@example.org",
                                                                  "postcode": "35390"})
    assert good.status_code == 303
    assert (await Registration.get(event_id=event.id)).postcode == "35390"


def test_access_log_lines_carry_no_tokens_codes_or_addresses():
    assert redact_path("/r/abc123/cancel?lang=ar") == "/r/[redacted]/cancel?lang=ar"
    assert redact_path("/rsvp/TOKEN") == "/rsvp/[redacted]"
    assert redact_path("/feeds/secret.ics") == "/feeds/[redacted].ics"
    assert redact_path("/certificates/TB-2026-ABCD") == "/certificates/[redacted]"
    assert redact_path("/api/v1/invitations/QWXR7TZ5K2M/rsvp") == "/api/v1/invitations/[redacted]/rsvp"
    assert redact_path("/api/v1/personal-data?email=a%40b.de") == "/api/v1/personal-data?email=[redacted]"
    assert redact_path("/events/4?lang=de") == "/events/4?lang=de"
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("203.0.113.7:5123", "GET", "/r/abc123", "1.1", 200), None)
    assert RedactingFilter().filter(record)
    line = record.getMessage()
    assert "abc123" not in line and "203.0.113.7" not in line and "/r/[redacted]" in line


async def test_back_office_records_a_past_event_with_its_own_retention_period(db, client):
    from tests.test_backoffice_events import COURSE_FORM

    me = await sign_in(client, "organiser")
    form = {**COURSE_FORM, "csrf_token": me.csrf, "title": "Nachgetragener Kurs", "retention_days": "45",
            "s0_date": "2025-03-04", "s1_date": "2025-03-11", "s2_date": "2025-03-18"}
    assert (await client.post("/admin/events/new", data=form)).status_code == 303
    event = await Event.get(title="Nachgetragener Kurs")
    assert event.retention_days == 45
    edit = await client.get(f"/admin/events/{event.id}/edit")
    assert 'name="retention_days"' in edit.text and 'value="45"' in edit.text
    refused = await client.post("/admin/events/new", data={**form, "title": "Zu lang", "retention_days": "99999"})
    assert refused.status_code == 422 and not await Event.exists(title="Zu lang")
    await client.post(f"/admin/events/{event.id}/edit", data={**form, "retention_days": ""})
    assert (await Event.get(id=event.id)).retention_days is None
