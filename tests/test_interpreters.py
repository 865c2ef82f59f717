"""The interpreter pool: needs counted from registrations, invitations and bookings (one key per language however
it was written), assigned to an interpreter, who gets a mail with date, place and language (names only if ticked)."""

from __future__ import annotations

from datetime import time

from events_app.consultations import bookings, slots
from events_app.core.models import AuditEntry, Interpreter, InterpreterAssignment, Invitation, InvitationState, RegistrationStatus
from events_app.interpreters import pool
from events_app.mail import delivery
from events_app.seats import registration
from events_app.seats.registration import Applicant
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, make_event, make_user
from tests.test_consultations import _future_tuesday


async def _course_with_requests():
    event = await make_event(kind="course", audience="women", title="Schwimmkurs für Frauen", capacity=3,
                             location="Hallenbad Ost")
    for n, asked in enumerate(["Arabisch", "ar", "العربية", "Tigrinya", "", "Arabic"]):
        await registration.register(event_id=event.id, applicant=Applicant(
            name=f"Frau {n}", phone="0641 1234", email=f"f{n}@example.org",
            answers={"language_assistance": asked} if asked else {}), languages=("de",))
    return event


async def test_needs_are_counted_per_language_from_people_expected_to_come(client, db):
    event = await _course_with_requests()
    # capacity 3: Frau 0-2 confirmed (3 x Arabic), Frau 3-5 wait and do not count yet
    _, token = await make_user()
    await Invitation.create(event_id=event.id, last_name="Yilmaz", first_name="Ayse", code="C1", token="t1",
                            state=InvitationState.ACCEPTED, needs={"language_assistance": "Türkisch"})
    await Invitation.create(event_id=event.id, last_name="Ohne", code="C2", token="t2",
                            state=InvitationState.DECLINED, needs={"language_assistance": "Farsi"})
    answer = await client.get(f"/api/v1/events/{event.id}/language-needs", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json() == [{"language": "ar", "day": None, "people": 3, "interpreter": None},
                             {"language": "tr", "day": None, "people": 1, "interpreter": None}]
    assert (await client.get(f"/api/v1/events/{event.id}/language-needs")).status_code == 401
    assert (await client.get("/api/v1/events/999999/language-needs",
                             headers={"authorization": f"Bearer {token}"})).status_code == 404


async def test_consultation_needs_are_per_day(db):
    event = await make_event(kind="consultation", title="Sprechstunde", capacity=1, location="Berliner Platz 1")
    day = _future_tuesday()
    made = await slots.create_slots(event_id=event.id, timezone="Europe/Berlin", pattern=slots.Pattern(
        weekday=day.isoweekday(), start=time(9, 0), end=time(10, 0), minutes=20, first=day,
        last=day))
    for n, (slot, language) in enumerate(zip(made, ["prs", "prs", "uk"])):
        await bookings.book(slot_id=slot.id, timezone="Europe/Berlin", booker=bookings.Booker(
            name=f"P{n}", email=f"p{n}@example.org", interpreter_language=language))
    needs = await pool.language_needs(event_id=event.id, timezone="Europe/Berlin")
    assert [(n.language, n.day, n.people, len(n.times)) for n in needs] == [
        ("prs", day.isoformat(), 2, 2), ("uk", day.isoformat(), 1, 1)]


async def test_assigning_mails_the_interpreter_date_place_language_and_names_only_when_ticked(
        client, smtp_settings, smtp_server):
    event = await _course_with_requests()
    signed = await sign_in(client)
    bad = await client.post("/admin/interpreters", data={"csrf_token": signed.csrf, "name": "", "email": "x"})
    assert bad.status_code == 422 and await Interpreter.all().count() == 0
    added = await client.post("/admin/interpreters", data={
        "csrf_token": signed.csrf, "name": "Samira Haddad", "email": "samira@example.org", "languages": ["ar"],
        "languages_other": "Kurdisch (Kurmandschi)"})
    assert added.status_code == 303
    samira = await Interpreter.get(name="Samira Haddad")
    assert samira.languages == ["ar", "Kurdisch (Kurmandschi)"]
    needs_page = await client.get(f"/admin/events/{event.id}/language-needs")
    assert needs_page.status_code == 200 and "Samira Haddad" in needs_page.text

    nobody_asked = await client.post(f"/admin/events/{event.id}/language-needs", data={
        "csrf_token": signed.csrf, "language": "ru", "day": "", "interpreter": str(samira.id)})
    assert nobody_asked.status_code == 422
    assigned = await client.post(f"/admin/events/{event.id}/language-needs", data={
        "csrf_token": signed.csrf, "language": "ar", "day": "", "interpreter": str(samira.id)})
    assert assigned.status_code == 303
    listed = (await client.get(f"/api/v1/events/{event.id}/language-needs",
                               headers={"authorization": f"Bearer {signed.api_token}"})).json()
    assert listed[0] == {"language": "ar", "day": None, "people": 3,
                         "interpreter": {"id": samira.id, "name": "Samira Haddad"}}
    await delivery.deliver_due(smtp_settings)
    [mail] = smtp_server.to("samira@example.org")
    text = mail.get_body(("plain",)).get_content()
    assert "Hallenbad Ost" in text and "Schwimmkurs für Frauen" in text and "Frau 0" not in text
    assert any(part in text for part in ("Arabisch", "Arabic"))

    with_names = await client.post(f"/admin/events/{event.id}/language-needs", data={
        "csrf_token": signed.csrf, "language": "ar", "day": "", "interpreter": str(samira.id), "share_names": "on"})
    assert with_names.status_code == 303
    assert await InterpreterAssignment.filter(event_id=event.id).count() == 1  # replaced, not doubled
    await delivery.deliver_due(smtp_settings)
    second = smtp_server.to("samira@example.org")[1].get_body(("plain",)).get_content()
    assert "Frau 0" in second and "Frau 3" not in second

    removed = await client.post(f"/admin/interpreters/{samira.id}/remove", data={"csrf_token": signed.csrf})
    assert removed.status_code == 303 and await Interpreter.all().count() == 0
    assert await InterpreterAssignment.all().count() == 0
    confirmed = await registration.Registration.filter(event_id=event.id, status=RegistrationStatus.CONFIRMED).count()
    assert confirmed == 3


@both_databases
async def test_an_interpreters_entry_is_changed_in_place_and_keeps_the_assignments(client, db):
    event = await _course_with_requests()
    signed = await sign_in(client)
    samira = await pool.add_interpreter(form=pool.InterpreterForm(
        name="Samira Haddad", email="samira@example.org", languages=("ar", "Kurdisch (Kurmandschi)")))
    await pool.assign(event_id=event.id, language="ar", interpreter_id=samira.id, timezone="Europe/Berlin")
    listed = await client.get("/admin/interpreters")
    assert f'href="/admin/interpreters/{samira.id}/edit"' in listed.text

    shown = await client.get(f"/admin/interpreters/{samira.id}/edit")
    assert shown.status_code == 200 and "Eintrag im Dolmetscher-Pool ändern" in shown.text
    assert 'value="ar" checked' in shown.text and 'value="tr" checked' not in shown.text
    assert 'value="Kurdisch (Kurmandschi)"' in shown.text and 'value="samira@example.org"' in shown.text

    refused = await client.post(f"/admin/interpreters/{samira.id}/edit", data={
        "csrf_token": signed.csrf, "name": "Samira Haddad", "email": "samira(at)example", "phone": "0641 99 88"})
    assert refused.status_code == 422
    assert 'id="e-languages"' in refused.text and 'id="e-email"' in refused.text
    assert 'value="0641 99 88"' in refused.text  # what was typed stays in the form
    unchanged = await Interpreter.get(id=samira.id)
    assert (unchanged.email, unchanged.phone, unchanged.languages) == (
        "samira@example.org", "", ["ar", "Kurdisch (Kurmandschi)"])

    saved = await client.post(f"/admin/interpreters/{samira.id}/edit", data={
        "csrf_token": signed.csrf, "name": "Samira Haddad-Kaya", "email": "samira@example.org",
        "phone": "0641 99 88", "languages": ["ar", "tr"], "languages_other": "Dari"})
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/interpreters?done=interpreter_saved"
    changed = await Interpreter.get(id=samira.id)
    assert (changed.name, changed.phone, changed.languages) == ("Samira Haddad-Kaya", "0641 99 88", ["ar", "tr", "prs"])
    assert await InterpreterAssignment.filter(event_id=event.id, interpreter_id=samira.id).count() == 1
    [entry] = await AuditEntry.filter(action="interpreter.changed")
    assert entry.detail == {"interpreter": samira.id, "fields": ["languages", "name", "phone"]}
    assert "Samira" not in str(entry.detail) and "0641" not in str(entry.detail)  # no personal data in the log


@both_databases
async def test_changing_an_interpreter_who_is_not_there_or_without_a_session_is_refused(client, db):
    samira = await pool.add_interpreter(form=pool.InterpreterForm(name="Samira", phone="0641 1", languages=("ar",)))
    anonymous = await client.get(f"/admin/interpreters/{samira.id}/edit")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/admin/login")
    signed = await sign_in(client)
    arabic = await client.get(f"/admin/interpreters/{samira.id}/edit?lang=ar")
    assert arabic.status_code == 200 and 'dir="rtl"' in arabic.text and "تعديل بيانات مترجم" in arabic.text
    for missing in (await client.get("/admin/interpreters/9999/edit"), await client.post(
            "/admin/interpreters/9999/edit", data={"csrf_token": signed.csrf, "name": "X", "phone": "1",
                                                   "languages": ["ar"]})):
        assert missing.status_code == 404
    no_token = await client.post(f"/admin/interpreters/{samira.id}/edit", data={"name": "X", "phone": "1",
                                                                              "languages": ["ar"]})
    assert no_token.status_code == 403
    assert (await Interpreter.get(id=samira.id)).name == "Samira" and await AuditEntry.filter(
        action="interpreter.changed").count() == 0
