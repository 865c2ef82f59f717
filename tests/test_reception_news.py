"""Receptions after the answers: a seat offered from the waiting list is shown and taken on the answer
page; invitees without e-mail whose place changed are on the organisers' call list; cancelling
tells the invitees who have not answered yet."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from events_app.backoffice import changes
from events_app.receptions import invitations
from events_app.mail import delivery
from events_app.receptions.invitations import Reply
from events_app.core.models import AuditEntry, Invitation, OutboxMessage, Registration, RegistrationStatus
from events_app.core.timeutil import utcnow
from tests.fixtures_backoffice import sign_in
from tests.fixtures_receptions import invite, make_reception

BERLIN = ZoneInfo("Europe/Berlin")


def plain_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


async def _registration(invitation: Invitation) -> Registration:
    return await Registration.get(id=(await Invitation.get(id=invitation.id)).registration_id)


async def test_a_seat_offered_after_waiting_is_shown_with_its_deadline_and_accepted_on_the_answer_page(client, db):
    event = await make_reception(capacity=2, offer_hours=24)
    first, second = await invite(event, 2)
    await invitations.answer(invitation_id=first.id, reply=Reply(accept=True, companions=1))  # the hall is full
    await invitations.answer(invitation_id=second.id, reply=Reply(accept=True))
    assert (await invitations.counts(event.id))["waiting"] == 1
    await invitations.answer(invitation_id=first.id, reply=Reply(accept=False))  # a seat comes free
    offered = await _registration(second)
    assert offered.status == RegistrationStatus.OFFERED
    counts = await invitations.counts(event.id)
    assert (counts["offered"], counts["offered_persons"], counts["accepted"], counts["waiting"]) == (1, 1, 0, 0)

    page = await client.get(f"/rsvp/{second.token}")
    deadline = offered.offer_expires_at.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M")
    assert f"Für Sie ist ein Platz frei. Bitte nehmen Sie ihn bis {deadline} Uhr an." in page.text
    assert "Sie kommen" not in page.text
    assert f'action="/rsvp/{second.token}/accept-seat"' in page.text and "Platz annehmen" in page.text

    accepted = await client.post(f"/rsvp/{second.token}/accept-seat")
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/rsvp/{second.token}?done=accepted"
    assert (await _registration(second)).status == RegistrationStatus.CONFIRMED
    assert (await Invitation.get(id=second.id)).status_told == "confirmed"
    assert await OutboxMessage.filter(template="confirmed", recipient="gast1@example.org").count() == 1
    page = await client.get(accepted.headers["location"])
    assert "Sie kommen. Wir freuen uns auf Sie." in page.text and "accept-seat" not in page.text
    counts = await invitations.counts(event.id)
    assert (counts["offered"], counts["accepted"], counts["accepted_persons"]) == (0, 1, 1)

    again = await client.post(f"/rsvp/{second.token}/accept-seat")
    assert again.status_code == 409 and "kein offenes Platzangebot" in again.text
    assert (await client.post("/rsvp/not-a-token/accept-seat")).status_code == 404


async def test_an_offer_past_its_deadline_shows_as_expired_and_cannot_be_taken(client, db):
    event = await make_reception(capacity=1, offer_hours=24)
    first, second = await invite(event, 2)
    await invitations.answer(invitation_id=first.id, reply=Reply(accept=True))
    await invitations.answer(invitation_id=second.id, reply=Reply(accept=True))
    await invitations.answer(invitation_id=first.id, reply=Reply(accept=False))
    offered = await _registration(second)
    await Registration.filter(id=offered.id).update(offer_expires_at=utcnow() - timedelta(minutes=1))

    late = await client.post(f"/rsvp/{second.token}/accept-seat")
    assert late.status_code == 409 and "abgelaufen" in late.text
    assert (await _registration(second)).status == RegistrationStatus.EXPIRED
    assert (await Invitation.get(id=second.id)).status_told == "expired"  # the page told them
    page = await client.get(f"/rsvp/{second.token}")
    assert "Ihr Platzangebot ist abgelaufen." in page.text and "accept-seat" not in page.text
    assert (await invitations.counts(event.id))["expired"] == 1
    # answering again queues them anew: the seat is free again, so it is theirs
    await client.post(f"/rsvp/{second.token}", data={"answer": "accept", "companions": "0"})
    assert (await _registration(second)).status == RegistrationStatus.CONFIRMED
    assert (await invitations.counts(event.id))["accepted"] == 1


async def test_invitees_without_email_whose_place_changes_are_on_the_call_list_until_told(client, db):
    event = await make_reception(capacity=1)  # without offer hours: promotion gives the seat at once
    first, second = await invite(event, 2, with_email=False)
    await invitations.answer(invitation_id=first.id, reply=Reply(accept=True))
    await invitations.answer(invitation_id=second.id, reply=Reply(accept=True))  # waiting list: the page says so
    assert await invitations.call_list(event.id) == []
    await invitations.answer(invitation_id=first.id, reply=Reply(accept=False))
    [call] = await invitations.call_list(event.id)
    assert (call.invitation.id, call.news) == (second.id, "confirmed")
    assert [c.invitation.id for c in (await invitations.send_reminders(event_id=event.id)).to_contact] == [second.id]

    me = await sign_in(client)
    overview = await client.get(f"/admin/events/{event.id}/invitations")
    assert "Nummer001, Gast" in overview.text and "Die Person hat jetzt einen Platz." in overview.text
    told_url = f"/admin/events/{event.id}/invitations/{second.id}/told"
    assert f'action="{told_url}"' in overview.text
    stale = await client.post(told_url, data={"csrf_token": me.csrf, "news": "offered"})  # not what it is now
    assert stale.status_code == 409
    assert (await client.post(told_url, data={"csrf_token": me.csrf})).status_code == 409
    done = await client.post(told_url, data={"csrf_token": me.csrf, "news": "confirmed"})
    assert done.status_code == 303
    assert await invitations.call_list(event.id) == []
    entry = await AuditEntry.get(action="invitation.told")
    assert (entry.user_id, entry.event_id, entry.detail) == (me.user.id, event.id,
                                                             {"invitation_id": second.id, "news": "confirmed"})
    overview = await client.get(done.headers["location"])
    assert "Zurzeit muss niemand ohne E-Mail-Adresse angerufen" in overview.text
    other = await make_reception()
    assert (await client.post(f"/admin/events/{other.id}/invitations/{second.id}/told",
                              data={"csrf_token": me.csrf, "news": "confirmed"})).status_code == 404


async def test_an_offer_and_its_expiry_reach_the_call_list_with_the_deadline(client, db):
    event = await make_reception(capacity=1, offer_hours=24)
    first, second = await invite(event, 2, with_email=False)
    pending = (await invite(await make_reception(), 1, with_email=False))[0]
    await invitations.answer(invitation_id=first.id, reply=Reply(accept=True))
    await invitations.answer(invitation_id=second.id, reply=Reply(accept=True))
    me = await sign_in(client)
    await changes.cancel_registration(event_id=event.id, registration_id=(await _registration(first)).id,
                                         by=me.user)
    calls = await invitations.call_list(event.id)
    assert {(c.invitation.id, c.news) for c in calls} == {(first.id, "cancelled"), (second.id, "offered")}
    offer = await _registration(second)
    overview = await client.get(f"/admin/events/{event.id}/invitations")
    deadline = offer.offer_expires_at.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M")
    assert f"Die Person muss ihn bis {deadline} Uhr annehmen" in overview.text
    assert "Platz angeboten" in overview.text  # in the counts and the invitee's row
    # not taken in time: the news is now that the offer expired
    await Registration.filter(id=offer.id).update(offer_expires_at=utcnow() - timedelta(minutes=1))
    await client.get(f"/rsvp/{second.token}")  # any look at the invitation expires due offers
    calls = await invitations.call_list(event.id)
    assert {(c.invitation.id, c.news) for c in calls} == {(first.id, "cancelled"), (second.id, "expired")}
    # and those who have not answered are listed as before, with nothing to mark
    [waiting_for_answer] = await invitations.call_list(pending.event_id)
    assert waiting_for_answer.news == "not_answered"
    overview = await client.get(f"/admin/events/{pending.event_id}/invitations")
    assert f"/invitations/{pending.id}/told" not in overview.text


async def test_cancelling_a_reception_tells_invitees_yet_to_answer_in_their_language(client, db, smtp_settings,
                                                                                      smtp_server):
    event = await make_reception(title="Einbürgerungsempfang 2026")
    waiting_en, coming, declined = await invite(event, 3)
    await Invitation.filter(id=waiting_en.id).update(language="en")
    await invitations.answer(invitation_id=coming.id, reply=Reply(accept=True))
    await invitations.answer(invitation_id=declined.id, reply=Reply(accept=False))
    no_email = await Invitation.create(event_id=event.id, last_name="Ohnemail", first_name="Olga",
                                       street="Weg 1", postcode="35390", city="Gießen", code="ZZZZZZZZZZZ",
                                       token="no-email-token-0123456789")
    await delivery.deliver_due(smtp_settings)
    before = len(smtp_server.received)

    me = await sign_in(client)
    cancelled = await client.post(f"/admin/events/{event.id}/cancel",
                                  data={"csrf_token": me.csrf, "reason": "Rathaus geschlossen", "confirm": "yes"})
    assert cancelled.status_code == 303
    await delivery.deliver_due(smtp_settings)
    news = {r.recipients[0]: r.message for r in smtp_server.received[before:]}
    assert set(news) == {"gast0@example.org", "gast1@example.org"}  # not who declined
    english = news["gast0@example.org"]
    text = plain_text(english)
    assert english["Subject"] == "Cancelled: Einbürgerungsempfang 2026"
    assert "You need not answer the invitation." in text and "Reason: Rathaus geschlossen" in text
    assert "Hello Gast Nummer000," in text
    german = news["gast1@example.org"]
    assert german["Subject"] == "Abgesagt: Einbürgerungsempfang 2026"
    assert "Ihre Anmeldung entfällt" in plain_text(german)
    # those without e-mail are phoned or written to, and nobody is reminded to answer any more
    assert [(c.invitation.id, c.news) for c in await invitations.call_list(event.id)] == [
        (no_email.id, "event_cancelled")]
    assert (await invitations.send_reminders(event_id=event.id)).mailed == 0
    overview = await client.get(f"/admin/events/{event.id}/invitations")
    assert "Ohnemail, Olga" in overview.text
    assert re.search(r"Ohnemail, Olga.*?Diese Veranstaltung wurde abgesagt", overview.text, re.S)
