"""The personal page (/r/{token}): changes under the seat rules, cancelling with a confirmation and an undo
while the seat is free, the check-in code, calendar links and the office's contact. The answer page for
invitees: the deadline after answering, a phone number asked of those without e-mail, contact on errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events_app.core import errors
from events_app.core.models import Event, Invitation, OutboxMessage, Question, Registration, RegistrationStatus
from events_app.core.i18n import Formatter
from events_app.core.timeutil import utcnow
from events_app.seats import personal, registration
from events_app.seats.registration import Applicant
from tests.fixtures_receptions import invite
from tests.helpers import both_databases, make_event

CONFIRMED, WAITING, CANCELLED = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED, RegistrationStatus.CANCELLED


async def _register(event, name: str, **fields):
    outcome = await registration.register(event_id=event.id, applicant=Applicant(
        name=name, email=fields.pop("email", f"{name.lower()}@example.org"), **fields), languages=("de", "ar"))
    return outcome.registration


@both_databases
async def test_more_companions_only_if_seats_are_free_fewer_move_the_waiting_list(db):
    event = await make_event(capacity=3, max_companions=2)
    anna = await _register(event, "Anna")
    berat = await _register(event, "Berat")
    with pytest.raises(errors.MoreSeatsUnavailable):  # 1 seat free, 2 asked for: nothing changes
        await personal.change(token=anna.manage_token, changes=personal.Changes(companions=2))
    assert (await Registration.get(id=anna.id)).seats == 1 and (await Event.get(id=event.id)).seats_taken == 2
    with pytest.raises(errors.ValidationFailed):  # above the event's limit
        await personal.change(token=anna.manage_token, changes=personal.Changes(companions=3))
    await personal.change(token=anna.manage_token, changes=personal.Changes(companions=1))
    assert (await Registration.get(id=anna.id)).seats == 2 and (await Event.get(id=event.id)).seats_taken == 3
    chiara = await _register(event, "Chiara")
    assert chiara.status == WAITING
    await personal.change(token=anna.manage_token, changes=personal.Changes(companions=0))
    assert (await Registration.get(id=chiara.id)).status in (CONFIRMED, RegistrationStatus.OFFERED)
    assert (await Event.get(id=event.id)).seats_taken == 3 and (await Registration.get(id=berat.id)).status == CONFIRMED


@both_databases
async def test_undo_a_cancellation_while_the_seat_is_free_and_not_after_it_went_to_someone(db):
    event = await make_event(capacity=1)
    anna = await _register(event, "Anna")
    await registration.cancel(token=anna.manage_token)
    restored = await personal.undo_cancel(token=anna.manage_token)
    assert restored.status == CONFIRMED and (await Event.get(id=event.id)).seats_taken == 1
    assert await OutboxMessage.filter(registration_id=anna.id, template="confirmed").count() == 2
    berat = await _register(event, "Berat")  # waits for Anna's seat
    await registration.cancel(token=anna.manage_token)
    assert (await Registration.get(id=berat.id)).status == CONFIRMED
    with pytest.raises(errors.UndoNotPossible):
        await personal.undo_cancel(token=anna.manage_token)
    assert (await Registration.get(id=anna.id)).status == CANCELLED and (await Event.get(id=event.id)).seats_taken == 1
    await registration.cancel(token=berat.manage_token)
    later = utcnow() + personal.UNDO_WINDOW + timedelta(minutes=1)
    with pytest.raises(errors.UndoNotPossible):  # too long ago
        await personal.undo_cancel(token=berat.manage_token, now=later)


async def test_personal_page_changes_asks_before_cancelling_and_offers_undo(client, db):
    event = await make_event(capacity=2, max_companions=1)
    await Question.create(event=event, key="diet", label="Essen", kind="choice", choices=["vegetarisch", "alles"],
                          position=0)
    anna = await _register(event, "Anna", answers={"diet": "alles"})
    page = await client.get(f"/r/{anna.manage_token}")
    assert page.status_code == 200
    assert 'alt="QR-Code für den Einlass"' in page.text and "data:image/png;base64," in page.text
    assert f"/r/{anna.manage_token}/calendar.ics" in page.text and "webcal://" in page.text
    assert "0641 306-0" in page.text and "integration@giessen.de" in page.text
    too_many = await client.post(f"/r/{anna.manage_token}/change", data={"companions": "4", "language": "de",
                                                                          "phone": "", "q_diet": "alles"})
    assert too_many.status_code == 422 and 'id="f-companions"' in too_many.text
    bad_phone = await client.post(f"/r/{anna.manage_token}/change", data={"companions": "1", "language": "de",
                                                                           "phone": "ruf mich an", "q_diet": "alles"})
    assert bad_phone.status_code == 422 and 'aria-invalid="true"' in bad_phone.text
    assert (await Registration.get(id=anna.id)).seats == 1  # nothing of a refused change is kept
    changed = await client.post(f"/r/{anna.manage_token}/change", data={
        "companions": "1", "language": "ar", "phone": "0641 1234567", "q_diet": "vegetarisch"})
    assert changed.status_code == 303 and "done=changed" in changed.headers["location"]
    stored = await Registration.get(id=anna.id)
    assert (stored.seats, stored.language, stored.phone, stored.answers) == (2, "ar", "0641 1234567",
                                                                              {"diet": "vegetarisch"})

    asked = await client.get(f"/r/{anna.manage_token}/cancel")
    assert "Möchten Sie Ihren Platz wirklich abgeben?" in asked.text
    assert (await Registration.get(id=anna.id)).status == CONFIRMED
    await client.post(f"/r/{anna.manage_token}/cancel", data={"confirm": "1"})
    cancelled = await client.get(f"/r/{anna.manage_token}")
    assert (await Registration.get(id=anna.id)).status == CANCELLED
    assert f'action="/r/{anna.manage_token}/undo"' in cancelled.text and "data:image/png" not in cancelled.text
    undone = await client.post(f"/r/{anna.manage_token}/undo")
    assert undone.status_code == 303 and (await Registration.get(id=anna.id)).status == CONFIRMED


async def test_phone_only_people_keep_a_phone_number(client, db):
    event = await make_event(capacity=2, phone_allowed=True)
    hamid = await _register(event, "Hamid", email="", phone="0641 555")
    emptied = await client.post(f"/r/{hamid.manage_token}/change", data={"phone": ""})
    assert emptied.status_code == 422 and (await Registration.get(id=hamid.id)).phone == "0641 555"


async def test_answer_page_gives_the_deadline_asks_for_a_phone_and_shows_the_contact(client, reception, settings):
    [person] = await invite(reception, 1, with_email=False)
    page = await client.get(f"/rsvp/{person.token}")
    assert 'name="phone"' in page.text and "0641 306-0" in page.text
    wrong = await client.post(f"/rsvp/{person.token}", data={"answer": "accept", "phone": "keins"})
    assert wrong.status_code == 422 and "0641 306-0" in wrong.text and "integration@giessen.de" in wrong.text
    answered = await client.post(f"/rsvp/{person.token}", data={"answer": "accept", "phone": "0176 1234567"})
    assert answered.status_code == 303
    thanks = await client.get(answered.headers["location"])
    deadline = Formatter("de", settings.timezone).datetime(reception.registration_closes_at)
    assert f"Sie können sie hier bis {deadline} ändern." in thanks.text
    invitation = await Invitation.get(id=person.id)
    seat = await Registration.get(id=invitation.registration_id)
    assert invitation.phone == seat.phone == "0176 1234567"
    assert f"/r/{seat.manage_token}" in thanks.text  # the personal page with the check-in code
    code_page = await client.post("/rsvp", data={"code": "AAAA-BBBB-CCC"})
    assert code_page.status_code == 404 and "0641 306-0" in code_page.text
