"""Proof that a registration's e-mail address reaches the person: a signed code in the links we mail
to that address. Whoever opens such a link has read the mail, so the contact is verified and a
confidential meeting point (women's courses, tours) may appear on the person's page.

A code only ever travels by mail: the page shown right after registering has the plain manage link,
which proves nothing about the address typed in.
"""

from __future__ import annotations

from itsdangerous import BadData, URLSafeSerializer

_SALT = "contact-verified"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT)


def contact_code(*, registration_id: int, email: str, secret_key: str) -> str:
    """The code bound to the registration and its current address (a changed address needs a new mail)."""
    return _serializer(secret_key).dumps([registration_id, email.lower()])


def code_matches(code: str, *, registration_id: int, email: str, secret_key: str) -> bool:
    if not code or not email or len(code) > 300:
        return False
    try:
        found_id, found_email = _serializer(secret_key).loads(code)
    except (BadData, ValueError, TypeError):
        return False
    return found_id == registration_id and found_email == email.lower()


def may_see_meeting_point(event, registration) -> bool:
    """Whether this registrant may see the event's meeting point: always unless it is confidential; then
    only with a confirmed seat and a verified contact."""
    if not event.location_confidential:
        return True
    return registration.status == "confirmed" and registration.contact_verified_at is not None
