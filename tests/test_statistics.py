"""The funding report's figures from a fixture year of events, counted by hand, before and after deletion."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from events_app.backoffice import changes
from events_app.core.i18n import LANGUAGES
from events_app.core.models import EventSession, Invitation, PostcodeDistrict
from events_app.courses import attendance, checkin
from events_app.privacy import retention, rights
from events_app.receptions import invitee_import, list_files
from events_app.seats import registration
from events_app.seats.events import SessionSpec
from events_app.seats.registration import Applicant
from tests.fixtures_backoffice import sign_in
from tests.fixtures_courses import pdf_text
from tests.helpers import both_databases, make_event, make_user

YEAR = "from=2025-01-01&to=2025-12-31"


def on(month: int, day: int, hour: int = 10, hours: int = 2) -> SessionSpec:
    start = datetime(2025, month, day, hour, tzinfo=timezone.utc)
    return SessionSpec(start, start + timedelta(hours=hours))


async def _person(event, name: str, **details):
    when = (await EventSession.filter(event_id=event.id).order_by("starts_at").first()).starts_at - timedelta(days=7)
    return (await registration.register(event_id=event.id, applicant=Applicant(name=name, **details),
                                         via_invitation=True, languages=tuple(LANGUAGES), now=when)).registration


async def fixture_year():
    """2025, counted by hand:

    Q1 course (2 dates): Amal, Bahar confirmed; Cemile, Dilan waited, Dilan cancelled. Amal came twice,
       Bahar once. Languages de, ar, ar, fa. Postcodes: all 35390 (Innenstadt).
    Q2 reception: Goran with 2 companions confirmed and checked in with both; Hanna registered and cancelled.
       Nine invitees imported from the authority's list: six in 35394 (Wieseck), two in 35390 (Innenstadt),
       one with a postcode the office's table does not know (unknown district).
    Q2 workshop: Emre, Fatma confirmed, Emre came; one sign-up never verified (not counted).
    Q3 festival: Ivan confirmed, did not come; a cancelled festival (not counted).
    Q4 course: Amal again (returning).
    2024: a tour (outside the range).
    """
    organiser, _ = await make_user("organiser", email="statistik@stadt-giessen.de")
    await PostcodeDistrict.create(postcode="35390", district="Innenstadt")
    await PostcodeDistrict.create(postcode="35394", district="Wieseck")
    course = await make_event(kind="course", title="Schwimmkurs Frühjahr", capacity=2, phone_allowed=True, sessions=[on(2, 3), on(2, 10)])
    amal = await _person(course, "Amal", email="amal@example.org", postcode="35390")
    bahar = await _person(course, "Bahar", email="bahar@example.org", language="ar", postcode="35390")
    await _person(course, "Cemile", phone="0641 111111", language="ar", postcode="35390")
    dilan = await _person(course, "Dilan", email="dilan@example.org", language="fa", postcode="35390")
    await registration.cancel(token=dilan.manage_token, now=datetime(2025, 1, 30, tzinfo=timezone.utc))
    dates = list(await EventSession.filter(event_id=course.id).order_by("starts_at"))
    for session in dates:
        await attendance.record(registration_id=amal.id, session_id=session.id, present=True)
    await attendance.record(registration_id=bahar.id, session_id=dates[0].id, present=True)
    await attendance.record(registration_id=bahar.id, session_id=dates[1].id, present=False)

    reception = await make_event(kind="reception", audience="invitation", title="Empfang", capacity=100,
                                 max_companions=3, sessions=[on(6, 14)])
    goran = await _person(reception, "Goran", email="goran@example.org", companions=2, language="uk",
                          postcode="35394")
    hanna = await _person(reception, "Hanna", email="hanna@example.org")
    await registration.cancel(token=hanna.manage_token, now=datetime(2025, 6, 1, tzinfo=timezone.utc))
    invitees = "Vorname;Nachname;Straße;PLZ;Ort\r\n" + "".join(
        f"Person;{name};Weg {n};{postcode};Gießen\r\n" for n, (name, postcode) in enumerate(
            [(f"Wieseck{n}", "35394") for n in range(6)] + [("Mitte1", "35390"), ("Mitte2", "35 390"),
                                                            ("Anderswo", "35457")]))
    imported = await invitee_import.import_invitations(event_id=reception.id,
                                                       table=list_files.read_table(invitees.encode(), "liste.csv"))
    assert imported.created == 9
    [day] = await EventSession.filter(event_id=reception.id)
    await checkin.check_in(event_id=reception.id, registration_id=goran.id, session_id=day.id, companions=2,
                           by=organiser)

    workshop = await make_event(kind="workshop", title="Interkulturelle Kompetenz", capacity=10, sessions=[on(5, 5)])
    emre = await _person(workshop, "Emre", email="emre@example.org", postcode="35390")
    await _person(workshop, "Fatma", email="fatma@example.org", language="tr")
    await registration.register(event_id=workshop.id, applicant=Applicant(name="Gerd", email="gerd@giessen.de"),
                                hold_seat=False, now=datetime(2025, 4, 1, tzinfo=timezone.utc))
    [day] = await EventSession.filter(event_id=workshop.id)
    await attendance.record(registration_id=emre.id, session_id=day.id, present=True)

    festival = await make_event(kind="festival", title="Global Village", capacity=500, sessions=[on(8, 23, hours=8)])
    await _person(festival, "Ivan", email="ivan@example.org", language="en")
    rained_off = await make_event(kind="festival", title="Abgesagt", capacity=500, sessions=[on(9, 6)])
    await _person(rained_off, "Jana", email="jana@example.org")
    await changes.cancel_event(event_id=rained_off.id, reason="Unwetter", by=organiser)

    autumn = await make_event(kind="course", title="Schwimmkurs Herbst", capacity=8, sessions=[on(10, 6)])
    await _person(autumn, "Amal", email="AMAL@example.org", postcode="35390")
    old_tour = await make_event(kind="tour", title="Stadtteilführung 2024", capacity=10,
                                sessions=[SessionSpec(datetime(2024, 9, 1, 10, tzinfo=timezone.utc),
                                                      datetime(2024, 9, 1, 12, tzinfo=timezone.utc))])
    await _person(old_tour, "Karla", email="karla@example.org")
    return organiser


def row(period, kind, events_, dates, registrations, confirmed, attended, rate, waited, languages, returning,
        districts):
    return {"period": period, "kind": kind, "events": events_, "dates": dates, "registrations": registrations,
            "confirmed_people": confirmed, "attended_people": attended, "attendance_rate": rate,
            "waited_unserved": waited, "languages": languages, "returning_people": returning,
            "new_people": registrations - returning, "districts": districts}


def fewer(name, invited=0):
    return district(name, None, invited)


def district(name, people, invited=0):
    """An entry of `districts`: None stands for a group of 1 to 4, shown as "fewer than 5"."""
    return {"district": name, "people": people, "fewer_than": 5 if people is None else None,
            "invited": invited, "invited_fewer_than": 5 if invited is None else None}


UNKNOWN = None
BY_QUARTER = [
    row("2025-Q1", "course", 1, 2, 4, 2, 2, 1.0, 2, {"ar": 2, "de": 1, "fa": 1}, 0, [fewer("Innenstadt")]),
    row("2025-Q2", "reception", 1, 1, 2, 3, 3, 1.0, 0, {"de": 1, "uk": 1}, 0,
        [district("Innenstadt", 0, None), fewer("Wieseck", 6), fewer(UNKNOWN, None)]),
    row("2025-Q2", "workshop", 1, 1, 2, 2, 1, 0.5, 0, {"de": 1, "tr": 1}, 0, [fewer("Innenstadt"), fewer(UNKNOWN)]),
    row("2025-Q3", "festival", 1, 1, 1, 1, 0, 0.0, 0, {"en": 1}, 0, [fewer(UNKNOWN)]),
    row("2025-Q4", "course", 1, 1, 1, 1, 0, 0.0, 0, {"de": 1}, 1, [fewer("Innenstadt")]),
]
BY_YEAR = [
    row("2025", "reception", 1, 1, 2, 3, 3, 1.0, 0, {"de": 1, "uk": 1}, 0,
        [district("Innenstadt", 0, None), fewer("Wieseck", 6), fewer(UNKNOWN, None)]),
    row("2025", "workshop", 1, 1, 2, 2, 1, 0.5, 0, {"de": 1, "tr": 1}, 0, [fewer("Innenstadt"), fewer(UNKNOWN)]),
    row("2025", "festival", 1, 1, 1, 1, 0, 0.0, 0, {"en": 1}, 0, [fewer(UNKNOWN)]),
    row("2025", "course", 2, 3, 5, 3, 2, 0.667, 2, {"ar": 2, "de": 2, "fa": 1}, 1,
        [district("Innenstadt", 5)]),
]


@both_databases
async def test_a_fixture_year_gives_the_hand_counted_figures_before_and_after_deletion(db, client, settings):
    await fixture_year()
    _, token = await make_user("organiser")
    auth = {"authorization": f"Bearer {token}"}
    quarters = await client.get(f"/api/v1/statistics?{YEAR}&by=quarter", headers=auth)
    years = await client.get(f"/api/v1/statistics?{YEAR}&by=year", headers=auth)
    assert quarters.status_code == 200 and quarters.json() == BY_QUARTER
    assert years.json() == BY_YEAR

    assert (await retention.purge(settings))["registration"] == 13
    await rights.erase(settings, rights.subject_from(email="amal@example.org"), by=None)
    assert (await client.get(f"/api/v1/statistics?{YEAR}&by=quarter", headers=auth)).json() == BY_QUARTER
    assert (await client.get(f"/api/v1/statistics?{YEAR}&by=year", headers=auth)).json() == BY_YEAR


async def test_downloads_carry_the_same_figures(db, client, tmp_path):
    await fixture_year()
    _, token = await make_user("admin")
    auth = {"authorization": f"Bearer {token}"}
    data = await client.get(f"/api/v1/statistics.csv?{YEAR}&by=year&lang=de", headers=auth)
    assert data.status_code == 200 and data.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(data.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][:5] == ["Zeitraum", "Art", "Veranstaltungen", "Durchgeführte Termine", "Anmeldungen"]
    assert lines[4][:11] == ["2025", "Kurs", "2", "3", "5", "3", "2", "67 %", "2", "1", "4"]
    book = load_workbook(io.BytesIO((await client.get(f"/api/v1/statistics.xlsx?{YEAR}&by=year",
                                                      headers=auth)).content))
    figures_sheet, districts_sheet = book.worksheets
    assert [c.value for c in figures_sheet[5]][:7] == ["2025", "Kurs", 2, 3, 5, 3, 2]
    district_rows = [[c.value for c in r] for r in districts_sheet.iter_rows()]
    assert district_rows[0] == ["Zeitraum", "Art", "Stadtteil", "Personen", "Eingeladen"]
    assert ["2025", "Kurs", "Innenstadt", 5, 0] in district_rows
    assert ["2025", "Empfang", "Wieseck", "weniger als 5", 6] in district_rows
    assert ["2025", "Empfang", "Innenstadt", 0, "weniger als 5"] in district_rows
    report = await client.get(f"/api/v1/statistics.pdf?{YEAR}&by=quarter&lang=de", headers=auth)
    text = pdf_text(report.content, tmp_path)
    assert "Statistik" in text and "2025-Q1" in text and "Innenstadt" in text
    invited = text[text.index("Wo die Eingeladenen wohnen"):]
    assert "Wieseck" in invited and "6" in invited and "weniger als 5" in invited


async def test_the_reports_charts_read_right_to_left_words_in_their_order(db, client, tmp_path):
    """The PDF's bars carry their labels as text laid out by the bidi algorithm: an Arabic kind or language
    name reads as written (SVG text in the PDF came out reversed, glyph by glyph: "لابقتسا لفح")."""
    await fixture_year()
    _, token = await make_user("admin")
    auth = {"authorization": f"Bearer {token}"}
    arabic = pdf_text((await client.get(f"/api/v1/statistics.pdf?{YEAR}&by=year&lang=ar", headers=auth)).content,
                      tmp_path)
    assert arabic.count("حفل استقبال") == 2 and "لابقتسا" not in arabic  # the figures' table and the chart
    german = pdf_text((await client.get(f"/api/v1/statistics.pdf?{YEAR}&by=year&lang=de", headers=auth)).content,
                      tmp_path)
    assert german.count("العربية") == 2 and german.count("Empfang") == 2  # the languages' chart and table


async def test_the_page_shows_charts_with_their_tables_in_every_language(db, client):
    await fixture_year()
    await sign_in(client, "organiser")
    page = await client.get(f"/admin/statistics?{YEAR}&by=year&lang=de")
    assert page.status_code == 200
    main = page.text[page.text.index("<main"):]
    assert main.count('<svg class="chart" role="img"') == 4 and "<script" not in main  # drawn on the server
    invited = main[main.index('id="invited-heading"'):]
    assert "Wo die Eingeladenen wohnen" in invited and "Wieseck" in invited and ">6<" in invited
    assert "Weniger als 5" in page.text or "weniger als 5" in page.text
    assert "/admin/statistics.xlsx?from=2025-01-01&amp;to=2025-12-31&amp;by=year" in page.text
    arabic = await client.get(f"/admin/statistics?{YEAR}&by=quarter&lang=ar")
    assert arabic.status_code == 200 and 'dir="rtl"' in arabic.text and "2025-Q4" in arabic.text
    bad = await client.get("/admin/statistics?from=2025-13-01&lang=en")
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text


@both_databases
async def test_the_office_edits_the_postcode_table(db, client):
    event = await make_event()
    person = (await registration.register(event_id=event.id, applicant=Applicant(
        name="Lena", email="lena@example.org", postcode="35398"))).registration
    reception = await make_event(kind="reception", audience="invitation", title="Empfang")
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(
        "Vorname;Nachname;Straße;PLZ;Ort\r\nMina;Rahimi;Am Hang 1;35398;Gießen\r\n"
        "Omid;Karimi;Am Hang 2;35398;Gießen\r\n".encode(), "liste.csv"))
    omid, mina = await Invitation.filter(event_id=reception.id).order_by("last_name")
    assert (omid.first_name, omid.district, mina.district) == ("Omid", "", "")  # the table is empty yet
    await Invitation.filter(id=omid.id).update(district="Lollar", postcode="", anonymised_at=datetime.now(timezone.utc))
    me = await sign_in(client, "organiser")
    page = await client.get("/admin/statistics/districts")
    assert page.status_code == 200 and 'name="districts"' in page.text
    refused = await client.post("/admin/statistics/districts", data={"districts": "35398\nAllendorf ohne PLZ",
                                                                     "csrf_token": me.csrf})
    assert refused.status_code == 422 and not await PostcodeDistrict.exists()
    saved = await client.post("/admin/statistics/districts", data={
        "districts": "35398 Allendorf/Lahn\n\n35390;Innenstadt", "csrf_token": me.csrf})
    assert saved.status_code == 303
    assert dict(await PostcodeDistrict.all().values_list("postcode", "district")) == {
        "35398": "Allendorf/Lahn", "35390": "Innenstadt"}
    assert (await registration.Registration.get(id=person.id)).district == "Allendorf/Lahn"
    assert (await Invitation.get(id=mina.id)).district == "Allendorf/Lahn"  # invitees too
    assert (await Invitation.get(id=omid.id)).district == "Lollar"  # anonymised: the published figure stays


@pytest.mark.parametrize("query, status", [
    ("from=2025-02-30", 422), ("by=month", 422), ("from=2025-05-01&to=2025-01-01", 422), ("", 200)])
async def test_statistics_api_rejects_bad_periods(db, client, query, status):
    _, token = await make_user("organiser")
    response = await client.get(f"/api/v1/statistics?{query}", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == status
    if status == 422:
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_statistics_are_for_organisers_and_admins_only(db, client):
    _, door = await make_user("door")
    assert (await client.get("/api/v1/statistics")).status_code == 401
    assert (await client.get("/api/v1/statistics", headers={"authorization": f"Bearer {door}"})).status_code == 403
    assert (await client.get("/api/v1/statistics.doc", headers={"authorization": f"Bearer {door}"})).status_code in (
        403, 404)
