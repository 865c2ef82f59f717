"""The registration engine: capacity, waiting list, promotion, offers, cancellation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events_app.core import errors
from events_app.seats import registration
from events_app.core.models import Event, OutboxMessage, Registration, RegistrationStatus
from events_app.seats.registration import Applicant
from events_app.core.timeutil import utcnow
from tests.helpers import both_databases, make_event


def person(n: int, companions: int = 0) -> Applicant:
    return Applicant(name=f"Person {n}", email=f"p{n}@example.org", companions=companions)


async def assert_consistent(event_id: int) -> None:
    """The seat counter equals the seats held by rows, and never exceeds capacity."""
    event = await Event.get(id=event_id)
    counts = await registration.seat_counts(event_id)
    assert event.seats_taken == counts["confirmed"] + counts["offered"]
    assert event.seats_taken <= event.capacity


@both_databases
async def test_confirmed_until_full_then_waitlisted_with_positions(db):
    event = await make_event(capacity=2)
    outcomes = [await registration.register(event_id=event.id, applicant=person(i)) for i in range(4)]
    assert [o.registration.status for o in outcomes] == [RegistrationStatus.CONFIRMED, RegistrationStatus.CONFIRMED,
                                                         RegistrationStatus.WAITLISTED, RegistrationStatus.WAITLISTED]
    assert [o.waitlist_position for o in outcomes] == [None, None, 1, 2]
    await assert_consistent(event.id)
    templates = sorted(await OutboxMessage.all().values_list("template", flat=True))
    assert templates == ["confirmed", "confirmed", "waitlisted", "waitlisted"]


@both_databases
async def test_cancellation_promotes_oldest_waiting(db):
    event = await make_event(capacity=1)
    first = await registration.register(event_id=event.id, applicant=person(1))
    second = await registration.register(event_id=event.id, applicant=person(2))
    third = await registration.register(event_id=event.id, applicant=person(3))
    await registration.cancel(token=first.registration.manage_token)
    assert (await Registration.get(id=second.registration.id)).status == RegistrationStatus.CONFIRMED
    assert (await registration.find_by_manage_token(third.registration.manage_token)).waitlist_position == 1
    assert await OutboxMessage.filter(registration_id=second.registration.id, template="promoted").exists()
    await assert_consistent(event.id)


@both_databases
async def test_multi_seat_request_that_does_not_fit_is_skipped_but_keeps_place(db):
    event = await make_event(capacity=3, max_companions=3)
    holder = await registration.register(event_id=event.id, applicant=person(1, companions=2))  # 3 seats
    family = await registration.register(event_id=event.id, applicant=person(2, companions=1))  # needs 2
    single = await registration.register(event_id=event.id, applicant=person(3))  # needs 1
    assert family.waitlist_position == 1 and single.waitlist_position == 2
    small = await registration.register(event_id=event.id, applicant=person(4))
    assert small.waitlist_position == 3
    # free exactly one seat: the family (2) does not fit and keeps place 1; the single gets the seat
    await registration.set_capacity(event_id=event.id, capacity=4)
    assert (await Registration.get(id=single.registration.id)).status == RegistrationStatus.CONFIRMED
    assert (await registration.find_by_manage_token(family.registration.manage_token)).waitlist_position == 1
    await registration.cancel(token=holder.registration.manage_token)
    assert (await Registration.get(id=family.registration.id)).status == RegistrationStatus.CONFIRMED
    assert (await Registration.get(id=small.registration.id)).status == RegistrationStatus.CONFIRMED
    await assert_consistent(event.id)


@both_databases
async def test_offer_expires_and_passes_on(db):
    event = await make_event(capacity=1, offer_hours=48)
    first = await registration.register(event_id=event.id, applicant=person(1))
    second = await registration.register(event_id=event.id, applicant=person(2))
    third = await registration.register(event_id=event.id, applicant=person(3))
    now = utcnow()
    await registration.cancel(token=first.registration.manage_token, now=now)
    offered = await Registration.get(id=second.registration.id)
    assert offered.status == RegistrationStatus.OFFERED
    assert offered.offer_expires_at - now == timedelta(hours=48)
    await assert_consistent(event.id)
    # 49 hours later the worker expires it and the next person gets the offer
    assert await registration.expire_due_offers(now=now + timedelta(hours=49)) == 1
    assert (await Registration.get(id=second.registration.id)).status == RegistrationStatus.EXPIRED
    assert (await Registration.get(id=third.registration.id)).status == RegistrationStatus.OFFERED
    assert await OutboxMessage.filter(registration_id=second.registration.id, template="offer_expired").exists()
    with pytest.raises(errors.OfferNotOpen):
        await registration.accept_offer(token=second.registration.manage_token)
    accepted = await registration.accept_offer(token=third.registration.manage_token, now=now + timedelta(hours=50))
    assert accepted.status == RegistrationStatus.CONFIRMED
    await assert_consistent(event.id)


async def test_expired_offer_is_noticed_on_the_manage_page_without_a_worker(db):
    event = await make_event(capacity=1, offer_hours=1)
    first = await registration.register(event_id=event.id, applicant=person(1))
    second = await registration.register(event_id=event.id, applicant=person(2))
    third = await registration.register(event_id=event.id, applicant=person(3))
    start = utcnow()
    await registration.cancel(token=first.registration.manage_token, now=start - timedelta(hours=2))
    outcome = await registration.find_by_manage_token(second.registration.manage_token)
    assert outcome.registration.status == RegistrationStatus.EXPIRED
    assert (await Registration.get(id=third.registration.id)).status == RegistrationStatus.OFFERED


async def test_accepting_an_expired_offer_is_refused(db):
    event = await make_event(capacity=1, offer_hours=1)
    first = await registration.register(event_id=event.id, applicant=person(1))
    second = await registration.register(event_id=event.id, applicant=person(2))
    now = utcnow()
    await registration.cancel(token=first.registration.manage_token, now=now)
    with pytest.raises(errors.OfferExpired):
        await registration.accept_offer(token=second.registration.manage_token, now=now + timedelta(hours=2))
    assert (await Registration.get(id=second.registration.id)).status == RegistrationStatus.EXPIRED
    await assert_consistent(event.id)


async def test_offer_hours_zero_confirms_directly(db):
    event = await make_event(capacity=1, offer_hours=0)
    first = await registration.register(event_id=event.id, applicant=person(1))
    second = await registration.register(event_id=event.id, applicant=person(2))
    await registration.cancel(token=first.registration.manage_token)
    assert (await Registration.get(id=second.registration.id)).status == RegistrationStatus.CONFIRMED


async def test_full_event_without_waitlist_refuses(db):
    event = await make_event(capacity=1, waitlist=False)
    await registration.register(event_id=event.id, applicant=person(1))
    with pytest.raises(errors.EventFull):
        await registration.register(event_id=event.id, applicant=person(2))
    assert await Registration.all().count() == 1


async def test_registration_window_and_cancelled_event(db):
    now = utcnow()
    early = await make_event(registration_opens_at=now + timedelta(days=1))
    with pytest.raises(errors.RegistrationNotOpenYet):
        await registration.register(event_id=early.id, applicant=person(1))
    late = await make_event(registration_closes_at=now - timedelta(minutes=1))
    with pytest.raises(errors.RegistrationClosed):
        await registration.register(event_id=late.id, applicant=person(1))
    from events_app.seats import events

    gone = await make_event()
    await events.cancel_event(event_id=gone.id)
    with pytest.raises(errors.EventCancelled):
        await registration.register(event_id=gone.id, applicant=person(1))
    assert await Registration.all().count() == 0


async def test_invalid_input_is_rejected_per_field(db):
    event = await make_event(max_companions=1)
    with pytest.raises(errors.ValidationFailed) as caught:
        await registration.register(event_id=event.id, applicant=Applicant(name=" ", email="name(at)example.org",
                                                                           companions=2))
    assert set(caught.value.fields) == {"name", "email", "companions"}
    with pytest.raises(errors.ValidationFailed) as caught:
        await registration.register(event_id=event.id, applicant=Applicant(name="A", phone="0641 1234567"))
    assert set(caught.value.fields) == {"email"}  # this event wants an e-mail address
    phone_event = await make_event(phone_allowed=True)
    outcome = await registration.register(event_id=phone_event.id, applicant=Applicant(name="A", phone="0641 1234567"))
    assert outcome.registration.status == RegistrationStatus.CONFIRMED
    assert await OutboxMessage.all().count() == 0  # nobody to mail: phoned instead
    with pytest.raises(errors.RegistrationNotFound):
        await registration.cancel(token="no-such-token")


async def test_cancel_twice_is_refused(db):
    event = await make_event()
    outcome = await registration.register(event_id=event.id, applicant=person(1))
    await registration.cancel(token=outcome.registration.manage_token)
    with pytest.raises(errors.AlreadyCancelled):
        await registration.cancel(token=outcome.registration.manage_token)
    await assert_consistent(event.id)


async def test_manage_token_is_long_and_random(db):
    event = await make_event()
    a = await registration.register(event_id=event.id, applicant=person(1))
    b = await registration.register(event_id=event.id, applicant=person(2))
    assert len(a.registration.manage_token) >= 43  # 256 bits, url-safe base64
    assert a.registration.manage_token != b.registration.manage_token
