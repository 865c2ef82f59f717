"""Exports opened back the way organisers open them: csv with Excel's dialect and ';', openpyxl, pdftotext."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from events_app.seats.events import SessionSpec
from events_app.backoffice.exports import neutralise
from events_app.core.models import AuditEntry, Question, Registration
from events_app.seats.registration import Applicant, register
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, in_days, make_event


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "German Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(content[3:].decode("utf-8")), dialect="excel", delimiter=";"))


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


async def _festival():
    event = await make_event(title="Global Village", capacity=3, max_companions=2)
    await Question.create(event=event, key="organisation", label="Organisation / Verein", kind="text", position=0)
    await Question.create(event=event, key="power", label="Strom", kind="yesno", position=1)
    people = [("Ayşe Yılmaz", "ayse@example.org", 1, {"organisation": "Türkischer Elternverein", "power": True}),
              ("Bogdan Kowalenko", "bogdan@example.org", 0, {"organisation": "=HYPERLINK(\"http://evil\")"}),
              ("Chiara Rossi", "chiara@example.org", 0, {"organisation": "Circolo Italiano", "power": False})]
    for name, email, companions, answers in people:
        await register(event_id=event.id, applicant=Applicant(name=name, email=email, companions=companions,
                                                              answers=answers))
    return event


@both_databases
async def test_csv_for_german_excel_with_chosen_columns(client, db):
    me = await sign_in(client, "organiser")
    event = await _festival()
    response = await client.get(f"/admin/events/{event.id}/export.csv",
                                params={"layout": "attendees", "include": "waiting",
                                        "columns": ["name", "q_organisation", "status", "q_power"]})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = read_csv(response.content)
    assert rows[0] == ["Name", "Organisation / Verein", "Status", "Strom"]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"Ayşe Yılmaz", "Bogdan Kowalenko", "Chiara Rossi"}
    assert by_name["Ayşe Yılmaz"][1:] == ["Türkischer Elternverein", "Bestätigt", "Ja"] or \
        by_name["Ayşe Yılmaz"][1:] == ["Türkischer Elternverein", "Confirmed", "Yes"]
    assert by_name["Bogdan Kowalenko"][1].startswith("'=")  # never run as a formula
    assert by_name["Chiara Rossi"][2] in ("Warteliste", "Waiting list")
    assert "ayse@example.org" not in response.text
    entry = await AuditEntry.get(action="export.downloaded")
    assert entry.detail["format"] == "csv" and entry.user_id == me.user.id


@pytest.mark.parametrize("value, written", [
    ("+49 176 12345678", "+49 176 12345678"),
    ("+49 (0)641 306-1234", "+49 (0)641 306-1234"),
    ("-0641/306 1234", "-0641/306 1234"),
    ("+SUM(A1)", "'+SUM(A1)"),
    ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("+49 176 1234\n=1+1", "'+49 176 1234\n=1+1"),
    ("+1", "'+1"),
    ("Ayşe", "Ayşe"),
])
def test_formulas_are_neutralised_but_phone_numbers_stay_as_typed(value, written):
    assert neutralise(value) == written


async def test_csv_keeps_phone_numbers_and_neutralises_formulas_in_the_same_list(client, db):
    await sign_in(client, "organiser")
    event = await make_event(title="Global Village", phone_allowed=True)
    await Question.create(event=event, key="stand", label="Stand", kind="text", position=0)
    await register(event_id=event.id, applicant=Applicant(name="Olena Shevchenko", phone="+49 176 12345678",
                                                          answers={"stand": "+SUM(A1)"}))
    await register(event_id=event.id, applicant=Applicant(name="Hamid Karimi", phone="+49 (0)641 306-1234",
                                                          answers={"stand": "=HYPERLINK(\"http://evil\")"}))
    response = await client.get(f"/admin/events/{event.id}/export.csv", params={"columns": ["name", "phone", "q_stand"]})
    rows = read_csv(response.content)
    assert rows[1:] == [["Hamid Karimi", "+49 (0)641 306-1234", "'=HYPERLINK(\"http://evil\")"],
                        ["Olena Shevchenko", "+49 176 12345678", "'+SUM(A1)"]]


async def test_door_list_counts_companions(client, db):
    await sign_in(client, "organiser")
    event = await _festival()
    response = await client.get(f"/admin/events/{event.id}/export.csv", params={"layout": "door", "columns": "name"})
    rows = read_csv(response.content)
    assert len(rows[0]) == 3 and rows[0][0] == "Name"
    # the confirmed ones, Ayşe with her companion; Chiara waits
    assert [(r[0], r[1]) for r in rows[1:]] == [("Ayşe Yılmaz", "2"), ("Bogdan Kowalenko", "1")]
    pdf = await client.get(f"/admin/events/{event.id}/export.pdf", params={"layout": "door", "columns": "name"})
    text = pdf_text(pdf.content)
    assert "Ayşe Yılmaz" in text and "Chiara" not in text
    assert "2" in text.split("Ayşe Yılmaz")[1].splitlines()[0]
    assert "3" in text.split("Bogdan")[1]  # the total of persons expected


async def test_xlsx_has_a_sheet_per_status_with_filters_and_widths(client, db):
    await sign_in(client, "organiser")
    event = await _festival()
    only_confirmed = load_workbook(io.BytesIO((await client.get(f"/admin/events/{event.id}/export.xlsx")).content))
    assert len(only_confirmed.sheetnames) == 1  # the default: people with a seat, nobody else
    response = await client.get(f"/admin/events/{event.id}/export.xlsx",
                                params={"columns": ["name", "email", "companions", "q_organisation"],
                                        "include": "waiting"})
    workbook = load_workbook(io.BytesIO(response.content))
    titles = workbook.sheetnames
    assert len(titles) == 3  # confirmed, offered, waiting
    confirmed, offered, waiting = (workbook[t] for t in titles)
    header = [c.value for c in confirmed[1]]
    # with others on the list, the status column comes after the name even though it was not ticked
    assert header[:4] == ["Name", "Status", "E-Mail-Adresse", "Begleitpersonen"]
    assert header[4] == "Organisation / Verein"
    assert confirmed.auto_filter.ref == "A1:E3"
    assert confirmed.column_dimensions["C"].width >= len("bogdan@example.org")
    assert [row[0] for row in confirmed.iter_rows(min_row=2, values_only=True)] == ["Ayşe Yılmaz", "Bogdan Kowalenko"]
    assert confirmed.cell(row=3, column=5).data_type == "s"  # the formula-looking answer stays text
    assert offered.max_row == 1
    assert [row[0] for row in waiting.iter_rows(min_row=2, values_only=True)] == ["Chiara Rossi"]


async def test_signature_list_has_a_column_per_course_date(client, db):
    await sign_in(client, "organiser")
    sessions = [SessionSpec(in_days(7 * week + 3), in_days(7 * week + 3) + timedelta(hours=1, minutes=30))
                for week in range(3)]
    event = await make_event(title="Schwimmkurs", kind="course", capacity=5, sessions=sessions)
    for name in ("Maryam Ahmadi", "Olena Shevchenko"):
        await register(event_id=event.id, applicant=Applicant(name=name, email=f"{name.split()[0]}@example.org"))
    response = await client.get(f"/admin/events/{event.id}/export.pdf", params={"layout": "signatures", "columns": "name"})
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    from events_app.core.i18n import Formatter

    fmt = Formatter("de")
    header_line = next(line for line in text.splitlines() if "Name" in line and fmt.date(sessions[0].starts_at) in line)
    for spec in sessions:
        assert fmt.date(spec.starts_at) in header_line
    assert "Maryam Ahmadi" in text and "Olena Shevchenko" in text
    csv_rows = read_csv((await client.get(f"/admin/events/{event.id}/export.csv",
                                          params={"layout": "signatures", "columns": "name"})).content)
    assert len(csv_rows[0]) == 4 and csv_rows[1][1:] == ["", "", ""]


async def test_women_only_exports_carry_only_the_chosen_columns(client, db):
    await sign_in(client, "organiser")
    event = await make_event(title="Schwimmkurs für Frauen", audience="women", phone_allowed=True, capacity=5)
    await register(event_id=event.id, applicant=Applicant(name="Maryam Ahmadi", phone="0641 555 123",
                                                          email="maryam@example.org", answers={"childcare": True}))
    default = await client.get(f"/admin/events/{event.id}/export.csv")
    rows = read_csv(default.content)
    assert rows == [["Name"], ["Maryam Ahmadi"]]
    chosen = read_csv((await client.get(f"/admin/events/{event.id}/export.csv",
                                        params={"columns": ["name", "phone", "nonsense"]})).content)
    assert chosen == [["Name", "Telefon"], ["Maryam Ahmadi", "0641 555 123"]] or \
        chosen == [["Name", "Phone"], ["Maryam Ahmadi", "0641 555 123"]]
    pdf = pdf_text((await client.get(f"/admin/events/{event.id}/export.pdf")).content)
    assert "Maryam Ahmadi" in pdf and "0641" not in pdf and "maryam@example.org" not in pdf
    workbook = load_workbook(io.BytesIO((await client.get(f"/admin/events/{event.id}/export.xlsx")).content))
    cells = [c for ws in workbook for row in ws.iter_rows(values_only=True) for c in row]
    assert "maryam@example.org" not in cells and "0641 555 123" not in cells


async def test_api_export_with_a_token(client, db):
    event = await _festival()
    from tests.helpers import make_user

    _, token = await make_user("organiser")
    response = await client.get(f"/api/v1/events/{event.id}/export.csv?layout=attendees&columns=name,email",
                                headers={"authorization": f"Bearer {token}"})
    rows = read_csv(response.content)
    assert rows[0][1] in ("E-Mail-Adresse", "E-mail address")
    assert {r[1] for r in rows[1:]} == {"ayse@example.org", "bogdan@example.org"}  # confirmed only by default
    everyone = read_csv((await client.get(f"/api/v1/events/{event.id}/export.csv?columns=name,email&include=waiting",
                                          headers={"authorization": f"Bearer {token}"})).content)
    assert everyone[0][:2] == ["Name", "Status"]  # a list with others always says who is who
    assert {r[2] for r in everyone[1:]} == {"ayse@example.org", "bogdan@example.org", "chiara@example.org"}
    assert (await client.get(f"/api/v1/events/{event.id}/export.csv?include=nobody",
                             headers={"authorization": f"Bearer {token}"})).status_code == 422
    assert (await client.get("/api/v1/events/999/export.csv", headers={"authorization": f"Bearer {token}"})).status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_two_thousand_registrations_export_complete(client, db, fmt):
    await sign_in(client, "organiser")
    event = await make_event(title="Einbürgerungsempfang", capacity=2000)
    from events_app.seats.registration import new_token
    from events_app.core.timeutil import utcnow

    now = utcnow()
    await Registration.bulk_create([
        Registration(event_id=event.id, name=f"Person {i:04d}", email=f"p{i}@example.org", status="confirmed",
                     queued_at=now, manage_token=new_token(), checkin_token=new_token())
        for i in range(2000)])
    response = await client.get(f"/admin/events/{event.id}/export.{fmt}", params={"columns": ["name", "email"]})
    if fmt == "csv":
        rows = read_csv(response.content)
    else:
        rows = list(load_workbook(io.BytesIO(response.content)).worksheets[0].iter_rows(values_only=True))
    names = [row[0] for row in rows[1:]]
    assert len(names) == 2000 and names[0] == "Person 0000" and names[-1] == "Person 1999"
    assert len(set(names)) == 2000


async def test_every_format_sorts_names_alike_ignoring_case_and_accents(client, db):
    await sign_in(client, "organiser")
    event = await make_event(capacity=10)
    for name in ("zeynep Kaya", "Ana Lima", "Émile Roux", "bora Demir"):
        await register(event_id=event.id, applicant=Applicant(name=name, email=f"{len(name)}{name[:2]}@example.org"))
    csv_names = [r[0] for r in read_csv((await client.get(f"/admin/events/{event.id}/export.csv",
                                                          params={"layout": "door", "columns": "name"})).content)[1:]]
    workbook = load_workbook(io.BytesIO((await client.get(f"/admin/events/{event.id}/export.xlsx",
                                                          params={"layout": "door", "columns": "name"})).content))
    xlsx_names = [row[0] for row in workbook.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert csv_names == xlsx_names == ["Ana Lima", "bora Demir", "Émile Roux", "zeynep Kaya"]
