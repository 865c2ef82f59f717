"""An event's own mail texts per kind and language: used in the mails people receive, previewed in the
back office, and the built-in text in every language that has no text of its own."""

from __future__ import annotations

from events_app.core.models import AuditEntry, MailText
from events_app.mail import delivery
from events_app.seats import registration
from events_app.seats.registration import Applicant
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, make_event

OWN_AR = "أهلاً بك في دورة السباحة! أحضري منشفة وقبعة سباحة."


@both_databases
async def test_own_text_goes_out_in_its_language_and_the_built_in_one_elsewhere(client, db, smtp_settings,
                                                                               smtp_server):
    me = await sign_in(client, "organiser")
    event = await make_event(kind="course", title="Schwimmkurs", capacity=5)
    saved = await client.post(f"/admin/events/{event.id}/mail-texts", data={
        "csrf_token": me.csrf, "subject_confirmed_ar": "مكانك محجوز", "body_confirmed_ar": OWN_AR,
        "subject_confirmed_de": "", "body_confirmed_de": ""})
    assert saved.status_code == 303
    assert await MailText.filter(event_id=event.id).count() == 1
    assert await AuditEntry.filter(action="event.mail_texts_changed").exists()

    for name, email, language in (("Fatima", "fatima@example.org", "ar"), ("Erika", "erika@example.org", "de")):
        await registration.register(event_id=event.id, applicant=Applicant(name=name, email=email, language=language),
                                    languages=("de", "ar"))
    await delivery.deliver_due(smtp_settings)
    [arabic] = smtp_server.to("fatima@example.org")
    [german] = smtp_server.to("erika@example.org")
    assert arabic["Subject"] == "مكانك محجوز"
    text = arabic.get_body(("plain",)).get_content()
    assert OWN_AR in text and "Fatima" in text
    assert "/r/" in text  # the facts stay: the personal link is still there
    assert german["Subject"].startswith("Anmeldung bestätigt")
    assert OWN_AR not in german.get_body(("plain",)).get_content()


async def test_preview_shows_the_mail_as_sent_without_sending(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(kind="course", title="Schwimmkurs")
    await client.post(f"/admin/events/{event.id}/mail-texts", data={
        "csrf_token": me.csrf, "subject_reminder_de": "Bald geht's los", "body_reminder_de": "Bitte Badekappe mitbringen."})
    text = await client.get(f"/admin/events/{event.id}/mail-texts/preview",
                            params={"kind": "reminder", "language": "de", "part": "text"})
    assert text.status_code == 200
    assert "Bald geht&#39;s los" in text.text and "Bitte Badekappe mitbringen." in text.text
    assert "Erika Mustermann" in text.text
    html = await client.get(f"/admin/events/{event.id}/mail-texts/preview", params={"kind": "waitlisted",
                                                                                   "language": "ar"})
    assert html.status_code == 200 and 'dir="rtl"' in html.text and "فاطمة أحمد" in html.text
    for params in ({"kind": "newsletter", "language": "de"}, {"kind": "reminder", "language": "xx"}, {}):
        assert (await client.get(f"/admin/events/{event.id}/mail-texts/preview", params=params)).status_code == 404


async def test_too_long_texts_are_refused_and_nothing_is_stored(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(kind="course", title="Schwimmkurs")
    response = await client.post(f"/admin/events/{event.id}/mail-texts", data={
        "csrf_token": me.csrf, "subject_confirmed_de": "x" * 201, "body_confirmed_de": "Text",
        "body_offered_tr": "y" * 4001})
    assert response.status_code == 422
    assert 'id="e-subject_confirmed_de"' in response.text and 'id="e-body_offered_tr"' in response.text
    assert not await MailText.exists()
    # emptying a text returns to the built-in one
    await client.post(f"/admin/events/{event.id}/mail-texts", data={"csrf_token": me.csrf,
                                                                    "body_confirmed_de": "Eigener Text"})
    assert await MailText.filter(event_id=event.id).count() == 1
    await client.post(f"/admin/events/{event.id}/mail-texts", data={"csrf_token": me.csrf, "body_confirmed_de": ""})
    assert not await MailText.exists()
