"""Certificates: issued to the eligible, read back from the PDF with pdftotext (names in Arabic,
Ukrainian and Vietnamese intact), bulk PDF and ZIP, verification page, revocation, manage-page download."""

from __future__ import annotations

import base64

import dataclasses
import io
import re
import zipfile

import pytest

from events_app.courses import certificates
from events_app.core import errors
from events_app.seats import registration
from events_app.core.i18n import LANGUAGES
from events_app.core.models import AuditEntry, Certificate, EventSession, OutboxMessage, Registration
from events_app.seats.registration import Applicant
from tests.fixtures_courses import attend, confirmed, make_course, pdf_text
from tests.helpers import make_event, make_user
from tests.test_security_pdf import png

pytestmark = pytest.mark.usefixtures("pdftotext_available")

NAMES = {"ar": "فاطمة الزهراء", "uk": "Олена Коваленко", "vi": "Nguyễn Thị Hương", "tr": "Ayşe Yılmaz"}


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


async def _workshop_with(names, *, attended=True, **overrides):
    event, sessions = await make_course(dates=1, title="Interkulturelle Kompetenz", kind="workshop",
                                        certificate_min_attendance=100, **overrides)
    people = []
    for name in names:
        person = await confirmed(event, name)
        await attend(person, sessions, 1 if attended else 0)
        people.append(person)
    return event, people


async def test_certificate_pdf_shows_name_event_and_serial(db, settings, tmp_path):
    event, (person,) = await _workshop_with(["Ayşe Yılmaz"])
    certificate = await certificates.issue(registration_id=person.id)
    assert re.fullmatch(r"TB-\d{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}", certificate.serial)  # 80 random bits
    text = _squash(pdf_text(await certificates.render_one(certificate=certificate, settings=settings), tmp_path))
    assert "Ayşe Yılmaz" in text and "Interkulturelle Kompetenz" in text and certificate.serial in text
    assert f"/certificates/{certificate.serial}" in text
    assert await certificates.issue(registration_id=person.id) == certificate  # idempotent


async def test_verification_address_stays_on_one_line(db, settings, tmp_path):
    """A long public address must come out of the PDF whole: an address split at the serial's hyphen
    cannot be typed back."""
    long_base = "https://integration.stadt-beispielhausen.de/events"
    event, (person,) = await _workshop_with(["Ayşe Yılmaz"])
    certificate = await certificates.issue(registration_id=person.id)
    pdf = await certificates.render_one(certificate=certificate,
                                        settings=dataclasses.replace(settings, base_url=long_base))
    lines = pdf_text(pdf, tmp_path).splitlines()
    assert f"{long_base}/certificates/{certificate.serial}" in lines, lines


@pytest.mark.parametrize("language", ["ar", "uk", "vi"])
async def test_names_in_other_scripts_come_back_intact(db, settings, tmp_path, language):
    event, (person,) = await _workshop_with([NAMES[language]])
    certificate = await certificates.issue(registration_id=person.id)
    text = pdf_text(await certificates.render_one(certificate=certificate, settings=settings), tmp_path)
    assert NAMES[language] in text, text


async def test_organiser_texts_with_placeholders_and_escaping(db, settings, tmp_path):
    event, (person,) = await _workshop_with(["Олена Коваленко"])
    with pytest.raises(errors.ValidationFailed) as unknown:  # a placeholder nobody can fill: refused at once
        await certificates.save_template(event_id=event.id, values={"body": "Frau {name} am {datum}."})
    assert unknown.value.fields == {"body": errors.PlaceholderEmpty.title}
    assert unknown.value.params["placeholders"] == "{datum}"
    await certificates.save_template(event_id=event.id, values={
        "title": "Bescheinigung <b>", "body": "Frau {name} besuchte {event} am {dates}: {hours} Stunden.",
        "signer_name": "Dr. Erika Muster", "signer_role": "Integrationsbüro", "content_summary": "Kommunikation"})
    certificate = await certificates.issue(registration_id=person.id)
    text = _squash(pdf_text(await certificates.render_one(certificate=certificate, settings=settings), tmp_path))
    assert "Bescheinigung <b>" in text
    assert "Frau Олена Коваленко besuchte Interkulturelle Kompetenz am" in text
    assert "1,5 Stunden." in text and "{" not in text
    assert "Dr. Erika Muster" in text and "Integrationsbüro" in text and "Kommunikation" in text
    with pytest.raises(errors.ValidationFailed) as failed:
        await certificates.save_template(event_id=event.id, values={"logo": "file:///etc/passwd"})
    assert "logo" in failed.value.fields


async def test_bulk_pdf_has_one_page_per_certificate_and_zip_one_file_each(client, db, tmp_path):
    names = [NAMES["ar"], NAMES["uk"], NAMES["vi"], NAMES["tr"]]
    event, people = await _workshop_with(names)
    absent = await confirmed(event, "Nicht Dagewesen")
    _, token = await make_user()
    auth = {"authorization": f"Bearer {token}"}
    response = await client.get(f"/api/v1/events/{event.id}/certificates.pdf", headers=auth)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    pages = pdf_text(response.content, tmp_path).split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) == 4
    issued = {c.registration_id: c.serial for c in await Certificate.all()}
    assert absent.id not in issued and len(issued) == 4
    [issuing] = await AuditEntry.filter(action="certificates.issued")  # the GET issued them, on the record
    assert issuing.detail["count"] == 4 and issuing.detail["by_mail"] is False and issuing.user_id is not None
    for person in people:  # each page carries its own person's name and serial
        page = next(p for p in pages if issued[person.id] in p)
        assert person.name in page
    archive = await client.get(f"/api/v1/events/{event.id}/certificates.zip", headers=auth)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as files:
        assert sorted(files.namelist()) == sorted(f"{s}.pdf" for s in issued.values())
        for person in people:
            single = pdf_text(files.read(f"{issued[person.id]}.pdf"), tmp_path)
            assert person.name in single and single.count("\f") == 1
    assert await Certificate.all().count() == 4  # the second download issued nothing new
    assert await AuditEntry.filter(action="certificates.issued").count() == 1
    assert await AuditEntry.filter(action="certificates.downloaded").count() == 2
    unauthorised = await client.get(f"/api/v1/events/{event.id}/certificates.pdf")
    assert unauthorised.status_code == 401


async def test_bulk_download_with_nobody_eligible_is_a_404_not_an_empty_pdf(client, db):
    event, _ = await _workshop_with(["Absent"], attended=False)
    _, token = await make_user()
    response = await client.get(f"/api/v1/events/{event.id}/certificates.pdf", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_verification_page_valid_unknown_revoked(client, db):
    event, (person,) = await _workshop_with([NAMES["uk"]])
    certificate = await certificates.issue(registration_id=person.id)
    valid = await client.get(f"/certificates/{certificate.serial.lower()}")
    assert valid.status_code == 200
    assert "status-valid" in valid.text and NAMES["uk"] in valid.text and "Interkulturelle Kompetenz" in valid.text
    unknown = await client.get("/certificates/TB-2026-0000-0000")
    assert unknown.status_code == 404 and "status-unknown" in unknown.text and NAMES["uk"] not in unknown.text
    await certificates.revoke(serial=certificate.serial, reason="issued in error: ill on the day")
    revoked = await client.get(f"/certificates/{certificate.serial}")
    assert revoked.status_code == 200 and "status-revoked" in revoked.text and "status-valid" not in revoked.text
    assert "ill on the day" not in revoked.text  # the reason may be personal: kept for the organisers only
    assert (await Certificate.get(id=certificate.id)).revoked_reason == "issued in error: ill on the day"
    with pytest.raises(errors.CertificateNotFound):
        await certificates.revoke(serial="TB-2026-0000-0000", reason="typo")
    with pytest.raises(errors.ValidationFailed) as no_reason:
        await certificates.revoke(serial=certificate.serial, reason=" \n ")
    assert "reason" in no_reason.value.fields


async def test_verification_page_of_a_womens_course_does_not_show_the_name(client, db):
    event, (person,) = await _workshop_with(["Mariam Haidari"], audience="women")
    certificate = await certificates.issue(registration_id=person.id)
    page = await client.get(f"/certificates/{certificate.serial}")
    assert page.status_code == 200 and "status-valid" in page.text and "Mariam" not in page.text


async def test_revoke_then_reissue_gives_a_new_serial(db):
    event, (person,) = await _workshop_with(["Ana"])
    first = await certificates.issue(registration_id=person.id)
    await certificates.revoke(serial=first.serial, reason="typo in name")
    second = await certificates.issue(registration_id=person.id)
    assert second.serial != first.serial
    assert (await certificates.verify(serial=first.serial)).validity == certificates.Validity.REVOKED


async def test_person_downloads_own_certificate_from_manage_page(client, db, tmp_path):
    event, (person,) = await _workshop_with([NAMES["vi"]])
    page = await client.get(f"/r/{person.manage_token}")
    assert "certificate.pdf" not in page.text
    missing = await client.get(f"/r/{person.manage_token}/certificate.pdf")
    assert missing.status_code == 404
    certificate = await certificates.issue(registration_id=person.id)
    page = await client.get(f"/r/{person.manage_token}")
    assert f"/r/{person.manage_token}/certificate.pdf" in page.text
    download = await client.get(f"/r/{person.manage_token}/certificate.pdf")
    assert download.status_code == 200 and NAMES["vi"] in pdf_text(download.content, tmp_path)
    await certificates.revoke(serial=certificate.serial, reason="typo in name")
    assert (await client.get(f"/r/{person.manage_token}/certificate.pdf")).status_code == 404


async def test_issue_all_through_the_api_with_mail(client, db):
    event, people = await _workshop_with(["A", "B"])
    await confirmed(event, "C")  # did not attend
    _, token = await make_user()
    auth = {"authorization": f"Bearer {token}"}
    listing = await client.get(f"/api/v1/events/{event.id}/certificates", headers=auth)
    assert [(e["name"], e["eligible"]) for e in listing.json()] == [("A", True), ("B", True), ("C", False)]
    issued = await client.post(f"/api/v1/events/{event.id}/certificates", json={"send_mail": True}, headers=auth)
    assert issued.status_code == 201 and len(issued.json()) == 2
    mails = await OutboxMessage.filter(template="certificate").values_list("context", flat=True)
    ids = set(await Certificate.all().values_list("id", flat=True))
    assert {m["certificate_id"] for m in mails} == ids
    again = await client.post(f"/api/v1/events/{event.id}/certificates", json={"send_mail": True}, headers=auth)
    assert again.status_code == 201 and await OutboxMessage.filter(template="certificate").count() == 2
    not_eligible = await client.post(f"/api/v1/events/{event.id}/certificates",
                                     json={"registration": (await certificates.eligibility(event_id=event.id))[2].registration.id},
                                     headers=auth)
    assert not_eligible.status_code == 409
    bad = await client.post(f"/api/v1/events/{event.id}/certificates", json={"send_mail": "ja"}, headers=auth)
    assert bad.status_code == 422
    revoke = await client.post(f"/api/v1/certificates/{issued.json()[0]['serial']}/revoke", json={"reason": "x"},
                               headers=auth)
    assert revoke.status_code == 200 and revoke.json()["revoked_reason"] == "x"
    audit = await AuditEntry.get(action="certificate.revoked")
    assert audit.detail == {"serial": issued.json()[0]["serial"], "reason": "x"} and audit.user_id is not None
    unknown = await client.post("/api/v1/certificates/TB-0000-0000-0000/revoke", json={"reason": "x"}, headers=auth)
    assert unknown.status_code == 404
    no_reason = await client.post(f"/api/v1/certificates/{issued.json()[1]['serial']}/revoke", json={}, headers=auth)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["errors"]
    assert (await certificates.verify(serial=issued.json()[1]["serial"])).validity == certificates.Validity.VALID
    [issuing] = await AuditEntry.filter(action="certificates.issued")
    assert issuing.detail["count"] == 2 and issuing.detail["by_mail"] is True and issuing.user_id is not None
    other_event = await make_event()
    wrong = await client.post(f"/api/v1/events/{other_event.id}/certificates", json={"registration": people[0].id},
                              headers=auth)
    assert wrong.status_code == 404


async def test_overlong_texts_stay_on_one_page_per_certificate(db, settings, tmp_path):
    event, people = await _workshop_with(["Anna " + "Maria " * 40, "Ben"])
    await certificates.save_template(event_id=event.id, values={"content_summary": "Inhalt\n" * 200,
                                                                "body": "Sehr langer Text. " * 270})
    await certificates.issue_all(event_id=event.id)
    text = pdf_text(await certificates.render_event(event_id=event.id, settings=settings), tmp_path)
    assert len([page for page in text.split("\f") if page.strip()]) == 2
    archive = await certificates.render_event_zip(event_id=event.id, settings=settings)
    assert len(zipfile.ZipFile(io.BytesIO(archive)).namelist()) == 2


async def test_certificate_template_api(client, db, tmp_path):
    event, (person,) = await _workshop_with(["Erika"])
    _, token = await make_user()
    auth = {"authorization": f"Bearer {token}"}
    url = f"/api/v1/events/{event.id}/certificate-template"
    saved = await client.put(url, json={"title": "Zertifikat", "signer_name": "Amtsleitung",
                                        "logo": "data:image/png;base64," + base64.b64encode(png()).decode()}, headers=auth)
    assert saved.status_code == 200 and saved.json()["title"] == "Zertifikat"
    for body, field in (({"colour": "red"}, "colour"), ({"title": 5}, "title"), ({"title": " "}, "title"),
                        ({"signature": "http://evil.example/x.png"}, "signature")):
        response = await client.put(url, json=body, headers=auth)
        assert response.status_code == 422 and field in response.json()["errors"], body
    assert (await client.put("/api/v1/events/999/certificate-template", json={"title": "x"}, headers=auth)
            ).status_code == 404
    assert (await client.put(url, json={"title": "x"})).status_code == 401
    certificate = await certificates.issue(registration_id=person.id)
    from events_app.core.settings import Settings

    text = pdf_text(await certificates.render_one(certificate=certificate, settings=Settings(database_url=db)), tmp_path)
    assert "Zertifikat" in text and "Amtsleitung" in text


async def test_own_certificate_has_fixed_labels_in_the_registrations_language(client, db, settings, tmp_path):
    """The person's own PDF speaks their language; the organiser's texts stay as written and the
    organisers' bulk PDF stays German."""
    event, _ = await _workshop_with([])
    sessions = await EventSession.filter(event_id=event.id)
    people = {}
    for language, name in (("ar", NAMES["ar"]), ("de", "Erika Muster"), ("pl", "Unbekannte Sprache")):
        outcome = await registration.register(event_id=event.id, languages=tuple(LANGUAGES), applicant=Applicant(
            name=name, email=f"{language}@example.org", language=language))
        await attend(outcome.registration, list(sessions), 1)
        people[language] = outcome.registration
    await Registration.filter(id=people["pl"].id).update(language="pl")  # a language no longer offered
    await certificates.issue_all(event_id=event.id)
    texts = {}
    for language, person in people.items():
        response = await client.get(f"/r/{person.manage_token}/certificate.pdf")
        assert response.status_code == 200
        texts[language] = _squash(pdf_text(response.content, tmp_path))
    assert "رقم الشهادة" in texts["ar"] and "Bescheinigungsnummer" not in texts["ar"]
    assert "Teilnahmebescheinigung" in texts["ar"]  # the organiser's title, as written
    assert "Bescheinigungsnummer" in texts["de"] and "رقم الشهادة" not in texts["de"]
    assert "Bescheinigungsnummer" in texts["pl"]  # a language not offered falls back to German
    bulk = _squash(pdf_text(await certificates.render_event(event_id=event.id, settings=settings), tmp_path))
    assert bulk.count("Bescheinigungsnummer") == 3 and "رقم الشهادة" not in bulk
