"""Registrations by hand: add, cancel, promote (also beyond capacity), back to waiting, resend, edit, message."""

from __future__ import annotations

from events_app.mail import delivery
from events_app.core.models import AuditEntry, Event, OutboxMessage, Question, Registration, RegistrationStatus
from events_app.seats.registration import Applicant, register, seat_counts
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, make_event


async def _people(event, *names, **extra):
    made = []
    for name in names:
        outcome = await register(event_id=event.id, applicant=Applicant(name=name, email=f"{name.lower()}@example.org",
                                                                        **extra))
        made.append(outcome.registration)
    return made


async def _status(registration) -> RegistrationStatus:
    return (await Registration.get(id=registration.id)).status


async def test_add_by_hand_with_a_phone_number_even_after_closing(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=1, phone_allowed=True, max_companions=2, kind="course")
    await Question.create(event=event, key="childcare", label="Kinderbetreuung", kind="yesno")
    await Event.filter(id=event.id).update(registration_closes_at=event.created_at)
    url = f"/admin/events/{event.id}/registrations/new"
    first = await client.post(url, data={"csrf_token": me.csrf, "name": "Fatima Rahimi", "phone": "0641 306 1234",
                                         "language": "fa", "companions": "1", "q_childcare": "yes"})
    assert first.status_code == 303 and "done=added_waiting" in first.headers["location"]  # 2 seats > capacity 1
    second = await client.post(url, data={"csrf_token": me.csrf, "name": "Olena", "email": "olena@example.org",
                                          "language": "uk"})
    assert "done=added" in second.headers["location"]
    fatima = await Registration.get(name="Fatima Rahimi")
    assert (fatima.status, fatima.language, fatima.seats, fatima.answers) == \
        (RegistrationStatus.WAITLISTED, "fa", 2, {"childcare": True})
    assert (await Registration.get(name="Olena")).status == RegistrationStatus.CONFIRMED
    assert await AuditEntry.filter(action="registration.added", event_id=event.id).count() == 2
    invalid = await client.post(url, data={"csrf_token": me.csrf, "name": "", "email": "kaputt@", "language": "de"})
    assert invalid.status_code == 422 and 'aria-invalid="true"' in invalid.text
    assert await Registration.filter(event_id=event.id).count() == 2


@both_databases
async def test_list_filters_and_search_and_waiting_positions(client, db):
    await sign_in(client, "organiser")
    event = await make_event(capacity=2)
    await Question.create(event=event, key="power", label="Strom", kind="yesno")
    await _people(event, "Anna", "Berat")
    await register(event_id=event.id, applicant=Applicant(name="Chiara", email="c@example.org", language="en",
                                                          answers={"power": True}),
                   languages=("de", "en"))
    await register(event_id=event.id, applicant=Applicant(name="Dilan", email="d@example.org", phone="0641 99999"))
    base = f"/admin/events/{event.id}"
    page = await client.get(base)
    waiting_block = page.text.split('id="waiting"')[1].split('id="registrations"')[0]
    assert waiting_block.index("Chiara") < waiting_block.index("Dilan")
    assert "1.</span>" in waiting_block and "2.</span>" in waiting_block
    only_waiting = await client.get(base, params={"status": "waitlisted"})
    table = only_waiting.text.split('id="registrations"')[1]
    assert "Chiara" in table and "Anna" not in table
    english = (await client.get(base, params={"language": "en"})).text.split('id="registrations"')[1]
    assert "Chiara" in english and "Berat" not in english
    by_phone = (await client.get(base, params={"q": "99999"})).text.split('id="registrations"')[1]
    assert "Dilan" in by_phone and "Anna" not in by_phone
    by_answer = (await client.get(base, params={"answer_key": "power", "answer_value": "ja"})).text.split(
        'id="registrations"')[1]
    assert "Chiara" in by_answer and "Dilan" not in by_answer
    nonsense = await client.get(base, params={"status": "nonsense", "language": "xx", "answer_key": "nope"})
    assert nonsense.status_code == 200


@both_databases
async def test_cancel_frees_the_seat_for_the_next_in_line(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=1)
    anna, berat = await _people(event, "Anna", "Berat")
    url = f"/admin/events/{event.id}/registrations/{anna.id}/cancel"
    unconfirmed = await client.post(url, data={"csrf_token": me.csrf})
    assert unconfirmed.status_code == 422 and await _status(anna) == RegistrationStatus.CONFIRMED
    response = await client.post(url, data={"csrf_token": me.csrf, "confirm": "yes"})
    assert response.status_code == 303
    assert (await _status(anna), await _status(berat)) == (RegistrationStatus.CANCELLED, RegistrationStatus.CONFIRMED)
    again = await client.post(url, data={"csrf_token": me.csrf, "confirm": "yes"})
    assert again.status_code == 409
    entry = await AuditEntry.get(action="registration.cancelled")
    assert entry.detail == {"registration_id": anna.id, "promoted": [berat.id]}
    other = await make_event()
    wrong_event = await client.post(f"/admin/events/{other.id}/registrations/{berat.id}/cancel",
                                    data={"csrf_token": me.csrf, "confirm": "yes"})
    assert wrong_event.status_code == 404


@both_databases
async def test_promote_beyond_capacity_needs_explicit_confirmation(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=1)
    anna, berat = await _people(event, "Anna", "Berat")
    url = f"/admin/events/{event.id}/registrations/{berat.id}/promote"
    asked = await client.post(url, data={"csrf_token": me.csrf})
    assert asked.status_code == 303 and f"confirm_promote={berat.id}" in asked.headers["location"]
    assert await _status(berat) == RegistrationStatus.WAITLISTED
    confirm_page = await client.get(asked.headers["location"])
    assert 'name="beyond_capacity"' in confirm_page.text
    done = await client.post(url, data={"csrf_token": me.csrf, "beyond_capacity": "yes"})
    assert done.status_code == 303
    assert await _status(berat) == RegistrationStatus.CONFIRMED
    assert (await Event.get(id=event.id)).seats_taken == 2
    assert (await seat_counts(event.id))["confirmed"] == 2
    assert (await AuditEntry.get(action="registration.promoted")).detail["beyond_capacity"] is True
    history = (await client.get(f"/admin/events/{event.id}")).text
    assert "registration.promoted" in history and me.user.email in history
    assert await OutboxMessage.filter(template="promoted", registration_id=berat.id).exists()
    twice = await client.post(url, data={"csrf_token": me.csrf})
    assert twice.status_code == 409


async def test_promote_with_a_free_seat_skips_the_queue(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=1)
    anna, berat, chiara = await _people(event, "Anna", "Berat", "Chiara")
    await Event.filter(id=event.id).update(capacity=2)  # a seat appears without moving the list
    response = await client.post(f"/admin/events/{event.id}/registrations/{chiara.id}/promote",
                                 data={"csrf_token": me.csrf})
    assert "done=promoted" in response.headers["location"]
    assert (await _status(berat), await _status(chiara)) == (RegistrationStatus.WAITLISTED, RegistrationStatus.CONFIRMED)
    assert (await Event.get(id=event.id)).seats_taken == 2


@both_databases
async def test_move_back_to_the_waiting_list(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=1)
    anna, berat = await _people(event, "Anna", "Berat")
    asked = await client.post(f"/admin/events/{event.id}/registrations/{anna.id}/waitlist",
                              data={"csrf_token": me.csrf})  # first the question, nothing moves yet
    assert asked.status_code == 200 and "1 Person" in asked.text and "Anna" in asked.text
    assert await _status(anna) == RegistrationStatus.CONFIRMED
    response = await client.post(f"/admin/events/{event.id}/registrations/{anna.id}/waitlist",
                                 data={"csrf_token": me.csrf, "confirm": "yes"})
    assert response.status_code == 303
    assert (await _status(anna), await _status(berat)) == (RegistrationStatus.WAITLISTED, RegistrationStatus.CONFIRMED)
    assert (await Event.get(id=event.id)).seats_taken == 1
    told = await OutboxMessage.filter(template="waitlisted", registration_id=anna.id).order_by("-id").first()
    assert told.context["position"] == 1
    not_holding = await client.post(f"/admin/events/{event.id}/registrations/{anna.id}/waitlist",
                                    data={"csrf_token": me.csrf, "confirm": "yes"})
    assert not_holding.status_code == 409


async def test_resend_and_edit_contact(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(phone_allowed=True)
    (anna,) = await _people(event, "Anna")
    before = await OutboxMessage.filter(registration_id=anna.id, template="confirmed").count()
    response = await client.post(f"/admin/events/{event.id}/registrations/{anna.id}/resend",
                                 data={"csrf_token": me.csrf})
    assert "done=resent" in response.headers["location"]
    assert await OutboxMessage.filter(registration_id=anna.id, template="confirmed").count() == before + 1
    url = f"/admin/events/{event.id}/registrations/{anna.id}/contact"
    bad = await client.post(url, data={"csrf_token": me.csrf, "name": "Anna", "email": "anna(at)example.org",
                                       "phone": "", "language": "de"})
    assert bad.status_code == 422
    good = await client.post(url, data={"csrf_token": me.csrf, "name": "Anna Schmidt", "email": "",
                                        "phone": "0641 123456", "language": "tr"})
    assert good.status_code == 303
    anna = await Registration.get(id=anna.id)
    assert (anna.name, anna.email, anna.phone, anna.language) == ("Anna Schmidt", "", "0641 123456", "tr")
    entry = await AuditEntry.get(action="registration.contact_changed")
    assert entry.detail["fields"] == ["email", "language", "name", "phone"]
    assert "Anna" not in str(entry.detail)  # the log names fields, not personal data
    no_mail = await client.post(f"/admin/events/{event.id}/registrations/{anna.id}/resend", data={"csrf_token": me.csrf})
    assert "done=no_email" in no_mail.headers["location"]


async def test_organiser_cancel_tells_the_person_the_organisers_cancelled(client, db, smtp_settings, smtp_server):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=1)
    anna, berat = await _people(event, "Anna", "Berat")
    refused = await client.post(f"/admin/events/{event.id}/registrations/{anna.id}/cancel",
                                data={"csrf_token": me.csrf, "reason": "Doppelt angemeldet"})
    assert refused.status_code == 422  # not confirmed: nothing happens, nobody is written to
    assert await _status(anna) == RegistrationStatus.CONFIRMED
    response = await client.post(f"/admin/events/{event.id}/registrations/{anna.id}/cancel",
                                 data={"csrf_token": me.csrf, "confirm": "yes", "reason": "Doppelt angemeldet"})
    assert "done=cancelled" in response.headers["location"]
    await delivery.deliver_due(smtp_settings)
    *_, cancellation = smtp_server.to("anna@example.org")
    text = cancellation.get_body(preferencelist=("plain",)).get_content()
    html = cancellation.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert "das Organisationsteam hat Ihre Anmeldung zu dieser Veranstaltung storniert." in body
        assert "Grund: Doppelt angemeldet" in body
        assert "wie gewünscht" not in body
    assert [m["Subject"] for m in smtp_server.to("berat@example.org")][-1].startswith("Sie haben einen Platz")
    # sent again later, it keeps the organisers' words
    await client.post(f"/admin/events/{event.id}/registrations/{anna.id}/resend", data={"csrf_token": me.csrf})
    assert (await OutboxMessage.filter(registration_id=anna.id).order_by("-id").first()).template == \
        "cancelled_by_organiser"


async def test_message_all_confirmed_or_all_waiting(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=2)
    await _people(event, "Anna", "Berat", "Chiara")
    url = f"/admin/events/{event.id}/message"
    empty = await client.post(url, data={"csrf_token": me.csrf, "group": "confirmed", "subject": "", "body": ""})
    assert empty.status_code == 422
    bad_group = await client.post(url, data={"csrf_token": me.csrf, "group": "everyone", "subject": "x", "body": "y"})
    assert bad_group.status_code == 422
    asked = await client.post(url, data={"csrf_token": me.csrf, "group": "confirmed", "subject": "Raumänderung",
                                         "body": "Wir treffen uns in Raum 2.14."})
    assert asked.status_code == 200 and "2 Personen" in asked.text  # how many, before anything is sent
    assert not await OutboxMessage.filter(template="organiser_message").exists()
    sent = await client.post(url, data={"csrf_token": me.csrf, "group": "confirmed", "subject": "Raumänderung",
                                        "body": "Wir treffen uns in Raum 2.14.", "confirm": "1"})
    assert sent.status_code == 303
    mails = await OutboxMessage.filter(template="organiser_message")
    assert sorted(m.recipient for m in mails) == ["anna@example.org", "berat@example.org"]
    assert mails[0].context["subject"] == "Raumänderung" and mails[0].context["body"] == "Wir treffen uns in Raum 2.14."
    await client.post(url, data={"csrf_token": me.csrf, "group": "waitlisted", "subject": "Warteliste", "body": "Geduld",
                                 "confirm": "1"})
    assert [m.recipient for m in await OutboxMessage.filter(template="organiser_message")
            if m.context["subject"] == "Warteliste"] == ["chiara@example.org"]
    assert (await AuditEntry.filter(action="event.message_sent").order_by("id").first()).detail == {
        "group": "confirmed", "mails": 2}


async def test_long_lists_are_paged_and_keep_the_filters(client, db):
    await sign_in(client, "organiser")
    event = await make_event(capacity=500)
    from events_app.seats.registration import new_token
    from events_app.core.timeutil import utcnow

    await Registration.bulk_create([
        Registration(event_id=event.id, name=f"Person {i:03d}", email=f"p{i}@example.org",
                     status=RegistrationStatus.CONFIRMED,
                     queued_at=utcnow(), manage_token=new_token(), checkin_token=new_token()) for i in range(250)])
    first = await client.get(f"/admin/events/{event.id}", params={"status": "confirmed"})
    assert "Person 000" in first.text and "Person 100" not in first.text
    assert "250" in first.text and "status=confirmed" in first.text and "page=3" in first.text
    third = await client.get(f"/admin/events/{event.id}", params={"status": "confirmed", "page": "3"})
    assert "Person 249" in third.text and "Person 000" not in third.text
    beyond = await client.get(f"/admin/events/{event.id}", params={"page": "99"})
    assert beyond.status_code == 200 and "Person 249" in beyond.text
    nonsense = await client.get(f"/admin/events/{event.id}", params={"page": "x"})
    assert nonsense.status_code == 200 and "Person 000" in nonsense.text


@both_databases
async def test_two_organisers_promoting_into_one_seat_get_one_seat(db):
    """Two hand promotions at once for the last seat: the lock lets exactly one through."""
    import asyncio

    from events_app.backoffice import changes
    from events_app.core import errors
    from tests.helpers import make_user

    user, _ = await make_user("organiser")
    event = await make_event(capacity=1)
    anna, berat, chiara = await _people(event, "Anna", "Berat", "Chiara")
    await Event.filter(id=event.id).update(capacity=2)  # one seat free, nobody promoted yet
    results = await asyncio.gather(
        changes.promote(event_id=event.id, registration_id=berat.id, by=user),
        changes.promote(event_id=event.id, registration_id=chiara.id, by=user),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["NotEnoughSeats", "Registration"]
    assert isinstance([r for r in results if isinstance(r, Exception)][0], errors.NotEnoughSeats)
    assert (await Event.get(id=event.id)).seats_taken == 2
    assert (await seat_counts(event.id))["confirmed"] == 2


async def test_moving_back_with_nobody_else_waiting_gives_the_seat_again(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=1)
    (anna,) = await _people(event, "Anna")
    response = await client.post(f"/admin/events/{event.id}/registrations/{anna.id}/waitlist",
                                 data={"csrf_token": me.csrf, "confirm": "yes"})
    assert "done=moved_back_promoted" in response.headers["location"]
    assert await _status(anna) == RegistrationStatus.CONFIRMED and (await Event.get(id=event.id)).seats_taken == 1
