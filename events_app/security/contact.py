"""Verifying a registrant's contact, which unlocks a confidential meeting point (see core/contact.py):
by the code in a mailed link, or, for phone-only registrations, by an organiser who reached them."""

from __future__ import annotations

from events_app.core import audit, errors
from events_app.core.contact import code_matches
from events_app.core.models import Registration, User
from events_app.core.timeutil import utcnow


async def confirm_by_code(*, registration: Registration, code: str, secret_key: str) -> bool:
    """Mark the contact verified when `code` is the one mailed to the registration's address (idempotent);
    whether the contact is verified afterwards."""
    if registration.contact_verified_at is None and code_matches(
            code, registration_id=registration.id, email=registration.email, secret_key=secret_key):
        registration.contact_verified_at = utcnow()
        await Registration.filter(id=registration.id, contact_verified_at=None).update(
            contact_verified_at=registration.contact_verified_at)
    return registration.contact_verified_at is not None


async def confirm_by_organiser(*, registration_id: int, event_id: int, by: User | int | None) -> Registration:
    """An organiser reached the person (e.g. by phone) and vouches for the contact; audited."""
    registration = await Registration.get_or_none(id=registration_id, event_id=event_id)
    if registration is None:
        raise errors.RegistrationNotFound()
    if registration.contact_verified_at is None:
        registration.contact_verified_at = utcnow()
        await registration.save(update_fields=["contact_verified_at"])
        await audit.record("registration.contact_verified", user=by, event_id=event_id,
                           registration_id=registration_id)
    return registration
