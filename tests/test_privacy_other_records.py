"""Consultation bookings, stand applications and subscriptions are personal data too: the access export
lists them, erasure removes them, and the retention job anonymises the bookings and applications of an
event past its period."""

from __future__ import annotations

from datetime import timedelta

from events_app.core.models import (BookingStatus, ConsultationSlot, EventSession, PartnerApplication, SlotBooking,
                                    Subscription)
from events_app.core.timeutil import utcnow
from events_app.privacy import retention, rights
from tests.helpers import both_databases, make_event, make_user


async def _records(email: str, phone: str):
    consultation = await make_event(kind="consultation", title="Sprechstunde", capacity=6)
    festival = await make_event(kind="festival", title="Global Village")
    session = await EventSession.filter(event_id=consultation.id).first()
    slot = await ConsultationSlot.create(event_id=consultation.id, starts_at=session.starts_at,
                                         ends_at=session.starts_at + timedelta(minutes=20))
    booking = await SlotBooking.create(slot_id=slot.id, event_id=consultation.id, name="Samira Haddad", email=email,
                                       phone=phone, note="Fragen zum Aufenthalt", manage_token=f"booking-{email}",
                                       held_slot=slot.id, held_day=f"{session.starts_at.date()}:{email}")
    partner = await PartnerApplication.create(event_id=festival.id, organisation="Syrischer Kulturverein",
                                              contact_name="Samira Haddad", email=email, phone=phone,
                                              presents="Musik", manage_token=f"partner-{email}")
    await Subscription.create(email=email, token=f"subscription-{email}", kinds=["course"], confirmed_at=utcnow())
    return consultation, festival, booking, partner


@both_databases
async def test_access_lists_and_erasure_removes_bookings_applications_and_subscription(db, settings):
    email = "samira.haddad@example.org"
    _, _, booking, partner = await _records(email, "0641 998877")
    data = await rights.personal_data(rights.subject_from(email=email))
    assert [b["id"] for b in data["consultation_bookings"]] == [booking.id]
    assert [p["organisation"] for p in data["partner_applications"]] == ["Syrischer Kulturverein"]
    assert data["subscription"]["kinds"] == ["course"]
    by_phone = await rights.personal_data(rights.subject_from(phone="+49 641 998877".replace("+49 ", "0")))
    assert [b["id"] for b in by_phone["consultation_bookings"]] == [booking.id]

    admin, _ = await make_user("admin")
    removed = await rights.erase(settings, rights.subject_from(email=email), by=admin)
    assert removed["slot_booking"] == 1 and removed["partner_application"] == 1 and removed["subscription"] == 1
    kept = await SlotBooking.get(id=booking.id)
    assert (kept.name, kept.email, kept.phone, kept.note, kept.held_slot, kept.held_day) == ("", "", "", "", None, None)
    assert kept.status == BookingStatus.CANCELLED  # the slot is free again
    applied = await PartnerApplication.get(id=partner.id)
    assert (applied.contact_name, applied.email, applied.phone, applied.organisation) == (
        "", "", "", "Syrischer Kulturverein")
    assert not await Subscription.filter(email=email).exists()
    assert (await rights.personal_data(rights.subject_from(email=email)))["consultation_bookings"] == []


@both_databases
async def test_retention_anonymises_bookings_and_applications_of_past_events(db, settings):
    consultation, festival, booking, partner = await _records("old@example.org", "")
    long_ago = utcnow() - timedelta(days=settings.retention_days + 10)
    for event in (consultation, festival):
        await EventSession.filter(event_id=event.id).update(starts_at=long_ago, ends_at=long_ago + timedelta(hours=2))
    other = await _records("new@example.org", "")  # another consultation still inside its period
    counts = await retention.purge(settings)
    assert counts["slot_booking"] == 1 and counts["partner_application"] == 1
    assert (await SlotBooking.get(id=booking.id)).name == ""
    assert (await PartnerApplication.get(id=partner.id)).contact_name == ""
    assert (await SlotBooking.get(id=other[2].id)).name == "Samira Haddad"
