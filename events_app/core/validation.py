"""Checks of single values shared by forms, the API and imports. Messages are gettext ids."""

from __future__ import annotations

import re

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


def clean_text(value: str, *, max_length: int) -> str:
    """Strip, drop control characters (header injection, invisible junk) and cap the length."""
    value = "".join(ch for ch in (value or "") if ch in "\n\t" or ch.isprintable()).strip()
    return value[:max_length]


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
