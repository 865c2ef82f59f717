"""Organiser accounts, passwords (argon2) and API tokens (only their hash is stored)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from events_app import errors
from events_app.errors import N_
from events_app.models import ApiToken, Role, User
from events_app.timeutil import utcnow
from events_app.validation import normalise_email

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_user(*, email: str, role: Role, password: str, name: str = "") -> User:
    try:
        email = normalise_email(email)
    except ValueError as exc:
        raise errors.ValidationFailed(fields={"email": str(exc)}) from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise errors.ValidationFailed(fields={"password": N_("The password must have at least %(min)d characters.")},
                                      min=MIN_PASSWORD_LENGTH)
    if await User.filter(email=email).exists():
        raise errors.ValidationFailed(fields={"email": N_("A user with this e-mail address exists already.")})
    return await User.create(email=email, role=role, name=name, password_hash=hash_password(password))


async def create_api_token(*, email: str, label: str = "") -> str:
    """Make a new token for the user and return it; it cannot be shown again."""
    user = await User.get_or_none(email=email.strip().lower())
    if user is None:
        raise errors.NotFound(N_("There is no user with this e-mail address."))
    token = "ev_" + secrets.token_urlsafe(32)
    await ApiToken.create(user=user, token_hash=token_digest(token), label=label)
    return token


async def user_for_token(token: str) -> User | None:
    record = await ApiToken.get_or_none(token_hash=token_digest(token), revoked_at=None).prefetch_related("user")
    if record is None or not record.user.active:
        return None
    record.last_used_at = utcnow()
    await record.save(update_fields=["last_used_at"])
    return record.user
