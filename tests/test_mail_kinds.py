"""The mails other areas queue (address check, organiser message, certificate, invitation) go out
over real SMTP, and their links work."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from events_app.courses import attendance, certificates
from events_app.backoffice import changes
from events_app.receptions import list_files, invitee_import, invitations
from events_app.mail import delivery
from events_app.seats import signup
from events_app.core.models import OutboxMessage, OutboxState, Registration, RegistrationStatus
from events_app.seats.registration import Applicant
from events_app.core.wording import format_code
from tests.fixtures_mail import SmtpSink
from tests.helpers import make_event, make_user

pytestmark = pytest.mark.usefixtures("db")


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


async def deliver_all(settings) -> None:
    await delivery.deliver_due(settings)
    failed = await OutboxMessage.filter(state__in=[OutboxState.FAILED, OutboxState.RETRY]).values_list(
        "template", "last_error")
    assert failed == []


async def test_staff_signup_mail_carries_a_working_verification_link(client, smtp_settings, smtp_server: SmtpSink):
    event = await make_event(audience="staff", title="Interkulturelle Kompetenz")
    outcome = await signup.sign_up(event_id=event.id, staff_domains=smtp_settings.staff_domains,
                                   applicant=Applicant(name="Jana Roth", email="jana.roth@giessen.de",
                                                       answers={"department": "Ordnungsamt"}))
    assert outcome.registration.status == RegistrationStatus.PENDING
    await deliver_all(smtp_settings)
    [mail] = smtp_server.to("jana.roth@giessen.de")
    assert "Interkulturelle Kompetenz" in mail["Subject"]
    link = re.search(r"https?://\S+/verify\?code=\S+", text_of(mail)).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = await client.get("/" + path)
    assert page.status_code == 200
    code = re.search(r'name="code" value="([^"]+)"', page.text).group(1)
    confirmed = await client.post(f"/r/{outcome.registration.manage_token}/verify", data={"code": code})
    assert confirmed.status_code in (200, 303)
    assert (await Registration.get(id=outcome.registration.id)).status == RegistrationStatus.CONFIRMED


async def test_organiser_message_reaches_the_confirmed(smtp_settings, smtp_server: SmtpSink):
    from events_app.seats import registration

    event = await make_event(title="Global Village")
    await registration.register(event_id=event.id, applicant=Applicant(name="Verein A", email="a@example.org"))
    user, _ = await make_user("organiser")
    sent = await changes.message_group(event_id=event.id, group="confirmed", subject="Aufbau ab 10 Uhr",
                                          body="Bitte bringen Sie Verlängerungskabel mit.", by=user)
    assert sent == 1
    await deliver_all(smtp_settings)
    mails = [m for m in smtp_server.to("a@example.org") if m["Subject"] == "Aufbau ab 10 Uhr"]
    assert len(mails) == 1 and "Verlängerungskabel" in text_of(mails[0])


async def test_certificate_mail_links_to_the_pdf(client, smtp_settings, smtp_server: SmtpSink):
    from events_app.seats import registration

    event = await make_event(title="Workshop Vielfalt")
    outcome = await registration.register(event_id=event.id, applicant=Applicant(name="Ali Demir", email="ali@example.org"))
    from events_app.core.models import EventSession

    session = await EventSession.get(event_id=event.id)
    after = session.ends_at + timedelta(minutes=1)  # the workshop has taken place
    await attendance.record(registration_id=outcome.registration.id, session_id=session.id, present=True, now=after)
    await certificates.issue(registration_id=outcome.registration.id, send_mail=True, now=after)
    await deliver_all(smtp_settings)
    mail = [m for m in smtp_server.to("ali@example.org") if "Workshop Vielfalt" in m["Subject"]][-1]
    url = re.search(r"https?://\S+/certificate\.pdf", text_of(mail)).group(0)
    pdf = await client.get("/" + url.split("://", 1)[1].split("/", 1)[1])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_invitation_mail_has_code_and_link(smtp_settings, smtp_server: SmtpSink):
    event = await make_event(audience="invitation", title="Einbürgerungsempfang", max_companions=2)
    table = list_files.read_table("Vorname;Nachname;E-Mail;Straße;PLZ;Ort\r\nRania;Al-Hassan;rania@example.org;"
                                 "Liebigstraße 5;35392;Gießen\r\n".encode("utf-8"))
    await invitee_import.import_invitations(event_id=event.id, table=table)
    assert await invitations.send_invitation_mails(event_id=event.id) == 1
    await deliver_all(smtp_settings)
    [mail] = smtp_server.to("rania@example.org")
    invitation = await invitations.Invitation.get(event_id=event.id)
    body = text_of(mail)
    assert "Einbürgerungsempfang" in mail["Subject"]
    assert format_code(invitation.code) in body and f"/rsvp/{invitation.token}" in body
