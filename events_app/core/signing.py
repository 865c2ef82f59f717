"""Signed codes in links: the e-mail verification code binds a registration to the address it was sent to."""

from __future__ import annotations

from itsdangerous import URLSafeTimedSerializer

_VERIFY_SALT = "verify-email"


def verification_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_VERIFY_SALT)


def verification_code(*, registration_id: int, email: str, secret_key: str) -> str:
    """A signed code bound to the registration and its address; it is only ever sent by mail."""
    return verification_serializer(secret_key).dumps([registration_id, email])
