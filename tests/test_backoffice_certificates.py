"""Back office: certificates per event (issue, revoke, bulk download) and the private calendar address."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import icalendar
import pytest
import segno

from events_app.courses import attendance, certificates
from events_app.core import jobs, pdf
from events_app.seats import registration
from events_app.seats.events import SessionSpec
from events_app.core.models import AuditEntry, Certificate, CertificateTemplate, EventSession, OutboxMessage
from events_app.seats.registration import Applicant
from events_app.core.timeutil import utcnow
from tests.fixtures_backoffice import sign_in, wait_for_job
from tests.fixtures_courses import pdf_text
from tests.helpers import in_days, make_event


async def _course_with_attendance():
    dates = [SessionSpec(in_days(-30 + 7 * week), in_days(-30 + 7 * week) + timedelta(hours=1)) for week in range(4)]
    course = await make_event(kind="course", title="Schwimmkurs Herbst", sessions=dates, certificate_min_attendance=75)
    sessions = await EventSession.filter(event_id=course.id).order_by("starts_at")
    people = {}
    for name, attended in (("Amina Yusuf", 3), ("Olena Shevchenko", 2)):
        outcome = await registration.register(event_id=course.id, applicant=Applicant(
            name=name, email=f"{name.split()[0].lower()}@example.org"))
        for session in sessions[:attended]:
            await attendance.record(registration_id=outcome.registration.id, session_id=session.id, present=True)
        people[name] = outcome.registration
    return course, people


async def test_organiser_issues_all_eligible_then_revokes_one(client, db, tmp_path):
    course, people = await _course_with_attendance()
    me = await sign_in(client)
    page = await client.get(f"/admin/events/{course.id}/certificates")
    assert page.status_code == 200 and "Amina Yusuf" in page.text and "Olena Shevchenko" in page.text
    issued = await client.post(f"/admin/events/{course.id}/certificates/issue",
                               data={"csrf_token": me.csrf, "send_mail": "yes"})
    assert issued.status_code == 303
    [certificate] = await Certificate.all()
    assert certificate.registration_id == people["Amina Yusuf"].id  # 3 of 4 = 75 %; 2 of 4 is not enough
    assert await OutboxMessage.filter(template="certificate", registration_id=certificate.registration_id).count() == 1
    [issuing] = await AuditEntry.filter(action="certificates.issued")
    assert issuing.user_id == me.user.id and issuing.detail["serials"] == [certificate.serial]
    pdf = await client.get(f"/admin/events/{course.id}/certificates.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content, tmp_path)
    assert "Amina Yusuf" in text and certificate.serial in text and "Olena" not in text
    no_reason = await client.post(f"/admin/events/{course.id}/certificates/revoke",
                                  data={"csrf_token": me.csrf, "serial": certificate.serial, "reason": "  "},
                                  headers={"accept-language": "en"})
    assert no_reason.status_code == 422
    assert 'id="e-reason"' in no_reason.text and "Please give a reason for revoking the certificate." in no_reason.text
    assert (await Certificate.get(id=certificate.id)).revoked_at is None
    revoked = await client.post(f"/admin/events/{course.id}/certificates/revoke",
                                data={"csrf_token": me.csrf, "serial": certificate.serial,
                                      "reason": "Name falsch geschrieben"})
    assert revoked.status_code == 303
    stored = await Certificate.get(id=certificate.id)
    assert stored.revoked_at is not None and stored.revoked_reason == "Name falsch geschrieben"
    entry = await AuditEntry.get(action="certificate.revoked")
    assert entry.user_id == me.user.id and entry.detail["reason"] == "Name falsch geschrieben"
    page = await client.get(f"/admin/events/{course.id}/certificates")
    assert "Name falsch geschrieben" in page.text  # the organisers see why
    verification = await client.get(f"/certificates/{certificate.serial}")
    assert verification.status_code == 200 and re.search("widerrufen|revoked", verification.text, re.I)
    assert "Name falsch geschrieben" not in verification.text  # the public does not
    assert (await client.get(f"/admin/events/{course.id}/certificates.txt")).status_code == 404


async def test_private_calendar_address_works_until_switched_off(client, db):
    await make_event(title="Nur intern sichtbar", visibility="unlisted")
    me = await sign_in(client)
    created = await client.post("/admin/account/feeds", data={"csrf_token": me.csrf})
    assert created.status_code == 200
    url = re.search(r'<code class="feed-url">([^<]+)</code>', created.text).group(1)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    feed = await client.get(path)
    assert feed.status_code == 200
    titles = [str(c["SUMMARY"]) for c in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")]
    assert "Nur intern sichtbar" in titles
    token_id = re.search(r'/admin/account/feeds/(\d+)/revoke', (await client.get("/admin/account")).text).group(1)
    off = await client.post(f"/admin/account/feeds/{token_id}/revoke", data={"csrf_token": me.csrf})
    assert off.status_code == 303
    assert (await client.get(path)).status_code == 404


async def test_issuing_for_an_unknown_person_is_refused(client, db):
    course, _ = await _course_with_attendance()
    me = await sign_in(client)
    for bogus in ("abc", "999999"):
        response = await client.post(f"/admin/events/{course.id}/certificates/issue",
                                     data={"csrf_token": me.csrf, "registration": bogus})
        assert response.status_code == 404
    assert await Certificate.all().count() == 0


async def test_issue_one_person_with_or_without_mail(client, db):
    course, people = await _course_with_attendance()
    olena = people["Olena Shevchenko"]
    await attendance.record(registration_id=olena.id, session_id=(await EventSession.filter(
        event_id=course.id).order_by("starts_at"))[3].id, present=True)  # now 3 of 4
    me = await sign_in(client)
    page = await client.get(f"/admin/events/{course.id}/certificates")
    assert page.text.count('name="send_mail"') == 3  # one per eligible person, one for everyone
    for person, by_mail in ((people["Amina Yusuf"], True), (olena, False)):
        data = {"csrf_token": me.csrf, "registration": str(person.id)} | ({"send_mail": "yes"} if by_mail else {})
        assert (await client.post(f"/admin/events/{course.id}/certificates/issue", data=data)).status_code == 303
        assert await Certificate.filter(registration_id=person.id).exists()
        mails = await OutboxMessage.filter(template="certificate", registration_id=person.id).count()
        assert mails == (1 if by_mail else 0)
    other = await make_event(title="Andere Veranstaltung")
    elsewhere = await client.post(f"/admin/events/{other.id}/certificates/issue",
                                  data={"csrf_token": me.csrf, "registration": str(olena.id)})
    assert elsewhere.status_code == 404  # a person of another event


async def test_back_office_downloads_render_only_issued_certificates(client, db):
    """A GET never issues: the page offers issuing as its own button."""
    course, _ = await _course_with_attendance()
    await sign_in(client)
    page = await client.get(f"/admin/events/{course.id}/certificates")
    assert "certificates.pdf" not in page.text and "1 Bescheinigung ausstellen" in page.text
    for fmt in ("pdf", "zip"):
        assert (await client.get(f"/admin/events/{course.id}/certificates.{fmt}")).status_code == 404
    assert await Certificate.all().count() == 0
    assert not await AuditEntry.filter(action="certificates.issued").exists()


def _png() -> bytes:
    out = io.BytesIO()
    segno.make("Stadt Gießen", micro=False).save(out, kind="png", scale=4)
    return out.getvalue()


async def test_certificate_text_form_saves_texts_and_images_and_the_preview_shows_them(client, db, tmp_path):
    course, _ = await _course_with_attendance()
    me = await sign_in(client)
    url = f"/admin/events/{course.id}/certificates/template"
    form = {"csrf_token": me.csrf, "title": "Bescheinigung Schwimmkurs", "body": "{name} schwamm {hours} Stunden mit.",
            "content_summary": "Brustschwimmen", "signer_name": "Dr. Erika Muster", "signer_role": "Amtsleitung"}
    saved = await client.post(url, data=form, files={"logo": ("wappen.png", _png(), "image/png")})
    assert saved.status_code == 303
    template = await CertificateTemplate.get(event_id=course.id)
    assert template.logo.startswith("data:image/png;base64,") and template.signature == ""
    assert (template.title, template.signer_role) == ("Bescheinigung Schwimmkurs", "Amtsleitung")
    entry = await AuditEntry.get(action="certificate_template.saved")
    assert entry.user_id == me.user.id and "logo" in entry.detail["fields"]
    page = await client.get(f"/admin/events/{course.id}/certificates")
    assert 'value="Bescheinigung Schwimmkurs"' in page.text and 'name="remove_logo"' in page.text
    preview = await client.get(f"/admin/events/{course.id}/certificates/preview.pdf")
    assert preview.status_code == 200 and preview.headers["content-type"] == "application/pdf"
    text = pdf_text(preview.content, tmp_path)
    assert "Bescheinigung Schwimmkurs" in text and "Erika Mustermann schwamm 4 Stunden mit." in text
    assert "Brustschwimmen" in text and "Dr. Erika Muster" in text
    assert await Certificate.all().count() == 0  # the preview issues nothing
    kept = await client.post(url, data={**form, "title": "Neu"})  # no new file: the logo stays
    assert kept.status_code == 303 and (await CertificateTemplate.get(event_id=course.id)).logo == template.logo
    removed = await client.post(url, data={**form, "remove_logo": "yes"})
    assert removed.status_code == 303 and (await CertificateTemplate.get(event_id=course.id)).logo == ""


@pytest.mark.parametrize("case", ["wrong type", "too large", "empty title"])
async def test_certificate_text_form_rejections_are_form_errors_in_the_users_language(client, db, case):
    course, _ = await _course_with_attendance()
    me = await sign_in(client)
    form = {"csrf_token": me.csrf, "title": "Bescheinigung", "body": "{name}"}
    files, field, german, english = {}, "", "", ""
    if case == "wrong type":
        files = {"signature": ("unterschrift.png", b"GIF89a" + b"\0" * 100, "image/png")}
        field, german, english = ("signature", "Bitte wählen Sie ein Bild im Format PNG oder JPEG.",
                                  "Please choose a PNG or JPEG image.")
    elif case == "too large":
        files = {"logo": ("gross.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 400_000, "image/png")}
        field, german, english = "logo", "Das Bild ist zu groß: höchstens 300 KB.", "The image is too large: at most 300 KB."
    else:
        form["title"] = "   "
        field, german, english = "title", "Bitte füllen Sie dieses Feld aus.", "This field is required."
    for language, message in (("de", german), ("en", english)):
        response = await client.post(f"/admin/events/{course.id}/certificates/template", data=form, files=files,
                                     headers={"accept-language": language})
        assert response.status_code == 422
        assert f'id="e-{field}"' in response.text and message in response.text, response.text
        assert 'value="{name}"' in response.text or "{name}</textarea>" in response.text  # the input is kept
    assert not await CertificateTemplate.exists(event_id=course.id)


async def _course_with_certificates(people: int = 5):
    """A course where `people` attended 3 of 4 dates, each with an issued certificate."""
    course, _ = await _course_with_attendance()  # Amina is eligible, Olena is not
    sessions = await EventSession.filter(event_id=course.id).order_by("starts_at")
    for number in range(people - 1):
        outcome = await registration.register(event_id=course.id, applicant=Applicant(
            name=f"Teilnehmerin {number}", email=f"t{number}@example.org"))
        for session in sessions[:3]:
            await attendance.record(registration_id=outcome.registration.id, session_id=session.id, present=True)
    issued = await certificates.issue_all(event_id=course.id)
    assert len(issued) == people
    return course, [c.serial for c in issued]


@pytest.fixture
def progress_seen(monkeypatch) -> list[tuple[int, int, str]]:
    """Every progress report a background job writes to its status, in order, with small parts."""
    seen = []
    original = jobs.Job.progress

    def recorded(job, done, total, step="layout"):
        seen.append((done, total, step))
        original(job, done, total, step)

    monkeypatch.setattr(jobs.Job, "progress", recorded)
    monkeypatch.setattr(certificates, "CERTIFICATES_PER_PART", 2)
    monkeypatch.setattr(pdf, "PROGRESS_INTERVAL", 0.01)
    return seen


async def _start(client, course, me, fmt: str):
    page = await client.get(f"/admin/events/{course.id}/certificates")
    assert f'name="format" value="{fmt}"' in page.text  # the page offers the button
    started = await client.post(f"/admin/events/{course.id}/certificates/jobs",
                                data={"csrf_token": me.csrf, "format": fmt})
    assert started.status_code == 303
    return started.headers["location"]


async def test_certificates_job_as_one_pdf_counts_up_and_offers_every_certificate(client, db, tmp_path,
                                                                                  progress_seen):
    course, serials = await _course_with_certificates(5)
    me = await sign_in(client)
    progress_url = await _start(client, course, me, "pdf")
    page = await wait_for_job(client, progress_url)
    assert "5 Bescheinigungen sind fertig." in page.text
    assert progress_seen[0] == (0, 5, "layout") and progress_seen[-1] == (5, 5, "layout")
    assert [done for done, _, _ in progress_seen] == sorted(done for done, _, _ in progress_seen)
    download = re.search(r'href="([^"]+/jobs/[^"]+\.pdf)"', page.text).group(1)
    response = await client.get(download)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content, tmp_path)
    assert all(text.count(serial) >= 1 for serial in serials) and text.count("\f") == 5
    [entry] = await AuditEntry.filter(action="certificates.downloaded")
    assert (entry.user_id, entry.event_id, entry.detail) == (me.user.id, course.id, {"format": "pdf"})
    assert (await client.get(download.replace(".pdf", ".zip"))).status_code == 404  # the job made a PDF


async def test_certificates_job_as_zip_gives_one_file_per_certificate(client, db, tmp_path, progress_seen):
    course, serials = await _course_with_certificates(3)
    me = await sign_in(client)
    page = await wait_for_job(client, await _start(client, course, me, "zip"))
    assert "3 Bescheinigungen sind fertig." in page.text
    laid_out = [done for done, _, step in progress_seen if step == "layout"]
    cut = [done for done, _, step in progress_seen if step == "cut"]
    assert laid_out[-1] == 3 and cut and cut[-1] == 3 and cut == sorted(cut)
    assert progress_seen.index((3, 3, "layout")) < progress_seen.index((cut[0], 3, "cut"))
    download = re.search(r'href="([^"]+/jobs/[^"]+\.zip)"', page.text).group(1)
    response = await client.get(download)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted(f"{serial}.pdf" for serial in serials)
    for serial in serials:
        assert serial in pdf_text(archive.read(f"{serial}.pdf"), tmp_path)
    entry = await AuditEntry.get(action="certificates.downloaded")
    assert (entry.user_id, entry.detail) == (me.user.id, {"format": "zip"})


async def test_certificates_job_page_words_each_step_and_offers_a_retry(client, db, settings):
    course, _ = await _course_with_certificates(1)
    me = await sign_in(client)
    base = f"/admin/events/{course.id}/certificates/jobs"
    now = utcnow()
    running = {"event_id": course.id, "format": "zip", "state": "rendering", "step": "layout", "total": 300,
               "done": 75, "started": now.isoformat(), "updated": now.isoformat()}
    jobs.write_status(settings, certificates.JOB_KIND, "laying0123456789abcd", running)
    page = await client.get(f"{base}/laying0123456789abcd")
    assert "Schritt 2 von 3: 75 von 300 Bescheinigungen gesetzt" in page.text
    assert '<progress max="300" value="75"' in page.text and 'http-equiv="refresh"' in page.text
    jobs.write_status(settings, certificates.JOB_KIND, "cutting0123456789abc", {**running, "step": "cut", "done": 120})
    page = await client.get(f"{base}/cutting0123456789abc", headers={"accept-language": "en"})
    assert "Step 3 of 3: 120 of 300 certificates saved as single files" in page.text
    jobs.write_status(settings, certificates.JOB_KIND, "failed0123456789abcd", {**running, "state": "failed"})
    page = await client.get(f"{base}/failed0123456789abcd")
    assert "konnten nicht erstellt werden" in page.text and 'http-equiv="refresh"' not in page.text
    retry = re.search(r'<form method="post" action="([^"]+)">.*?name="format" value="zip".*?Noch einmal versuchen',
                      page.text, re.S)
    assert retry and retry.group(1) == base
    assert (await client.get(f"{base}/failed0123456789abcd.zip")).status_code == 404
    again = await client.post(base, data={"csrf_token": me.csrf, "format": "zip"})
    assert again.status_code == 303 and "failed0123456789abcd" not in again.headers["location"]
    assert "1 Bescheinigung ist fertig." in (await wait_for_job(client, again.headers["location"])).text


async def test_certificates_job_refusals(client, db):
    course, _ = await _course_with_certificates(1)
    base = f"/admin/events/{course.id}/certificates/jobs"
    me = await sign_in(client)
    job_url = (await client.post(base, data={"csrf_token": me.csrf, "format": "pdf"})).headers["location"]
    job_id = job_url.rsplit("/", 1)[1]
    await wait_for_job(client, job_url)
    other, _ = await _course_with_attendance()  # nobody has a certificate there
    assert (await client.get(f"/admin/events/{other.id}/certificates/jobs/{job_id}")).status_code == 404
    assert (await client.get(f"/admin/events/{other.id}/certificates/jobs/{job_id}.pdf")).status_code == 404
    assert (await client.get(f"{base}/unknownjob0123456789")).status_code == 404
    assert (await client.get(f"{base}/unknownjob0123456789.pdf")).status_code == 404
    assert (await client.get(f"{base}/bad..id")).status_code == 404
    assert (await client.post(f"/admin/events/{other.id}/certificates/jobs",
                              data={"csrf_token": me.csrf, "format": "pdf"})).status_code == 404
    assert (await client.post(base, data={"csrf_token": me.csrf, "format": "docx"})).status_code == 404
    assert (await client.post(base, data={"format": "pdf"})).status_code == 403  # no CSRF token
    await client.post("/admin/logout", data={"csrf_token": me.csrf})
    door = await sign_in(client, "door")
    assert (await client.post(base, data={"csrf_token": door.csrf, "format": "pdf"})).status_code == 403
    assert (await client.get(job_url)).status_code == 403
    assert (await client.get(f"{job_url}.pdf")).status_code == 403
    assert not await AuditEntry.filter(action="certificates.downloaded").exists()
