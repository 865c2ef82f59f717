"""Organiser accounts, passwords (argon2) and API tokens (only their hash is stored)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tortoise.transactions import in_transaction

from events_app.core import errors
from events_app.core.errors import N_
from events_app.core.models import ApiToken, CalendarFeedToken, Role, User
from events_app.core.timeutil import utcnow
from events_app.core.validation import normalise_email

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


# --- backoffice: sign-in, lockout, sessions, tokens ---

from datetime import datetime, timedelta  # noqa: E402

from events_app.core.models import LoginSession  # noqa: E402

SESSION_HOURS = 10
_DUMMY_HASH = hash_password("not a real password, only for equal timing")


async def authenticate(*, email: str, password: str) -> User:
    """The user with these credentials, or LoginFailed.

    Unknown addresses cost the same hashing time as known ones. No account is ever locked: a lock would
    let anyone shut out the owner (admins included) with five wrong passwords. Guessing is held back by
    the throttles in front of this (per address, per account and address, and a slow-down per account).
    """
    user = await User.get_or_none(email=(email or "").strip().lower())
    if user is None or not user.active:
        password_matches(_DUMMY_HASH, password or "")
        raise errors.LoginFailed()
    if not password_matches(user.password_hash, password or ""):
        raise errors.LoginFailed()
    return user


async def change_password(*, user_id: int, current: str, new: str) -> None:
    """Change a password; every other session of the user ends."""
    user = await User.get(id=user_id)
    if not password_matches(user.password_hash, current):
        raise errors.ValidationFailed(fields={"current": N_("The current password is wrong.")})
    if len(new) < MIN_PASSWORD_LENGTH:
        raise errors.ValidationFailed(fields={"new": N_("The password must have at least %(min)d characters.")},
                                      min=MIN_PASSWORD_LENGTH)
    user.password_hash = hash_password(new)
    await user.save(update_fields=["password_hash"])


async def reset_password(*, user_id: int, new: str) -> User:
    """An admin sets a new password for someone (forgotten, or the account may be in other hands): every
    session of the user ends and every API token and private calendar address is revoked, since any of
    them may be what leaked. (A user changing their own password ends only their other sessions; tokens
    and calendar addresses stay, each listed and revocable by the owner.)"""
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise errors.NotFound()
    if len(new) < MIN_PASSWORD_LENGTH:
        raise errors.ValidationFailed(fields={"password": N_("The password must have at least %(min)d characters.")},
                                      min=MIN_PASSWORD_LENGTH)
    now = utcnow()
    async with in_transaction() as conn:
        await User.filter(id=user_id).using_db(conn).update(password_hash=hash_password(new), failed_logins=0,
                                                            locked_until=None)
        await LoginSession.filter(user_id=user_id).using_db(conn).delete()
        await ApiToken.filter(user_id=user_id, revoked_at=None).using_db(conn).update(revoked_at=now)
        await CalendarFeedToken.filter(user_id=user_id, revoked_at=None).using_db(conn).update(revoked_at=now)
    return user


async def unlock(*, user_id: int) -> None:
    await User.filter(id=user_id).update(failed_logins=0, locked_until=None)


async def start_session(*, user: User, now: datetime | None = None) -> tuple[str, LoginSession]:
    """A new session; returns the cookie value (shown once) and the row."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session = await LoginSession.create(user=user, token_hash=token_digest(token), csrf_token=secrets.token_urlsafe(32),
                                        expires_at=now + timedelta(hours=SESSION_HOURS))
    await LoginSession.filter(expires_at__lt=now).delete()
    return token, session


async def session_for(token: str, *, now: datetime | None = None) -> LoginSession | None:
    """The live session behind a cookie, with its user, or None when unknown, expired or the user is inactive."""
    if not token:
        return None
    now = now or utcnow()
    session = await LoginSession.get_or_none(token_hash=token_digest(token)).prefetch_related("user")
    if session is None or session.expires_at <= now or not session.user.active:
        return None
    return session


async def end_session(token: str) -> None:
    await LoginSession.filter(token_hash=token_digest(token)).delete()


async def end_other_sessions(*, user_id: int, keep_token: str) -> None:
    await LoginSession.filter(user_id=user_id).exclude(token_hash=token_digest(keep_token)).delete()


async def tokens_of(*, user: User) -> list[ApiToken]:
    """Tokens the user may see: their own, or everyone's for an admin."""
    query = ApiToken.all() if user.role == Role.ADMIN else ApiToken.filter(user_id=user.id)
    return await query.order_by("-created_at").prefetch_related("user")


async def revoke_token(*, token_id: int, by: User) -> ApiToken:
    record = await ApiToken.get_or_none(id=token_id)
    if record is None or (by.role != Role.ADMIN and record.user_id != by.id):
        raise errors.NotFound()
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        await record.save(update_fields=["revoked_at"])
    return record


async def set_active(*, user_id: int, active: bool, by: User) -> User:
    """Deactivate (or reactivate) an account; a deactivated user's sessions end at once."""
    if user_id == by.id and not active:
        raise errors.ValidationFailed(fields={"active": N_("You cannot deactivate your own account.")})
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise errors.NotFound()
    user.active = active
    await user.save(update_fields=["active"])
    if not active:
        await LoginSession.filter(user_id=user_id).delete()
    return user


async def set_role(*, user_id: int, role: Role, by: User) -> User:
    """Give an account another role. Admins cannot demote themselves, so an admin always remains."""
    if user_id == by.id:
        raise errors.ValidationFailed(fields={"role": N_("You cannot change your own role.")})
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise errors.NotFound()
    user.role = role
    await user.save(update_fields=["role"])
    return user
