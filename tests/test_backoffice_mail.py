"""Mail in the back office: the files written without an SMTP server, failed and retried mails with
their errors, and sending a failed mail again."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import httpx
import pytest

from events_app.core import errors
from events_app.mail import delivery
from events_app.mail.files import mail_file, mail_files
from events_app.app import create_app
from events_app.core.i18n import Formatter
from events_app.core.models import AuditEntry, OutboxMessage, OutboxState
from events_app.seats.registration import Applicant, register
from events_app.core.timeutil import utcnow
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, make_event


async def _person(event, name: str, **extra):
    applicant = Applicant(name=name, email=f"{name.lower()}@example.org", **extra)
    return (await register(event_id=event.id, applicant=applicant, languages=("de", "en"))).registration


async def test_mail_files_are_listed_newest_first_shown_and_downloaded(client, db, settings):
    await sign_in(client, "admin")  # mail files hold every registrant's links: admins only
    event = await make_event(title="Stadtteilführung")
    await _person(event, "Anna")
    await delivery.deliver_due(settings)
    await _person(event, "Berat", language="en")
    await delivery.deliver_due(settings)
    newest, oldest = mail_files(settings)

    dashboard = await client.get("/admin")
    assert '<a href="/admin/mail">E-Mail-Dateien</a>' in dashboard.text
    listing = await client.get("/admin/mail")
    assert listing.status_code == 200
    rows = listing.text.split("<tbody>", 1)[1]
    assert rows.index("berat@example.org") < rows.index("anna@example.org")
    assert "Registration confirmed: Stadtteilführung" in rows and "Anmeldung bestätigt: Stadtteilführung" in rows
    assert f'href="/admin/mail/files/{newest.name}"' in rows
    assert f'href="/admin/mail/files/{oldest.name}/download"' in rows

    shown = await client.get(f"/admin/mail/files/{oldest.name}")
    assert shown.status_code == 200
    assert "Guten Tag Anna," in shown.text and "anna@example.org" in shown.text
    assert "event.ics" in shown.text and "checkin.png" in shown.text  # the other parts are named

    download = await client.get(f"/admin/mail/files/{oldest.name}/download")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("message/rfc822")
    assert f'filename="{oldest.name}"' in download.headers["content-disposition"]
    assert download.content == oldest.read_bytes()
    parsed = email.message_from_bytes(download.content, policy=email.policy.default)
    assert parsed["To"] == "anna@example.org"


async def test_mail_file_names_are_never_paths(client, db, settings):
    await sign_in(client, "admin")  # mail files hold every registrant's links: admins only
    event = await make_event()
    await _person(event, "Anna")
    await delivery.deliver_due(settings)
    [written] = mail_files(settings)
    folder = written.parent
    secret = folder.parent / "20260101T000000-1-confirmed.eml"  # a valid name, but outside the mail folder
    secret.write_bytes(b"Subject: secret\n\nnot for the back office\n")
    (folder / "20260101T000000-2-confirmed.eml").symlink_to(secret)
    (folder / "notes.txt").write_text("not a mail")

    for name in ("..%2F20260101T000000-1-confirmed.eml", "..%2F..%2Fsecret.eml", "%2e%2e%2F%2e%2e",
                 "20260101T000000-2-confirmed.eml", "notes.txt", "20260101T000000-9-confirmed.eml",
                 "20260101T000000-1-confirmed.eml%00.txt", "%2Fetc%2Fpasswd", written.name.upper()):
        for suffix in ("", "/download"):
            response = await client.get(f"/admin/mail/files/{name}{suffix}")
            assert response.status_code in (400, 404), (name, suffix, response.status_code)
            assert "not for the back office" not in response.text
    # the same straight to the function (a client may normalise "..", the server must not rely on it)
    for name in ("..", "../20260101T000000-1-confirmed.eml", "/etc/passwd", "20260101T000000-2-confirmed.eml",
                 f"../mail/{written.name}"):
        with pytest.raises(errors.MailNotFound):
            mail_file(settings, name)
    listing = await client.get("/admin/mail")
    assert "secret" not in listing.text and "notes.txt" not in listing.text
    assert (await client.get(f"/admin/mail/files/{written.name}")).status_code == 200


async def test_without_mail_files_the_page_says_so_and_with_smtp_the_menu_hides_it(client, db, settings):
    await sign_in(client, "admin")  # mail files hold every registrant's links: admins only
    empty = await client.get("/admin/mail")
    assert empty.status_code == 200 and "Noch keine E-Mail-Dateien." in empty.text
    with_smtp = create_app(settings.with_(smtp_host="127.0.0.1"), manage_orm=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=with_smtp), base_url="http://testserver",
                                 cookies=client.cookies) as other:
        page = await other.get("/admin")
        assert page.status_code == 200 and 'href="/admin/mail"' not in page.text


async def test_dashboard_and_registration_page_show_failed_and_retrying_mails(client, db, smtp_settings,
                                                                           smtp_server):
    await sign_in(client, "organiser")
    event = await make_event(title="Schwimmkurs")
    anna = await _person(event, "Anna")
    berat = await _person(event, "Berat")
    smtp_server.replies += ["451 4.3.0 Mailbox busy, try later", "550 5.1.1 No such user here"]
    now = utcnow()
    report = await delivery.deliver_due(smtp_settings, now=now)
    assert (report.retried, report.failed) == (1, 1)

    dashboard = (await client.get("/admin")).text
    failed = dashboard.split("E-Mails, die nicht zugestellt werden konnten", 1)[1].split("</table>", 1)[0]
    retrying = dashboard.split("E-Mails, die erneut versucht werden", 1)[1].split("</table>", 1)[0]
    assert "berat@example.org" in failed and "550 5.1.1 No such user here" in failed
    assert "Nicht zustellbar" in failed and "/requeue" in failed
    assert "anna@example.org" in retrying and "451 4.3.0 Mailbox busy, try later" in retrying
    assert "Wird erneut versucht" in retrying and "/requeue" not in retrying  # it is still being tried
    next_try = (await OutboxMessage.get(registration_id=anna.id)).next_attempt_at
    assert Formatter("de", smtp_settings.timezone).datetime(next_try) in retrying
    assert re.search(r"<td>1</td>", retrying)  # one attempt so far
    assert "Schwimmkurs" in failed and "Anmeldung bestätigt" in failed  # event and kind of mail

    page = (await client.get(f"/admin/events/{event.id}/registrations/{berat.id}")).text
    mails = page.split('id="mails"', 1)[1].split("</table>", 1)[0]
    assert "Anmeldung bestätigt" in mails and "Nicht zustellbar" in mails and "550 5.1.1 No such user here" in mails
    assert f'action="/admin/mail/{(await OutboxMessage.get(registration_id=berat.id)).id}/requeue"' in mails
    quiet = await _person(event, "Chiara")
    page = (await client.get(f"/admin/events/{event.id}/registrations/{quiet.id}")).text
    assert "Wartet auf Versand" in page.split('id="mails"', 1)[1]


@both_databases
async def test_failed_mail_is_sent_again_to_the_corrected_address(client, db, smtp_settings, smtp_server):
    me = await sign_in(client, "organiser")
    event = await make_event(phone_allowed=True)
    berat = await _person(event, "Berat")
    chiara = await _person(event, "Chiara")
    smtp_server.replies += ["550 5.1.1 No such user here"] * 2
    await delivery.deliver_due(smtp_settings)
    failed = await OutboxMessage.get(registration_id=berat.id)
    assert failed.state == OutboxState.FAILED
    url = f"/admin/mail/{failed.id}/requeue"
    back_to = f"/admin/events/{event.id}/registrations/{berat.id}"

    await client.post(f"{back_to}/contact", data={"csrf_token": me.csrf, "name": "Berat", "language": "de",
                                                  "email": "berat.korrekt@example.org", "phone": ""})
    response = await client.post(url, data={"csrf_token": me.csrf, "next": back_to})
    assert response.status_code == 303 and response.headers["location"] == f"{back_to}?done=requeued"
    again = await OutboxMessage.get(id=failed.id)
    assert (again.state, again.recipient, again.attempts) == (OutboxState.QUEUED, "berat.korrekt@example.org", 0)
    assert again.created_at > failed.created_at  # two more days of tries from now
    entry = await AuditEntry.get(action="mail.requeued")
    assert entry.user_id == me.user.id and entry.event_id == event.id
    assert entry.detail == {"registration_id": berat.id, "mail_id": failed.id, "template": "confirmed"}
    assert "Die E-Mail wird erneut verschickt." in (await client.get(response.headers["location"])).text

    report = await delivery.deliver_due(smtp_settings, now=utcnow() + timedelta(seconds=1))
    assert report.sent == 1
    [delivered] = smtp_server.to("berat.korrekt@example.org")
    assert delivered["Subject"].startswith("Anmeldung bestätigt")

    not_failed = await client.post(url, data={"csrf_token": me.csrf})  # sent now: nothing to do again
    assert not_failed.status_code == 409
    unknown = await client.post("/admin/mail/999999/requeue", data={"csrf_token": me.csrf})
    assert unknown.status_code == 404
    foreign = await client.post(url, data={"csrf_token": "x" * 43})
    assert foreign.status_code == 403
    other = await OutboxMessage.get(registration_id=chiara.id)
    outside = await client.post(f"/admin/mail/{other.id}/requeue",
                                data={"csrf_token": me.csrf, "next": "https://evil.example/"})
    assert outside.headers["location"] == "/admin?done=requeued"  # never away from the back office
    assert await AuditEntry.filter(action="mail.requeued").count() == 2


async def test_failed_mail_of_someone_without_an_address_now_is_refused(client, db, smtp_settings, smtp_server):
    me = await sign_in(client, "organiser")
    event = await make_event(phone_allowed=True)
    anna = await _person(event, "Anna")
    smtp_server.replies.append("550 5.1.1 No such user here")
    await delivery.deliver_due(smtp_settings)
    failed = await OutboxMessage.get(registration_id=anna.id)
    await client.post(f"/admin/events/{event.id}/registrations/{anna.id}/contact",
                      data={"csrf_token": me.csrf, "name": "Anna", "language": "de", "email": "",
                            "phone": "0641 306 1234"})
    response = await client.post(f"/admin/mail/{failed.id}/requeue", data={"csrf_token": me.csrf})
    assert response.status_code == 409
    assert "keine E-Mail-Adresse" in response.text
    assert (await OutboxMessage.get(id=failed.id)).state == OutboxState.FAILED
    assert not await AuditEntry.filter(action="mail.requeued").exists()
