"""Importing invitee lists (CSV in Windows-1252 or UTF-8 with BOM, XLSX), the preview, letters, door list."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook

from events_app.core import errors, jobs, pdf
from events_app.receptions import list_files, invitee_import, invitations, letters
from events_app.receptions.invitee_import import Action
from events_app.receptions.invitations import Reply
from events_app.core.models import AuditEntry, Invitation, InvitationState, OutboxMessage
from events_app.core.timeutil import utcnow
from events_app.core.wording import format_code, greeting
from tests.fixtures_receptions import make_reception, sample_bytes
from tests.fixtures_backoffice import sign_in, wait_for_job
from tests.helpers import both_databases, make_user

PROJECT = Path(__file__).resolve().parents[1]


def sample_text() -> str:
    return sample_bytes().decode("cp1252")


def as_xlsx(text: str) -> bytes:
    """The sample as Excel would save it: dates as date cells, postcodes as numbers."""
    table = list_files.read_csv(text.encode("utf-8"))
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(table.headers)
    for _, row in table.rows:
        cells: list = list(row)
        if cells[4]:
            cells[4] = datetime.strptime(cells[4], "%d.%m.%Y")
        cells[6] = int(cells[6])
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


async def test_sample_preview_finds_problems_and_duplicates_and_stores_nothing(reception):
    table = list_files.read_table(sample_bytes(), "einbuergerungen.csv")
    assert (table.encoding, table.delimiter, len(table.rows)) == ("cp1252", ";", 20)
    preview = await invitee_import.build_preview(event_id=reception.id, table=table)
    rows = {row.values["file_number"]: row for row in preview.rows}
    assert rows["EB-2026-0108"].values["email"] == ""
    assert "tesfay(at)example.org" in rows["EB-2026-0108"].problems[0].params["value"]
    assert rows["EB-2026-0117"].problems[0].field == "email"
    assert rows["EB-2026-0110"].action == Action.DUPLICATE and rows["EB-2026-0110"].duplicate_of == "10"
    assert rows["EB-2026-0109"].action == Action.CREATE
    # spouses at the same address are two people, not a duplicate
    assert rows["EB-2026-0102"].action == Action.CREATE
    assert rows["EB-2026-0111"].values["street"] == "Wetzlarer Weg 1; Hinterhaus"
    assert rows["EB-2026-0106"].values["last_name"] == "Müller-Öztürk"
    assert preview.summary()["create"] == 19
    assert await Invitation.all().count() == 0


async def test_import_stores_rows_and_reimport_creates_no_duplicates(reception):
    table = list_files.read_table(sample_bytes())
    result = await invitee_import.import_invitations(event_id=reception.id, table=table)
    assert (result.created, result.skipped) == (19, 1)
    stored = {i.file_number: i for i in await Invitation.all()}
    assert len(stored) == 19 and "EB-2026-0110" not in stored
    zahra = stored["EB-2026-0105"]
    assert (zahra.email, zahra.street, zahra.postcode, zahra.city) == ("", "Grünberger Straße 140", "35394", "Gießen")
    assert stored["EB-2026-0106"].birth_date == date(1976, 2, 29)
    assert stored["EB-2026-0106"].email == "JUERGEN.MUELLER@example.org"
    assert stored["EB-2026-0116"].birth_date is None
    assert all(i.max_companions == 2 and i.state == InvitationState.PENDING for i in stored.values())
    codes = [i.code for i in stored.values()]
    assert len(set(codes)) == 19 and all(re.fullmatch(r"[2-9A-HJKMNP-Z]{11}", c) for c in codes)
    assert len({i.token for i in stored.values()}) == 19
    assert invitations.CODE_BITS >= 50

    again = await invitee_import.import_invitations(event_id=reception.id, table=table)
    assert again.created == 0
    assert {row.action for row in again.preview.rows} == {Action.EXISTS}
    assert await Invitation.all().count() == 19


async def test_utf8_bom_comma_variant_with_line_breaks_reads_like_the_original(reception):
    original = list_files.read_table(sample_bytes())
    text = sample_text().replace(";", ",").replace('"Wetzlarer Weg 1, Hinterhaus"', '"Wetzlarer Weg 1; Hinterhaus"')
    text = text.replace("Ehefrau von EB-2026-0101", '"Ehefrau von\r\nEB-2026-0101, gleiche Adresse"')
    table = list_files.read_table(b"\xef\xbb\xbf" + text.encode("utf-8"), "liste.csv")
    assert (table.encoding, table.delimiter, len(table.rows)) == ("utf-8-sig", ",", 20)
    assert table.headers[0] == "Aktenzeichen"  # the BOM is not part of the first header
    preview = await invitee_import.build_preview(event_id=reception.id, table=table)
    by_file = {row.values["file_number"]: row for row in preview.rows}
    assert by_file["EB-2026-0102"].values["note"] == "Ehefrau von\nEB-2026-0101, gleiche Adresse"
    assert by_file["EB-2026-0111"].values["street"] == "Wetzlarer Weg 1; Hinterhaus"
    assert [r.values["last_name"] for r in preview.rows] == [cells[3] for _, cells in original.rows]
    assert preview.summary()["duplicate"] == 1
    # tab-separated works the same
    tabbed = list_files.read_table(sample_text().replace(";", "\t").encode("utf-8"))
    assert tabbed.delimiter == "\t" and len(tabbed.rows) == 20


async def test_xlsx_variant_imports_the_same_people(reception):
    table = list_files.read_table(as_xlsx(sample_text()), "liste.xlsx")
    assert table.kind == "xlsx" and len(table.rows) == 20
    result = await invitee_import.import_invitations(event_id=reception.id, table=table)
    assert result.created == 19
    mehmet = await Invitation.get(file_number="EB-2026-0101")
    assert (mehmet.birth_date, mehmet.postcode) == (date(1979, 4, 3), "35390")
    # the CSV of the same list afterwards adds nobody
    csv_again = await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(sample_bytes()))
    assert csv_again.created == 0


async def test_same_person_under_a_new_file_number_is_recognised(reception):
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(sample_bytes()))
    text = ("Aktenzeichen;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;E-Mail\r\n"
            "EB-2026-9999;Rania;Al-Hassan;01.01.1990;Liebigstr. 5;35392;Gießen;\r\n"
            "EB-2026-0104;Oleksandr;Kovalenko;12.12.1985;Frankfurter Str. 88;35392;Gießen;\r\n"
            "EB-2026-0200;Neu;Person;01.01.2000;Weg 1;35390;Gießen;\r\n")
    preview = await invitee_import.build_preview(event_id=reception.id, table=list_files.read_table(text.encode("cp1252")))
    assert [row.action for row in preview.rows] == [Action.EXISTS, Action.EXISTS, Action.CREATE]


async def test_unreachable_and_nameless_rows_and_the_organisers_choice(reception):
    text = ("Nachname;Vorname;E-Mail;Straße;PLZ;Ort\r\n"
            "Karimi;Hamid;;;;\r\n"          # neither mail nor address
            ";Ohne;x@example.org;;;\r\n"     # no last name
            "Demir;Fatma;fatma@example.org;;;\r\n")  # mail but no address: warned, imported
    table = list_files.read_table(text.encode("utf-8"))
    preview = await invitee_import.build_preview(event_id=reception.id, table=table)
    assert [row.action for row in preview.rows] == [Action.UNREACHABLE, Action.INVALID, Action.CREATE]
    assert preview.rows[2].problems[0].field == "street"
    # the organiser insists on the unreachable row (they will phone)
    result = await invitee_import.import_invitations(event_id=reception.id, table=table, accept_lines={2, 4})
    assert result.created == 2
    assert sorted(await Invitation.all().values_list("last_name", flat=True)) == ["Demir", "Karimi"]


async def test_broken_files_and_refused_rows_leave_nothing_behind(reception):
    table = list_files.read_table(("Nachname;Vorname\r\n" + "".join(f"Name{i};V{i}\r\n" for i in range(50))
                                  + ";ohne Nachname\r\n").encode("utf-8"))
    with pytest.raises(errors.ValidationFailed):
        every_line = {row.line for row in invitee_import._preview(
            table, invitee_import.guess_mapping(table.headers), ({}, {})).rows}
        await invitee_import.import_invitations(event_id=reception.id, table=table, accept_lines=every_line)
    assert await Invitation.all().count() == 0
    for broken in (b"", b"PK\x03\x04 not really a workbook", b'Nachname;Vorname\r\n"offen;nie geschlossen\r\n',
                   "Nur eine Spalte\r\nA\r\n".encode()):
        with pytest.raises(errors.UnreadableFile):
            list_files.read_table(broken)
    truncated = as_xlsx(sample_text())[:2000]
    with pytest.raises(errors.UnreadableFile):
        list_files.read_table(truncated, "liste.xlsx")
    # an import for an event that is not by invitation is refused
    public = await make_reception(audience="public")
    with pytest.raises(errors.ValidationFailed):
        await invitee_import.import_invitations(event_id=public.id, table=list_files.read_table(sample_bytes()))
    assert await Invitation.all().count() == 0


async def test_organiser_corrects_the_column_mapping(reception):
    text = "Familienname;Rufname;Wohnanschrift;Postleitzahl;Ort\r\nYilmaz;Mehmet;Marburger Str. 12;35390;Gießen\r\n"
    table = list_files.read_table(text.encode("cp1252"))
    guessed = invitee_import.guess_mapping(table.headers)
    assert guessed["first_name"] is None and guessed["street"] is None
    mapping = invitee_import.mapping_from_choices(table.headers, {"first_name": "1", "street": "2"})
    result = await invitee_import.import_invitations(event_id=reception.id, table=table, mapping=mapping)
    stored = await Invitation.get()
    assert result.created == 1 and (stored.first_name, stored.street) == ("Mehmet", "Marburger Str. 12")
    no_name = invitee_import.mapping_from_choices(table.headers, {"last_name": ""})
    with pytest.raises(errors.ValidationFailed):
        await invitee_import.import_invitations(event_id=reception.id, table=table, mapping=no_name)


async def test_cli_previews_without_yes_and_stores_with_it(reception, db, tmp_path):
    sample = tmp_path / "liste.csv"
    sample.write_bytes(sample_bytes())
    env = {**os.environ, "EVENTS_DATABASE_URL": db, "EVENTS_VAR_DIR": str(tmp_path / "var")}
    command = [sys.executable, "-m", "events_app.cli", "import-invitations", str(reception.id), str(sample)]
    dry = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "duplicate" in dry.stdout and "tesfay(at)example.org" in dry.stdout
    assert await Invitation.all().count() == 0
    stored = subprocess.run(command + ["--yes"], env=env, cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert stored.returncode == 0, stored.stderr
    assert "imported: 19" in stored.stdout
    assert await Invitation.all().count() == 19
    missing = subprocess.run(command[:-1] + [str(tmp_path / "nope.csv")], env=env, cwd=PROJECT,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1


async def test_back_office_upload_preview_and_import(client, reception):
    url = f"/admin/events/{reception.id}/invitations"
    anonymous = await client.get(url)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/admin/login")
    me = await sign_in(client)
    csrf = {"csrf_token": me.csrf}
    upload = await client.post(f"{url}/preview", files={"file": ("liste.csv", sample_bytes(), "text/csv")},
                               data=csrf)
    assert upload.status_code == 200
    assert "tesfay(at)example.org" in upload.text and "k.nowak@example" in upload.text
    assert "cp1252" in upload.text
    assert await Invitation.all().count() == 0
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', upload.text).group(1)
    ticked = re.findall(r'name="accept" value="(\d+)"[^>]*checked', upload.text)
    assert len(ticked) == 19
    form = {"upload_id": upload_id, "accept": [t for t in ticked if t != "20"], **csrf}  # leaves out row 20
    imported = await client.post(f"{url}/import", data=form)
    assert imported.status_code == 303
    assert await Invitation.all().count() == 18
    audit = await AuditEntry.get(action="invitations.import")
    assert audit.user_id is not None and audit.detail["created"] == 18 and audit.detail["source"] == "liste.csv"
    page = await client.get(url)
    assert page.status_code == 200 and "Yilmaz" in page.text
    bad = await client.post(f"{url}/preview", files={"file": ("x.xlsx", b"PK\x03\x04junk", "application/zip")},
                            data=csrf)
    assert bad.status_code == 422
    expired = await client.post(f"{url}/import", data={"upload_id": upload_id, **csrf})
    assert expired.status_code == 422  # the upload is gone after the import
    letter = await client.post(f"{url}/letter", data={"sender": "Stadt", "subject": "Einladung", "body": "",
                                                       "signature": "", **csrf})
    assert letter.status_code == 422


async def test_letters_pdf_has_every_code_once_and_the_address_block(reception, settings, tmp_path):
    me, _ = await make_user()
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(sample_bytes()))
    await invitations.save_letter(event_id=reception.id, sender="Universitätsstadt Gießen · Berliner Platz 1",
                                  subject="Einladung zum Einbürgerungsempfang",
                                  body="Wir laden Sie ein: {event_title}.\n\nBitte antworten Sie bis {deadline}.",
                                  closing="Mit freundlichen Grüßen")
    people = await Invitation.all()
    text = pdf_text(await letters.letters_pdf(event_id=reception.id, settings=settings, by=me, everyone=True),
                    tmp_path)
    compact = text.replace(" ", "")
    for person in people:
        assert compact.count(format_code(person.code)) == 1, person.code
    assert text.count("\f") >= len(people) - 1  # a page per invitee
    assert "Marburger Straße 12" in text and "35390 Gießen" in text
    assert "Sehr geehrte Frau Ahmadi," in text and "Guten Tag Sam Nguyen," in text
    assert "Wir laden Sie ein: Einbürgerungsempfang 2026." in text
    assert f"{settings.base_url}/rsvp" in text
    only_letters = pdf_text(await letters.letters_pdf(event_id=reception.id, settings=settings, by=me), tmp_path)
    without_mail = [p for p in people if not p.email]
    assert len(without_mail) == 6
    assert sum(only_letters.replace(" ", "").count(format_code(p.code)) for p in people) == 6
    downloads = await AuditEntry.filter(action="export.downloaded", event_id=reception.id).order_by("id")
    assert [(d.user_id, d.detail) for d in downloads] == [
        (me.id, {"format": "pdf", "layout": "letters", "everyone": True, "letters": 19}),
        (me.id, {"format": "pdf", "layout": "letters", "everyone": False, "letters": 6})]


async def test_letters_laid_out_in_parts_are_one_pdf_in_order_and_tell_their_progress(reception, tmp_path,
                                                                                        settings, monkeypatch):
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(sample_bytes()))
    parts, count = await letters.letters_html(event_id=reception.id, settings=settings, everyone=True, per_part=5)
    assert (len(parts), count) == (4, 19)
    monkeypatch.setattr(pdf, "PROGRESS_INTERVAL", 0.01)
    reports: list[tuple[int, int]] = []
    content = await pdf.render_pdf_parts(parts, progress=lambda done, total: reports.append((done, total)))
    text = pdf_text(content, tmp_path)
    assert text.count("\f") >= 18  # a page per letter
    compact = text.replace(" ", "")
    people = await invitations.list_invitations(reception.id)  # the letters' order
    positions = [compact.index(format_code(p.code)) for p in people]
    assert positions == sorted(positions)
    assert all(compact.count(format_code(p.code)) == 1 for p in people)
    assert reports == sorted(reports) and reports[-1] == (4, 4)
    assert len(set(reports)) >= 2  # seen while running, not only at the end


async def test_mails_reminders_counts_and_door_list(reception, settings, tmp_path):
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(sample_bytes()))
    assert await invitations.send_invitation_mails(event_id=reception.id) == 13
    assert await invitations.send_invitation_mails(event_id=reception.id) == 0  # not twice
    mails = await OutboxMessage.filter(template="invitation")
    assert len(mails) == 13 and all(set(m.context) == {"invitation_id", "event_id"} for m in mails)
    by_file = {i.file_number: i for i in await Invitation.all()}
    await invitations.answer(invitation_id=by_file["EB-2026-0101"].id, reply=Reply(accept=True, companions=2))
    await invitations.answer(invitation_id=by_file["EB-2026-0105"].id, reply=Reply(accept=True, companions=1))
    await invitations.answer(invitation_id=by_file["EB-2026-0103"].id, reply=Reply(accept=False))
    reminders = await invitations.send_reminders(event_id=reception.id)
    assert reminders.mailed == 11  # 13 with mail, minus Yilmaz and Al-Hassan who answered
    # pending and without a usable address: Ayşe Yilmaz (her husband answered), and four more
    assert {c.invitation.file_number for c in reminders.to_contact} == {
        "EB-2026-0102", "EB-2026-0108", "EB-2026-0113", "EB-2026-0117", "EB-2026-0119"}
    assert (await invitations.send_reminders(event_id=reception.id)).mailed == 0  # not again the same week
    counts = await invitations.counts(reception.id)
    assert (counts["invited"], counts["answered"], counts["accepted"], counts["accepted_persons"],
            counts["declined"], counts["pending"]) == (19, 3, 2, 5, 1, 16)
    assert greeting(by_file["EB-2026-0101"]) == "Sehr geehrter Herr Yilmaz,"
    me, _ = await make_user()
    text = pdf_text(await letters.door_list_pdf(event_id=reception.id, settings=settings, by=me), tmp_path)
    assert text.index("Ahmadi") < text.index("Yilmaz")
    assert "Al-Hassan" not in text
    assert re.search(r"Yilmaz\s+Mehmet\s+EB-2026-0101\s+2\s+3", text)
    entry = await AuditEntry.get(action="export.downloaded", event_id=reception.id)
    assert (entry.user_id, entry.detail) == (me.id, {"format": "pdf", "layout": "reception_door", "guests": 2})


async def test_letters_job_shows_progress_then_offers_the_pdf(client, reception, settings, tmp_path, monkeypatch):
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(sample_bytes()))
    monkeypatch.setattr(letters, "LETTERS_PER_PART", 2)  # the six letters in three parts
    base = f"/admin/events/{reception.id}/invitations/letters"
    assert (await client.post(base)).headers["location"].startswith("/admin/login")
    me = await sign_in(client)
    asked = await client.post(base, data={"csrf_token": me.csrf})  # first the plan and the preview, nothing made
    assert asked.status_code == 200 and "6 Briefe erstellen" in asked.text
    assert f"{base}/preview.pdf" in asked.text and not await AuditEntry.exists(action="export.downloaded")
    started = await client.post(base, data={"csrf_token": me.csrf, "confirm": "1"})
    assert started.status_code == 303
    progress_url = started.headers["location"]
    page = await wait_for_job(client, progress_url)
    assert "6 Briefe sind fertig." in page.text
    status = jobs.status(settings, kind="letters", event_id=reception.id, job_id=progress_url.rsplit("/", 1)[1])
    assert (status["state"], status["total"], status["done"]) == ("done", 6, 6)
    download = re.search(r'href="([^"]+\.pdf)"', page.text).group(1)
    content = await client.get(download)
    assert content.status_code == 200 and content.headers["content-type"] == "application/pdf"
    text = pdf_text(content.content, tmp_path).replace(" ", "")
    without_mail = await Invitation.filter(email="")
    assert all(text.count(format_code(p.code)) == 1 for p in without_mail)
    entry = await AuditEntry.get(action="export.downloaded")
    assert (entry.user_id, entry.detail) == (me.user.id, {"format": "pdf", "layout": "letters", "everyone": False,
                                                          "letters": 6})
    assert (await client.get(f"{base}/unknownjob0123456789")).status_code == 404
    other = await make_reception()
    assert (await client.get(f"/admin/events/{other.id}/invitations/letters/{progress_url.rsplit('/', 1)[1]}"
                             )).status_code == 404


async def test_letters_job_page_counts_the_letters_and_a_job_that_fell_silent_fails_with_a_retry(
        client, reception, settings):
    me = await sign_in(client)
    base = f"/admin/events/{reception.id}/invitations/letters"
    now = utcnow()
    running = {"event_id": reception.id, "everyone": True, "state": "rendering", "total": 300, "done": 75,
               "started": (now - timedelta(minutes=1)).isoformat(), "updated": now.isoformat()}
    jobs.write_status(settings, "letters", "running0123456789abc", running)
    page = await client.get(f"{base}/running0123456789abc")
    assert "Schritt 2 von 2: 75 von 300 Briefen gesetzt" in page.text
    assert '<progress max="300" value="75"' in page.text and 'http-equiv="refresh"' in page.text

    # its server process ended (a restart) and nobody writes the status any more
    silent = {**running, "state": "preparing", "total": None, "done": 0,
              "updated": (now - jobs.STALE_AFTER - timedelta(seconds=1)).isoformat()}
    jobs.write_status(settings, "letters", "silent0123456789abcd", silent)
    page = await client.get(f"{base}/silent0123456789abcd")
    assert 'http-equiv="refresh"' not in page.text and "unterbrochen" in page.text
    assert jobs.status(settings, kind="letters", event_id=reception.id, job_id="silent0123456789abcd")["state"] == "failed"
    retry = re.search(r'<form method="post" action="([^"]+)">.*?name="everyone" value="1".*?Noch einmal versuchen',
                      page.text, re.S)
    assert retry and retry.group(1) == base
    again = await client.post(base, data={"csrf_token": me.csrf, "everyone": "1", "confirm": "1"})
    assert again.status_code == 303 and not again.headers["location"].endswith("silent0123456789abcd")
    page = await wait_for_job(client, again.headers["location"])
    assert "0 Briefe sind fertig." in page.text  # nobody is invited yet
    # a job that failed for another reason offers the retry too, without the "interrupted" note
    jobs.write_status(settings, "letters", "failed0123456789abcd", {**running, "state": "failed", "everyone": False})
    page = await client.get(f"{base}/failed0123456789abcd")
    assert "konnten nicht erstellt werden" in page.text and "unterbrochen" not in page.text
    assert 'name="everyone"' not in page.text and "Noch einmal versuchen" in page.text
    assert (await client.get(f"{base}/failed0123456789abcd.pdf")).status_code == 404


async def test_title_row_excel_sep_hint_and_lost_leading_zeros(reception):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Einbürgerungen 1. Halbjahr 2026"])
    sheet.append([])
    sheet.append(["Nachname", "Vorname", "Straße", "PLZ", "Ort", "Geburtsdatum"])
    sheet.append(["Schmidt", "Anna", "Prager Straße 1", 1067, "Dresden", datetime(1990, 5, 17)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = list_files.read_table(buffer.getvalue(), "liste.xlsx")
    preview = await invitee_import.build_preview(event_id=reception.id, table=table)
    row = preview.rows[0]
    assert (row.line, row.values["postcode"], row.values["birth_date"]) == (4, "01067", date(1990, 5, 17))
    assert row.action == Action.CREATE
    hinted = list_files.read_table(b"sep=,\r\nNachname,Vorname\r\nSchmidt,Anna\r\n")
    assert (hinted.delimiter, hinted.headers, hinted.rows[0][1]) == (",", ["Nachname", "Vorname"], ["Schmidt", "Anna"])


@both_databases
async def test_two_imports_of_the_same_list_at_once_invite_each_person_once(db):
    event = await make_reception()
    table = list_files.read_table(sample_bytes())
    results = await asyncio.gather(*(invitee_import.import_invitations(event_id=event.id, table=table) for _ in range(3)))
    assert sorted(r.created for r in results) == [0, 0, 19]
    assert await Invitation.filter(event_id=event.id).count() == 19


async def test_lists_sort_the_german_way(reception):
    text = "Nachname;Vorname;E-Mail\r\nZimmer;Uwe;u@example.org\r\nÖztürk;Ali;a@example.org\r\nober;Eva;e@example.org\r\n"
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(text.encode("cp1252")))
    assert [i.last_name for i in await invitations.list_invitations(reception.id)] == ["ober", "Öztürk", "Zimmer"]


async def test_back_office_imports_a_list_of_three_hundred(client, reception):
    me = await sign_in(client)
    lines = ["Aktenzeichen;Vorname;Nachname;Straße;PLZ;Ort;E-Mail"]
    lines += [f"EB-{n:04d};Vorname{n};Nachname{n};Weg {n};35390;Gießen;" for n in range(300)]
    data = "\r\n".join(lines).encode("cp1252")
    url = f"/admin/events/{reception.id}/invitations"
    preview = await client.post(f"{url}/preview", files={"file": ("liste.csv", data, "text/csv")},
                                data={"csrf_token": me.csrf})
    assert preview.status_code == 200
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', preview.text).group(1)
    ticked = re.findall(r'name="accept" value="(\d+)"[^>]*checked', preview.text)
    imported = await client.post(f"{url}/import", data={"upload_id": upload_id, "accept": ticked,
                                                        "csrf_token": me.csrf})
    assert imported.status_code == 303
    assert await Invitation.filter(event_id=reception.id).count() == 300
