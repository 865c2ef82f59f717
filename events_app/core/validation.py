"""Checks of single values shared by forms, the API and imports. Messages are gettext ids."""

from __future__ import annotations

import re
from typing import Iterable

from email_validator import EmailNotValidError, validate_email

from events_app.core.errors import N_

_PHONE = re.compile(r"^\+?[0-9 ()/.\-]{5,30}$")


def normalise_email(value: str) -> str:
    """Return the address in normal form or raise ValueError with a message id. No DNS look-up."""
    value = (value or "").strip()
    if not value:
        raise ValueError(N_("Please enter an e-mail address."))
    if "\r" in value or "\n" in value or len(value) > 254:
        raise ValueError(N_("This e-mail address is not valid."))
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(N_("This e-mail address is not valid.")) from None


def is_phone_number(value: str) -> bool:
    """Digits with the usual separators (+49 641 306-1234, (0641) 306/1234): no letters, nothing else."""
    return bool(_PHONE.fullmatch(value)) and sum(c.isdigit() for c in value) >= 5


def normalise_phone(value: str) -> str:
    value = (value or "").strip()
    if not is_phone_number(value):
        raise ValueError(N_("This phone number is not valid."))
    return value


#: NUL (PostgreSQL refuses it in text) and lone surrogates (not encodable: every later page, export and
#: API answer showing the text would fail).
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
UNSAFE_TEXT = N_("This text contains characters that are not allowed (e.g. a NUL byte or broken Unicode).")
TOO_LONG = N_("This text is too long.")


def contact_from(email: str, phone: str, problems: dict[str, str]) -> tuple[str, str]:
    """The e-mail address and phone number normalised (empty when not given), a message per bad one in
    `problems`. Whether one of them is required is the caller's rule."""
    address = number = ""
    if email.strip():
        try:
            address = normalise_email(email)
        except ValueError as exc:
            problems["email"] = str(exc)
    if phone.strip():
        try:
            number = normalise_phone(phone)
        except ValueError as exc:
            problems["phone"] = str(exc)
    return address, number


def check_text(value: str) -> str:
    """The one boundary for text from outside (JSON, forms, query strings, uploaded cells): text that
    cannot be stored or shown is refused with ValueError, never stored to break pages later."""
    if _UNSAFE.search(value):
        raise ValueError(UNSAFE_TEXT)
    return value


def clean_text(value: str, *, max_length: int) -> str:
    """Strip, drop control characters (header injection, invisible junk, NUL, lone surrogates) and cap
    the length. For text already past the boundary (or from files) that must fit a column."""
    value = value or ""
    if not value.isprintable():  # most text is: then nothing is dropped
        value = "".join(ch for ch in value if ch in "\n\t" or ch.isprintable())
    return value.strip()[:max_length]


def bounded_text(value: str, *, max_length: int) -> str:
    """Clean text that a person typed and may correct: over the limit is a ValueError (422), not a cut."""
    value = clean_text(check_text(value or ""), max_length=max_length + 1)
    if len(value) > max_length:
        raise ValueError(TOO_LONG)
    return value


#: Larger whole numbers do not fit the database's integer columns (and make no sense here).
MAX_WHOLE_NUMBER = 1_000_000_000


def parse_whole_number(value) -> int:
    """A whole number from form or JSON input, or ValueError with a message id."""
    if isinstance(value, bool):
        raise ValueError(N_("Please enter a whole number."))
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(N_("Please enter a whole number.")) from None
    if abs(number) > MAX_WHOLE_NUMBER:
        raise ValueError(N_("This number is too large."))
    return number


_ID = re.compile(r"[0-9]{1,9}")


def parse_id(value) -> int | None:
    """A database id typed or posted as ASCII digits (at most nine, so it fits every integer column);
    None for anything else ('²' and '٣' count as digits to str.isdigit but are no ids here)."""
    text = str(value if value is not None else "").strip()
    return int(text) if _ID.fullmatch(text) else None


MAX_ID = 999_999_999


def is_id(value) -> bool:
    """Whether a JSON value can be a database id: a whole number (not true/false) within every id column."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def email_domain(email: str) -> str | None:
    """The ASCII (IDNA 2008) form of the address's domain, lower case; None if the address is invalid."""
    try:
        return validate_email(email.strip(), check_deliverability=False).ascii_domain.lower()
    except (EmailNotValidError, UnicodeError, AttributeError):
        return None


def staff_address_allowed(email: str, domains: Iterable[str]) -> bool:
    """Whether the address belongs to one of the staff domains (the rule: `seats/signup.py`'s docstring)."""
    domain = email_domain(email)
    if not domain:
        return False
    for entry in domains:
        entry = entry.strip().lower()
        if entry.startswith("*."):
            if domain.endswith(entry[1:]):
                return True
        elif entry and domain == entry:
            return True
    return False
