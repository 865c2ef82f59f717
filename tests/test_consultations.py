"""Consultation hours: slots from a weekly pattern across summer time, booking once under a rush (with its
negative control), one slot per person and day, cancel and move, mails with the calendar file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time as time_module
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import icalendar
import pytest
from tortoise import connections

from events_app.consultations import bookings, slots
from events_app.core import errors
from events_app.core.models import BookingStatus, ConsultationSlot, OutboxMessage, SlotBooking
from events_app.mail import delivery
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, make_event, make_user

UTC = timezone.utc
ROOT = Path(__file__).resolve().parent.parent


def _pattern(**overrides) -> slots.Pattern:
    values = {"weekday": 2, "start": "10:00", "end": "12:00", "minutes": 20, "first": "2026-03-24",
              "last": "2026-03-31"}
    values.update(overrides)
    return slots.check_pattern(values)


def test_slots_keep_their_local_time_across_the_change_to_summer_time():
    # Sunday 29 March 2026: clocks go from 02:00 to 03:00 in Berlin
    planned = slots.plan(_pattern(weekday=7, start="10:00", end="11:00", minutes=30, first="2026-03-22",
                                  last="2026-04-05"), timezone="Europe/Berlin")
    starts = [start for start, _ in planned]
    assert starts == [datetime(2026, 3, 22, 9, 0, tzinfo=UTC), datetime(2026, 3, 22, 9, 30, tzinfo=UTC),
                      datetime(2026, 3, 29, 8, 0, tzinfo=UTC), datetime(2026, 3, 29, 8, 30, tzinfo=UTC),
                      datetime(2026, 4, 5, 8, 0, tzinfo=UTC), datetime(2026, 4, 5, 8, 30, tzinfo=UTC)]
    assert all(end - start == timedelta(minutes=30) for start, end in planned)


def test_slots_keep_their_local_time_across_the_change_back_and_skip_holidays():
    # Sunday 25 October 2026: clocks go back from 03:00 to 02:00; Tuesday 27 October skipped
    planned = slots.plan(_pattern(weekday=2, start="09:00", end="09:40", minutes=20, first="2026-10-19",
                                  last="2026-11-03", skip=["2026-10-27"]), timezone="Europe/Berlin")
    assert [start for start, _ in planned] == [
        datetime(2026, 10, 20, 7, 0, tzinfo=UTC), datetime(2026, 10, 20, 7, 20, tzinfo=UTC),
        datetime(2026, 11, 3, 8, 0, tzinfo=UTC), datetime(2026, 11, 3, 8, 20, tzinfo=UTC)]


@pytest.mark.parametrize("change, field", [
    ({"weekday": 8}, "weekday"), ({"weekday": True}, "weekday"), ({"start": "25:00"}, "start"),
    ({"end": "09:00"}, "end"), ({"minutes": 0}, "minutes"), ({"minutes": "zwanzig"}, "minutes"),
    ({"first": "24.03.2026"}, "first"), ({"last": "2026-03-01"}, "last"), ({"last": "2028-03-01"}, "last"),
    ({"skip": ["morgen"]}, "skip"), ({"skip": 5}, "skip"),
])
def test_a_bad_pattern_names_the_field(change, field):
    with pytest.raises(errors.ValidationFailed) as caught:
        _pattern(**change)
    assert field in caught.value.fields


async def _consultation(**overrides):
    values = {"kind": "consultation", "title": "Sprechstunde für neu angekommene Frauen", "capacity": 1,
              "location": "Integrationsbüro, Berliner Platz 1"}
    values.update(overrides)
    return await make_event(**values)


def _future_tuesday(weeks: int = 2) -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=(1 - today.weekday()) % 7 + 7 * weeks)


async def test_api_makes_slots_lists_them_and_refuses_bad_input(client, db):
    event = await _consultation()
    _, token = await make_user()
    first = _future_tuesday()
    body = {"weekday": 2, "start": "10:00", "end": "11:00", "minutes": 20, "first": first.isoformat(),
            "last": (first + timedelta(days=7)).isoformat(), "skip": [(first + timedelta(days=7)).isoformat()]}
    assert (await client.post(f"/api/v1/events/{event.id}/slots", json=body)).status_code == 401
    made = await client.post(f"/api/v1/events/{event.id}/slots", json=body, headers={"authorization": f"Bearer {token}"})
    assert made.status_code == 201, made.text
    assert len(made.json()) == 3 and all(s["free"] for s in made.json())
    again = await client.post(f"/api/v1/events/{event.id}/slots", json=body, headers={"authorization": f"Bearer {token}"})
    assert again.status_code == 201 and again.json() == []  # the same pattern twice makes nothing new
    assert await ConsultationSlot.filter(event_id=event.id).count() == 3
    listed = (await client.get(f"/api/v1/events/{event.id}/slots")).json()
    assert [s["id"] for s in listed] == [s["id"] for s in made.json()]
    assert set(listed[0]) == {"id", "starts_at", "ends_at", "free"}

    bad = await client.post(f"/api/v1/events/{event.id}/slots", json={**body, "weekday": 9},
                            headers={"authorization": f"Bearer {token}", "accept-language": "de"})
    assert bad.status_code == 422 and "weekday" in bad.json()["errors"]
    workshop = await make_event()
    wrong_kind = await client.post(f"/api/v1/events/{workshop.id}/slots", json=body,
                                   headers={"authorization": f"Bearer {token}"})
    assert wrong_kind.status_code == 409 and wrong_kind.json()["type"] == "/problems/not-consultation"


async def _slots(event, count: int = 3, *, first: date | None = None, weeks: int = 2) -> list[ConsultationSlot]:
    first = first or _future_tuesday(weeks)
    return await slots.create_slots(event_id=event.id, timezone="Europe/Berlin", pattern=slots.Pattern(
        weekday=first.isoweekday(), start=time(9, 0), end=time(9 + count // 3, 20 * (count % 3)), minutes=20, first=first,
        last=first))


@both_databases
async def test_booking_a_taken_slot_is_409_with_the_next_free_slots(client, db):
    event = await _consultation()
    first, second, third = await _slots(event)
    answer = await client.post(f"/api/v1/slots/{first.id}/bookings", json={
        "name": "Amina", "phone": "0641 306-1234", "language": "ar", "interpreter_needed": True,
        "interpreter_language": "Dari"})
    assert answer.status_code == 201, answer.text
    assert set(answer.json()) == {"id", "manage_url"} and "/b/" in answer.json()["manage_url"]
    booking = await SlotBooking.get(id=answer.json()["id"])
    assert (booking.interpreter_language, booking.held_slot) == ("prs", first.id)

    taken = await client.post(f"/api/v1/slots/{first.id}/bookings", json={"name": "Olena", "email": "o@example.org"},
                              headers={"accept-language": "de"})
    assert taken.status_code == 409
    problem = taken.json()
    assert problem["type"] == "/problems/slot-taken"
    assert [s["id"] for s in problem["next_free_slots"]] == [second.id, third.id]
    assert "Nächste freie Termine" in problem["detail"]
    listed = {s["id"]: s["free"] for s in (await client.get(f"/api/v1/events/{event.id}/slots")).json()}
    assert listed == {first.id: False, second.id: True, third.id: True}


@both_databases
async def test_one_slot_per_person_and_day_by_email_or_phone(client, db):
    event = await _consultation()
    first, second, _ = await _slots(event)
    [next_week] = await _slots(event, 1, weeks=3)
    ok = await client.post(f"/api/v1/slots/{first.id}/bookings", json={"name": "Amina", "email": "Amina@Example.org"})
    assert ok.status_code == 201
    same_day = await client.post(f"/api/v1/slots/{second.id}/bookings",
                                 json={"name": "Amina K.", "email": "amina@example.org"})
    assert same_day.status_code == 409 and same_day.json()["type"] == "/problems/one-slot-per-day"
    # by phone: 0641 ... and +49 641 ... are the same number
    by_phone = await client.post(f"/api/v1/slots/{second.id}/bookings", json={"name": "Zahra", "phone": "0641 111 222"})
    assert by_phone.status_code == 201
    [other] = [s for s in await ConsultationSlot.filter(event_id=event.id) if s.id not in (first.id, second.id)
               and s.starts_at.date() == first.starts_at.date()]
    same_phone = await client.post(f"/api/v1/slots/{other.id}/bookings", json={"name": "Zahra", "phone": "+49 641 111222"})
    assert same_phone.status_code == 409
    assert (await client.post(f"/api/v1/slots/{next_week.id}/bookings",
                              json={"name": "Amina", "email": "amina@example.org"})).status_code == 201
    assert await SlotBooking.filter(event_id=event.id, status=BookingStatus.BOOKED).count() == 3


async def test_booking_rejects_bad_input_clearly(client, db):
    event = await _consultation()
    [slot] = await _slots(event, 1)
    no_contact = await client.post(f"/api/v1/slots/{slot.id}/bookings", json={"name": "Amina"})
    assert no_contact.status_code == 422 and "email" in no_contact.json()["errors"]
    no_language = await client.post(f"/api/v1/slots/{slot.id}/bookings",
                                    json={"name": "Amina", "email": "a@example.org", "interpreter_needed": True})
    assert no_language.status_code == 422 and "interpreter_language" in no_language.json()["errors"]
    assert (await client.post("/api/v1/slots/999999/bookings", json={"name": "A", "email": "a@example.org"})
            ).status_code == 404
    assert (await client.post(f"/api/v1/slots/{slot.id}/bookings", content=b"[")).status_code == 400
    past = await ConsultationSlot.create(event_id=event.id, starts_at=datetime.now(UTC) - timedelta(hours=1),
                                         ends_at=datetime.now(UTC) - timedelta(minutes=40))
    late = await client.post(f"/api/v1/slots/{past.id}/bookings", json={"name": "A", "email": "a@example.org"})
    assert late.status_code == 409 and late.json()["type"] == "/problems/slot-past"
    assert await SlotBooking.all().count() == 0


# --- a rush on one slot ---


async def _rush(slot_id: int, count: int) -> list[object]:
    async def one(n: int):
        return await bookings.book(slot_id=slot_id, timezone="Europe/Berlin",
                                   booker=bookings.Booker(name=f"p{n}", email=f"p{n}@example.org"))
    return await asyncio.gather(*(one(n) for n in range(count)), return_exceptions=True)


@both_databases
async def test_a_slot_is_booked_once_under_a_rush(db):
    event = await _consultation()
    [slot] = await _slots(event, 1)
    outcomes = await _rush(slot.id, 25)
    assert sum(isinstance(o, SlotBooking) for o in outcomes) == 1
    assert all(isinstance(o, (SlotBooking, errors.SlotTaken)) for o in outcomes), outcomes
    assert await SlotBooking.filter(slot_id=slot.id, status=BookingStatus.BOOKED).count() == 1


@contextlib.asynccontextmanager
async def _no_lock(event_id: int):
    """The classic bug: read, decide, write; no transaction, no lock."""
    from events_app.core.models import Event

    yield connections.get("default"), await Event.get(id=event_id)


def _gate_after_check(monkeypatch, parties: int) -> None:
    """Everyone has seen the slot free before anyone writes: the race made certain, without sleeping."""
    barrier = asyncio.Barrier(parties)
    original = bookings._check_free

    async def checked_then_wait(*args, **kwargs):
        result = await original(*args, **kwargs)
        await barrier.wait()
        return result

    monkeypatch.setattr(bookings, "_check_free", checked_then_wait)


@both_databases
async def test_without_the_lock_the_unique_slot_column_still_refuses_a_second_booking(db, monkeypatch):
    event = await _consultation()
    [slot] = await _slots(event, 1)
    monkeypatch.setattr(bookings, "event_lock", _no_lock)
    _gate_after_check(monkeypatch, 10)
    outcomes = await _rush(slot.id, 10)
    assert sum(isinstance(o, SlotBooking) for o in outcomes) == 1
    assert all(isinstance(o, (SlotBooking, errors.SlotTaken)) for o in outcomes), outcomes


@both_databases
async def test_negative_control_without_lock_and_unique_column_books_a_slot_twice(db, monkeypatch):
    event = await _consultation()
    [slot] = await _slots(event, 1)
    monkeypatch.setattr(bookings, "event_lock", _no_lock)
    _gate_after_check(monkeypatch, 10)
    original_create = SlotBooking.create.__func__

    async def create_without_guard(cls, **kwargs):  # as if the held_slot / held_day columns did not exist
        return await original_create(cls, **{**kwargs, "held_slot": None, "held_day": None})

    monkeypatch.setattr(SlotBooking, "create", classmethod(create_without_guard))
    await _rush(slot.id, 10)
    with pytest.raises(AssertionError):
        assert await SlotBooking.filter(slot_id=slot.id, status=BookingStatus.BOOKED).count() <= 1


# --- cancel, move, mails ---


async def test_cancel_by_link_frees_the_slot_at_once_and_mails_carry_the_calendar(client, smtp_settings, smtp_server):
    event = await _consultation()
    first, second, _ = await _slots(event)
    booked = await client.post(f"/api/v1/slots/{first.id}/bookings", json={
        "name": "Olena", "email": "olena@example.org", "language": "uk"})
    manage = booked.json()["manage_url"].split("testserver")[-1].split("giessen.de")[-1]
    await delivery.deliver_due(smtp_settings)
    [confirmation] = smtp_server.to("olena@example.org")
    assert confirmation["Content-Language"] == "uk"
    [ics] = [part for part in confirmation.iter_attachments() if part.get_content_type() == "text/calendar"]
    [vevent] = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")
    assert vevent.decoded("dtstart").astimezone(UTC) == first.starts_at
    assert "Integrationsbüro" in str(vevent.get("location"))

    page = await client.get(manage)
    assert page.status_code == 200
    own = icalendar.Calendar.from_ical((await client.get(f"{manage}/calendar.ics")).content)
    [own_event] = own.walk("VEVENT")
    assert own_event["uid"].split("@")[0] == vevent["uid"].split("@")[0] == f"booking-{booked.json()['id']}"
    assert own_event["status"] == "CONFIRMED"
    assert "Interpreter" not in confirmation.get_body(("plain",)).get_content()  # none asked for
    cancelled = await client.post(f"{manage}/cancel")
    assert cancelled.status_code == 200
    assert [s["free"] for s in (await client.get(f"/api/v1/events/{event.id}/slots")).json()][0] is True
    again = await client.post(f"/api/v1/slots/{first.id}/bookings", json={"name": "Mira", "email": "mira@example.org"})
    assert again.status_code == 201
    assert (await client.post(f"{manage}/cancel")).status_code == 409
    await delivery.deliver_due(smtp_settings)
    assert len(smtp_server.to("olena@example.org")) == 2
    [_, cancel_mail] = smtp_server.to("olena@example.org")
    [ics] = [p for p in cancel_mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert "STATUS:CANCELLED" in ics.get_content() and "SEQUENCE:1" in ics.get_content()
    after = icalendar.Calendar.from_ical((await client.get(f"{manage}/calendar.ics")).content)
    assert [e["status"] for e in after.walk("VEVENT")] == ["CANCELLED"]


async def test_desk_books_by_phone_moves_and_cancels_with_mail(client, smtp_settings, smtp_server):
    event = await _consultation()
    first, second, third = await _slots(event)
    signed = await sign_in(client)
    day = first.starts_at.astimezone().date().isoformat()
    preview = await client.post(f"/admin/events/{event.id}/slots", data={
        "csrf_token": signed.csrf, "action": "preview", "weekday": "3", "start": "14:00", "end": "15:00",
        "minutes": "30", "first": "2026-03-25", "last": "2026-04-01", "skip": ""})
    assert preview.status_code == 200 and "Vorschau: 4 Termine" in preview.text
    assert await ConsultationSlot.filter(event_id=event.id).count() == 3  # a preview stores nothing
    booked = await client.post(f"/admin/events/{event.id}/slots/desk?date={day}", data={
        "csrf_token": signed.csrf, "slot": str(second.id), "name": "Fatima", "phone": "0641 222 333",
        "email": "fatima@example.org", "language": "fa", "interpreter": "fa"})
    assert booked.status_code == 303, booked.text
    booking = await SlotBooking.get(name="Fatima")
    assert booking.booked_by_id == signed.user.id and booking.interpreter_language == "fa"
    desk = await client.get(f"/admin/events/{event.id}/slots/desk?date={day}")
    assert "Fatima" in desk.text
    moved = await client.post(f"/admin/events/{event.id}/slots/bookings/{booking.id}/move?date={day}",
                              data={"csrf_token": signed.csrf, "slot": str(third.id)})
    assert moved.status_code == 303
    assert (await SlotBooking.get(id=booking.id)).held_slot == third.id
    cancelled = await client.post(f"/admin/events/{event.id}/slots/bookings/{booking.id}/cancel?date={day}",
                                  data={"csrf_token": signed.csrf, "reason": "Krankheit"})
    assert cancelled.status_code == 303
    await delivery.deliver_due(smtp_settings)
    kinds = [m.template for m in await OutboxMessage.filter(recipient="fatima@example.org").order_by("id")]
    assert kinds == ["slot_booked", "slot_moved", "slot_cancelled"]
    mails = smtp_server.to("fatima@example.org")
    assert len(mails) == 3 and "Krankheit" in mails[2].get_body(("plain",)).get_content()
    assert "فارسی" in mails[0].get_body(("plain",)).get_content()  # the interpreter asked for, in her language


async def test_public_page_shows_free_slots_without_names_and_books(client, db):
    event = await _consultation()
    first, second, _ = await _slots(event)
    await bookings.book(slot_id=first.id, timezone="Europe/Berlin",
                        booker=bookings.Booker(name="Geheimname", email="g@example.org"))
    page = await client.get(f"/events/{event.id}?lang=ar")
    assert page.status_code == 200 and 'dir="rtl"' in page.text
    assert "Geheimname" not in page.text and f'value="{first.id}"' not in page.text and f'value="{second.id}"' in page.text
    missing = await client.post(f"/events/{event.id}/book", data={"name": "Amina", "email": "a@example.org"})
    assert missing.status_code == 422
    taken = await client.post(f"/events/{event.id}/book", data={"slot": str(first.id), "name": "Amina",
                                                                "email": "a@example.org"})
    assert taken.status_code == 409
    ok = await client.post(f"/events/{event.id}/book", data={"slot": str(second.id), "name": "Amina",
                                                             "email": "a@example.org", "interpreter": "other",
                                                             "interpreter_other": "Tigrinya"})
    assert ok.status_code == 303 and ok.headers["location"].startswith("/b/")
    assert (await SlotBooking.get(name="Amina")).interpreter_language == "ti"


def _book_in_processes(database_url: str, slot_id: int, *, processes: int, each: int) -> list[str]:
    start_at = time_module.time() + 2.5  # all processes imported and connected before the start
    running = [subprocess.Popen(
        [sys.executable, "-m", "tests.race_slots", database_url, str(slot_id), str(each), str(start_at),
         "--prefix", f"proc{n}-"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}) for n in range(processes)]
    outcomes = []
    for process in running:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        outcomes += json.loads(out.strip().splitlines()[-1])
    return outcomes


@pytest.mark.multiprocess
@both_databases
async def test_a_slot_is_booked_once_by_four_processes_at_once(db):
    event = await _consultation()
    [slot] = await _slots(event, 1)
    outcomes = await asyncio.to_thread(_book_in_processes, db, slot.id, processes=4, each=5)
    assert sorted(outcomes) == ["booked"] + ["taken"] * 19
    assert await SlotBooking.filter(slot_id=slot.id, status=BookingStatus.BOOKED).count() == 1


@both_databases
async def test_one_reminder_per_booking_before_its_slot(db):
    event = await _consultation()
    first, second, _ = await _slots(event)
    early = await bookings.book(slot_id=first.id, timezone="Europe/Berlin",
                                booker=bookings.Booker(name="Amina", email="amina@example.org"))
    await bookings.book(slot_id=second.id, timezone="Europe/Berlin",
                        booker=bookings.Booker(name="Telefon", phone="0641 99 88 77"))  # no address: phoned
    day_before = first.starts_at - timedelta(hours=24)
    assert await bookings.queue_due_reminders(hours=48, now=first.starts_at - timedelta(hours=72)) == 0
    assert await bookings.queue_due_reminders(hours=48, now=day_before) == 1
    assert await bookings.queue_due_reminders(hours=48, now=day_before) == 0
    reminders = await OutboxMessage.filter(template="slot_reminder")
    assert [m.recipient for m in reminders] == ["amina@example.org"]
    assert (await SlotBooking.get(id=early.id)).reminded_at is not None


async def test_consultation_hours_for_women_ask_the_confirmation(client, db):
    event = await _consultation(audience="women")
    first, second, _ = await _slots(event)
    refused = await client.post(f"/api/v1/slots/{first.id}/bookings", json={"name": "A", "email": "a@example.org"})
    assert refused.status_code == 422 and "women_only" in refused.json()["errors"]
    form = await client.post(f"/events/{event.id}/book", data={"slot": str(first.id), "name": "A",
                                                               "email": "a@example.org"})
    assert form.status_code == 422 and 'id="e-women_only"' in form.text
    assert (await client.post(f"/api/v1/slots/{first.id}/bookings", json={
        "name": "A", "email": "a@example.org", "women_only": True})).status_code == 201
    assert (await client.post(f"/events/{event.id}/book", data={
        "slot": str(second.id), "name": "B", "email": "b@example.org", "women_only": "yes"})).status_code == 303


async def test_cancelling_the_consultation_hour_cancels_every_booking_with_a_mail(client, db):
    event = await _consultation()
    first, second, _ = await _slots(event)
    _, token = await make_user()
    for slot, who in ((first, "a"), (second, "b")):
        await bookings.book(slot_id=slot.id, timezone="Europe/Berlin",
                            booker=bookings.Booker(name=who, email=f"{who}@example.org"))
    answer = await client.post(f"/api/v1/events/{event.id}/cancel", json={"reason": "Krankheit"},
                               headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert await SlotBooking.filter(event_id=event.id, status=BookingStatus.BOOKED).count() == 0
    told = await OutboxMessage.filter(template="slot_cancelled").order_by("recipient")
    assert [(m.recipient, m.context["reason"]) for m in told] == [("a@example.org", "Krankheit"),
                                                                  ("b@example.org", "Krankheit")]
    refused = await client.post(f"/api/v1/slots/{first.id}/bookings", json={"name": "c", "email": "c@example.org"})
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/event-cancelled"
