"""What the figures need to know about a registrant, decided when they register and kept after their
personal data is gone: the district they live in (from an optional postcode) and whether they had
taken part before. Anonymisation later removes the postcode and the contacts but keeps both answers,
so the statistics are the same before and after the retention job."""

from __future__ import annotations

import re

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from events_app.core.models import PostcodeDistrict, Registration

_POSTCODE = re.compile(r"^[0-9]{5}$")


def clean_postcode(value: str) -> str:
    """A German postcode (five digits) or "" for anything else; the field is optional."""
    value = (value or "").strip().replace(" ", "")
    return value if _POSTCODE.fullmatch(value) else ""


async def district_of(conn: BaseDBAsyncClient | None, postcode: str) -> str:
    postcode = clean_postcode(postcode)
    if not postcode:
        return ""
    row = await PostcodeDistrict.get_or_none(postcode=postcode).using_db(conn)
    return row.district if row else ""


async def has_taken_part_before(conn: BaseDBAsyncClient | None, *, email: str, phone: str,
                                event_id: int) -> bool:
    """Another event where the same address or phone number once had a seat."""
    if not email and not phone:
        return False
    query = Registration.filter(confirmed_at__isnull=False, anonymised_at__isnull=True).exclude(event_id=event_id)
    if email and phone:
        query = query.filter(Q(email__iexact=email) | Q(phone=phone))
    elif email:
        query = query.filter(email__iexact=email)
    else:
        query = query.filter(phone=phone)
    return await query.using_db(conn).exists()


async def describe_newcomer(conn: BaseDBAsyncClient | None, registration: Registration) -> None:
    """Fill `district` and `returning` of a registration about to be stored for the first time."""
    registration.postcode = clean_postcode(registration.postcode)
    registration.district = await district_of(conn, registration.postcode)
    registration.returning = await has_taken_part_before(conn, email=registration.email, phone=registration.phone,
                                                         event_id=registration.event_id)
