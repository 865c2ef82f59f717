"""Back office: certificates per event (issue, revoke, bulk download) and the private calendar address."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import icalendar
import pytest
import segno

from events_app import attendance, registration
from events_app.events import SessionSpec
from events_app.models import AuditEntry, Certificate, CertificateTemplate, EventSession, OutboxMessage
from events_app.registration import Applicant
from tests.fixtures_backoffice import sign_in
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
