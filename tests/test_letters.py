"""Reception letters read right the first time: read back from the PDF (pdftotext) for what they must say
(Datum, the deadline, the office's phone, hours and e-mail, a line in five languages, closing and signer,
code and short address) and for gaps; no letters without an answer deadline or with an empty placeholder;
the organiser sees the plan and the first letter before the batch."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest

from events_app.core import errors
from events_app.core.i18n import Formatter
from events_app.core.models import AuditEntry, Event, EventSession, Invitation, OutboxMessage
from events_app.core.wording import format_code
from events_app.receptions import invitations, invitee_import, letters, list_files
from tests.fixtures_backoffice import sign_in
from tests.fixtures_courses import pdf_text
from tests.fixtures_receptions import make_reception, sample_bytes
from tests.helpers import in_days, make_user

pytestmark = pytest.mark.usefixtures("pdftotext_available")

#: A 1x1 PNG: enough to show that a scanned signature goes into the letter.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def gaps(text: str) -> list[str]:
    """What an empty placeholder leaves behind: braces, or a preposition right before punctuation."""
    return re.findall(r"\{[a-z_]*\}|\b(?:bis|zum|am|um|höchstens)\s*[,.)]", text)


async def test_a_letter_says_everything_an_invitee_needs_and_has_no_gaps(reception, settings, tmp_path):
    me, _ = await make_user()
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(sample_bytes()))
    await invitations.save_letter(event_id=reception.id, sender="Universitätsstadt Gießen · Berliner Platz 1",
                                  subject="Einladung zum Einbürgerungsempfang",
                                  body=invitations.DEFAULT_LETTER["body"], closing="Mit freundlichen Grüßen",
                                  signer_name="Dr. Anna Beispiel", signer_role="Leiterin des Büros für Integration")
    deadline = Formatter("de", settings.timezone).date(reception.registration_closes_at)
    text = pdf_text(await letters.letters_pdf(event_id=reception.id, settings=settings, by=me), tmp_path)
    pages = [page for page in text.split("\f") if page.strip()]
    people = [p for p in await invitations.list_invitations(reception.id) if not p.email]
    assert len(pages) == len(people) == 6
    for page, person in zip(pages, people):
        compact = page.replace(" ", "")
        assert format_code(person.code) in compact and person.last_name in page
        assert "Datum" in page and "Termin" not in page  # the letter's date is labelled as such
        assert f"bis zum {deadline}, ob Sie kommen" in page and f"Bitte antworten Sie bis {deadline}." in page
        assert "Herzlichen Glückwunsch" in page or "herzlichen Glückwunsch" in page
        assert "0641 306-0" in page and "integration@giessen.de" in page and "Mo–Fr 9:00–12:00" in page
        assert "Sprechzeiten" in page and "Kein Internet? Rufen Sie uns an: 0641 306-0" in page
        for line in ("in English", "Türkçe", "українською", "العربية", "فارسی"):
            assert line in page, line
        assert "Mit freundlichen Grüßen" in page and "Dr. Anna Beispiel" in page
        assert "Leiterin des Büros für Integration" in page
        assert f"{settings.base_url}/rsvp" in page
        assert gaps(page) == [], gaps(page)


async def test_no_letters_and_no_invitation_mails_without_an_answer_deadline(client, db, settings):
    event = await make_reception(registration_closes_at=None)
    await invitee_import.import_invitations(event_id=event.id, table=list_files.read_table(sample_bytes()))
    with pytest.raises(errors.AnswerDeadlineMissing):
        await letters.letters_html(event_id=event.id, settings=settings)
    with pytest.raises(errors.AnswerDeadlineMissing):
        await invitations.send_invitation_mails(event_id=event.id)
    assert not await OutboxMessage.exists()
    _, token = await make_user(email="api@stadt-giessen.de")
    api = await client.get(f"/api/v1/events/{event.id}/letters.pdf", headers={"authorization": f"Bearer {token}"})
    assert api.status_code == 422 and api.headers["content-type"].startswith("application/problem+json")

    me = await sign_in(client)
    base = f"/admin/events/{event.id}/invitations"
    asked = await client.post(f"{base}/letters", data={"csrf_token": me.csrf})
    assert asked.status_code == 200 and "Antwortfrist" in asked.text
    suggested = re.search(r'name="deadline" type="date" value="([0-9-]+)"', asked.text).group(1)
    first = await EventSession.filter(event_id=event.id).order_by("starts_at").first()
    assert suggested < Formatter("de", settings.timezone).local(first.starts_at).date().isoformat()
    mails = await client.post(f"{base}/send", data={"csrf_token": me.csrf})
    assert mails.status_code == 422 and "Antwortfrist" in mails.text
    past = await client.post(f"{base}/deadline", data={"csrf_token": me.csrf, "deadline": "2001-01-01"})
    assert past.status_code == 422
    nonsense = await client.post(f"{base}/deadline", data={"csrf_token": me.csrf, "deadline": "morgen"})
    assert nonsense.status_code == 422 and (await Event.get(id=event.id)).registration_closes_at is None
    chosen = in_days(5).date().isoformat()
    confirmed = await client.post(f"{base}/deadline", data={"csrf_token": me.csrf, "deadline": chosen})
    assert confirmed.status_code == 303
    stored = (await Event.get(id=event.id)).registration_closes_at
    assert Formatter("de", settings.timezone).local(stored).strftime("%Y-%m-%d %H:%M") == f"{chosen} 23:59"
    assert await AuditEntry.exists(action="invitations.deadline_set", event_id=event.id)
    plan = await client.post(f"{base}/letters", data={"csrf_token": me.csrf})
    assert "6 Briefe erstellen" in plan.text and Formatter("de", settings.timezone).date(stored) in plan.text
    assert "nach dem Beginn des Empfangs" not in plan.text
    late = (first.starts_at + timedelta(days=2)).astimezone().date().isoformat()
    await client.post(f"{base}/deadline", data={"csrf_token": me.csrf, "deadline": late})
    warned = await client.post(f"{base}/letters", data={"csrf_token": me.csrf})
    assert "Die Antwortfrist liegt nach dem Beginn des Empfangs" in warned.text


async def test_the_preview_is_the_first_letter_of_the_batch(client, reception, tmp_path):
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(sample_bytes()))
    await sign_in(client)
    preview = await client.get(f"/admin/events/{reception.id}/invitations/letters/preview.pdf")
    assert preview.status_code == 200 and preview.headers["content-type"] == "application/pdf"
    text = pdf_text(preview.content, tmp_path)
    first = [p for p in await invitations.list_invitations(reception.id) if not p.email][0]
    assert format_code(first.code) in text.replace(" ", "") and text.count("\f") <= 1
    assert not await AuditEntry.exists(action="export.downloaded")  # a preview is not a download of the batch


async def test_empty_or_unknown_placeholders_produce_nothing(reception, settings):
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(sample_bytes()))
    with pytest.raises(errors.ValidationFailed) as unknown:  # a typo in a placeholder is refused when saved
        await invitations.save_letter(event_id=reception.id, sender="Stadt", subject="Einladung",
                                      body="Bitte antworten Sie bis {frist}.", closing="Grüße")
    assert unknown.value.params["placeholders"] == "{frist}"
    await invitations.save_letter(event_id=reception.id, sender="Stadt", subject="Einladung",
                                  body="Wir treffen uns: {event_location}.", closing="Grüße")
    await Event.filter(id=reception.id).update(location="")
    with pytest.raises(errors.PlaceholderEmpty) as empty:
        await letters.letters_html(event_id=reception.id, settings=settings)
    assert empty.value.params["placeholders"] == "{event_location}"
    await Event.filter(id=reception.id).update(location="Rathaus")
    await invitations.save_letter(event_id=reception.id, sender="Stadt", subject="Einladung",
                                  body="Wir treffen uns: {event_location}.", closing="")
    with pytest.raises(errors.PlaceholderEmpty) as no_closing:  # the layout's own parts count too
        await letters.letters_html(event_id=reception.id, settings=settings)
    assert no_closing.value.params["placeholders"] == "{closing}"


async def test_signer_and_scanned_signature_per_reception_from_the_form(client, reception, settings):
    me = await sign_in(client)
    url = f"/admin/events/{reception.id}/invitations/letter"
    fields = {"csrf_token": me.csrf, "sender": "Stadt Gießen", "subject": "Einladung", "body": "Text {deadline}",
              "closing": "Mit freundlichen Grüßen", "signer_name": "Frank Muster", "signer_role": "Bürgermeister"}
    wrong = await client.post(url, data=fields, files={"signature_image": ("unterschrift.png", b"GIF89a", "image/png")})
    assert wrong.status_code == 422
    saved = await client.post(url, data=fields, files={"signature_image": ("unterschrift.png", PNG, "image/png")})
    assert saved.status_code == 303
    letter = await invitations.get_letter(reception.id, settings=settings)
    assert (letter.signer_name, letter.signer_role) == ("Frank Muster", "Bürgermeister")
    assert letter.signature_image.startswith("data:image/png;base64,")
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(sample_bytes()))
    parts, _ = await letters.letters_html(event_id=reception.id, settings=settings, limit=1)
    assert letter.signature_image in parts[0] and "Frank Muster" in parts[0]
    other = await make_reception(title="Empfang Herbst")  # the settings' signer where none is named
    default = await invitations.get_letter(other.id, settings=settings.with_(letter_signer_name="Erika Beispiel"))
    assert (default.signer_name, default.signer_role) == ("Erika Beispiel", "Büro für Integration")


async def test_invitation_mails_ask_first_with_the_number_of_people(client, reception):
    await invitee_import.import_invitations(event_id=reception.id, table=list_files.read_table(sample_bytes()))
    me = await sign_in(client)
    url = f"/admin/events/{reception.id}/invitations/send"
    asked = await client.post(url, data={"csrf_token": me.csrf})
    assert asked.status_code == 200 and "13 Eingeladene" in asked.text
    assert not await OutboxMessage.exists()
    sent = await client.post(url, data={"csrf_token": me.csrf, "confirm": "1"})
    assert sent.status_code == 303 and await OutboxMessage.filter(template="invitation").count() == 13
    reminders = await client.post(f"/admin/events/{reception.id}/invitations/remind", data={"csrf_token": me.csrf})
    assert reminders.status_code == 200 and "bekommen jetzt eine Erinnerung" in reminders.text
    assert not await OutboxMessage.filter(template="invitation_reminder").exists()
    assert await Invitation.filter(event_id=reception.id, email="").count() == 6
