"""Women's course series on the public form and API, and the HR training record export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook

from events_app.courses import certificates
from events_app.seats.events import SessionSpec
from events_app.core.models import Question, Registration, RegistrationStatus
from tests.fixtures_courses import attend, make_course
from tests.helpers import in_days, make_event, make_user


async def _womens_course(**overrides):
    """A women's course that starts next week: open for sign-up (a course that took place is closed)."""
    event, sessions = await make_course(dates=8, held=False, audience="women", location="Hallenbad Ost, Eingang B",
                                        location_confidential=True, capacity=1, **overrides)
    return event, sessions


async def test_womens_course_form_states_the_audience_and_needs_the_confirmation(client, db):
    event, _ = await _womens_course()
    page = await client.get(f"/events/{event.id}?lang=en")
    assert "This offer is for women only." in page.text
    assert 'name="women_only"' in page.text
    assert "I need childcare during the course." in page.text and "Language assistance" in page.text
    assert "Hallenbad Ost" not in page.text
    missing = await client.post(f"/events/{event.id}/register", data={"name": "Mariam", "email": "m@example.org"})
    assert missing.status_code == 422 and 'id="e-women_only"' in missing.text
    assert await Registration.all().count() == 0
    done = await client.post(f"/events/{event.id}/register", data={
        "name": "Mariam", "email": "m@example.org", "women_only": "yes", "q_childcare": "yes",
        "q_language_assistance": "Dari"})
    assert done.status_code == 303
    person = await Registration.get()
    assert person.status == RegistrationStatus.CONFIRMED
    assert person.answers == {"childcare": True, "language_assistance": "Dari"}
    manage = await client.get(done.headers["location"])
    assert "Hallenbad Ost" in manage.text  # told to the confirmed participant only


async def test_womens_course_api_confirmation_and_no_names_in_public_views(client, db):
    event, _ = await _womens_course()
    url = f"/api/v1/events/{event.id}/registrations"
    refused = await client.post(url, json={"name": "Zahra Ahmadi", "email": "z@example.org"})
    assert refused.status_code == 422 and "women_only" in refused.json()["errors"]
    not_bool = await client.post(url, json={"name": "Zahra Ahmadi", "email": "z@example.org", "women_only": "yes"})
    assert not_bool.status_code == 422
    first = await client.post(url, json={"name": "Zahra Ahmadi", "email": "z@example.org", "women_only": True})
    second = await client.post(url, json={"name": "Shirin Karimi", "email": "s@example.org", "women_only": True})
    assert first.status_code == 201 and "name" not in first.json()
    assert second.json()["status"] == "waitlisted"
    waiting_page = await client.get(second.json()["manage_url"].replace("http://127.0.0.1:8000", ""))
    assert "Hallenbad Ost" not in waiting_page.text
    for public in (await client.get(f"/events/{event.id}"), await client.get(f"/api/v1/events/{event.id}"),
                   await client.get("/"), await client.get("/api/v1/events")):
        assert "Zahra" not in public.text and "Shirin" not in public.text and "Hallenbad Ost" not in public.text


async def test_creating_a_womens_course_through_the_api_adds_its_questions(client, db):
    _, token = await make_user()
    body = {"kind": "course", "title": "Schwimmkurs", "capacity": 10, "audience": "women",
            "sessions": [{"starts_at": "2027-03-01T18:00:00+01:00", "ends_at": "2027-03-01T19:30:00+01:00"}]}
    created = await client.post("/api/v1/events", json=body, headers={"authorization": f"Bearer {token}"})
    assert created.status_code == 201
    keys = await Question.filter(event_id=created.json()["id"]).values_list("key", flat=True)
    assert sorted(keys) == ["childcare", "language_assistance"]


async def _staff_workshop_this_year(title: str, hour: int = 9):
    start = in_days(-30, hour=hour)
    event = await make_event(title=title, audience="staff", certificate_min_attendance=100,
                             sessions=[SessionSpec(start, start + timedelta(hours=3))])
    return event, start


async def test_training_record_lists_people_workshops_and_certificates(client, db):
    from events_app.core.models import EventSession
    from events_app.seats.registration import Applicant, register

    event, start = await _staff_workshop_this_year("Interkulturelle Kompetenz I")
    sessions = list(await EventSession.filter(event_id=event.id))
    people = []
    for name, email, department in (("Erika Muster", "erika@giessen.de", "=Amt 50"),
                                    ("Олена Коваленко", "olena@stadt-giessen.de", "Ordnungsamt")):
        outcome = await register(event_id=event.id, applicant=Applicant(
            name=name, email=email, answers={"department": department}))
        people.append(outcome.registration)
    await attend(people[0], sessions, 1)
    certificate = await certificates.issue(registration_id=people[0].id)
    year = start.year
    _, token = await make_user()
    auth = {"authorization": f"Bearer {token}"}
    response = await client.get(f"/api/v1/training-record.csv?year={year}", headers=auth)
    assert response.status_code == 200 and response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 3
    erika = next(r for r in rows if r[0] == "erika@giessen.de")
    assert erika[2] == "'=Amt 50"  # not a formula in a spreadsheet
    assert erika[4] == "Interkulturelle Kompetenz I" and erika[7:10] == ["1", "1", "3"]
    assert erika[10] == certificate.serial
    olena = next(r for r in rows if r[0] == "olena@stadt-giessen.de")
    assert olena[1] == "Олена Коваленко" and olena[7] == "0" and olena[10] == ""
    xlsx = await client.get(f"/api/v1/training-record.xlsx?year={year}", headers=auth)
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(values) == 3 and any(row[10] == certificate.serial for row in values[1:])
    other_year = await client.get(f"/api/v1/training-record.csv?year={year - 1}", headers=auth)
    assert len(other_year.content.decode("utf-8-sig").strip().splitlines()) == 1  # header only
    one = await client.get(f"/api/v1/training-record.csv?year={year}&email=olena@stadt-giessen.de", headers=auth)
    assert [r[0] for r in csv.reader(io.StringIO(one.content.decode("utf-8-sig")), delimiter=";")][1:] == [
        "olena@stadt-giessen.de"]
    assert (await client.get(f"/api/v1/training-record.csv?year={year}")).status_code == 401
    assert (await client.get("/api/v1/training-record.csv?year=next", headers=auth)).status_code == 422
    assert (await client.get("/api/v1/training-record.pdf", headers=auth)).status_code == 404


async def test_training_record_page_per_person_with_audited_downloads(client, db):
    from events_app.core.models import AuditEntry, EventSession
    from events_app.seats.registration import Applicant, register
    from tests.fixtures_backoffice import sign_in

    first, start = await _staff_workshop_this_year("Interkulturelle Kompetenz I", hour=8)
    second, _ = await _staff_workshop_this_year("Interkulturelle Kompetenz II", hour=13)
    serials = []
    for event, people in ((first, ("erika@giessen.de", "olena@stadt-giessen.de")), (second, ("erika@giessen.de",))):
        sessions = list(await EventSession.filter(event_id=event.id))
        for email in people:
            name = "Erika Muster" if email.startswith("erika") else "Олена Коваленко"
            outcome = await register(event_id=event.id, applicant=Applicant(
                name=name, email=email, answers={"department": "Amt 50" if name == "Erika Muster" else "Ordnungsamt"}))
            await attend(outcome.registration, sessions, 1)
        serials.append((await certificates.issue_all(event_id=event.id))[0].serial)
    me = await sign_in(client)
    assert 'href="/admin/training"' in (await client.get("/admin")).text
    page = await client.get(f"/admin/training?year={start.year}&lang=en")
    assert page.status_code == 200
    assert page.text.count("<h2><bdi>Erika Muster</bdi></h2>") == 1  # one section per person
    erika = page.text.split("<h2><bdi>Erika Muster</bdi></h2>")[1].split("<h2>")[0]
    assert "Interkulturelle Kompetenz I<" in erika and "Interkulturelle Kompetenz II<" in erika
    assert "2 workshops" in erika and "Amt 50" in erika and all(serial in erika for serial in serials)
    assert "Олена Коваленко" in page.text and f'value="{start.year}" selected' in page.text
    empty = await client.get(f"/admin/training?year={start.year - 5}&lang=en")
    assert empty.status_code == 200 and "Erika" not in empty.text and "Nobody took part" in empty.text
    csv_file = await client.get(f"/admin/training/record.csv?year={start.year}")
    assert csv_file.status_code == 200 and "erika@giessen.de" in csv_file.content.decode("utf-8-sig")
    xlsx = await client.get(f"/admin/training/record.xlsx?year={start.year}")
    assert xlsx.status_code == 200 and load_workbook(io.BytesIO(xlsx.content)).active.max_row == 4
    downloads = await AuditEntry.filter(action="training_record.downloaded").order_by("id")
    assert [(d.user_id, d.detail["format"], d.detail["year"]) for d in downloads] == [
        (me.user.id, "csv", start.year), (me.user.id, "xlsx", start.year)]
    for bad in ("next", "99999", "1999"):
        assert (await client.get(f"/admin/training?year={bad}")).status_code == 422
    assert (await client.get("/admin/training/record.pdf")).status_code == 404
