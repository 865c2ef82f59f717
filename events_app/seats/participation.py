"""What the figures need to know about a registrant, decided when they register and kept after their
personal data is gone: the district they live in (from an optional postcode) and whether they had
taken part before. Anonymisation later removes the postcode and the contacts but keeps both answers,
so the statistics are the same before and after the retention job."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

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


async def districts_by_postcode(conn: BaseDBAsyncClient | None) -> dict[str, str]:
    """The office's whole postcode table, for deriving the districts of many rows at once (a list import)."""
    return dict(await PostcodeDistrict.all().using_db(conn).values_list("postcode", "district"))


async def has_taken_part_before(conn: BaseDBAsyncClient | None, *, email: str, phone: str,
                                event_id: int) -> bool:
    """Another event where the same address or phone number once had a seat.

    Written out rather than built with the ORM: every public sign-up asks this, and building the
    query cost more than running it (the address is found through its index, migration 0014). The
    sign-up's hot path asks it in the same call that places the registration (seats/register_sql.py)."""
    conn = conn or connections.get("default")
    query = taken_part_before_query(email=email, phone=phone, event_id=event_id,
                                    sqlite=conn.capabilities.dialect == "sqlite")
    return bool(query and await conn.execute_query_dict(*query))


def taken_part_before_query(*, email: str, phone: str, event_id: int, sqlite: bool) -> tuple[str, list] | None:
    """The statement and values of `has_taken_part_before`; None when there is nothing to look for."""
    if not email and not phone:
        return None
    values: list = [event_id]
    alternatives = []
    if email:
        values.append(email)
        alternatives.append("UPPER(CAST(email AS VARCHAR)) = UPPER(CAST({} AS VARCHAR))")
    if phone:
        values.append(phone)
        alternatives.append("phone = {}")
    marks = ["?" if sqlite else f"${n}" for n in range(1, len(values) + 1)]
    condition = " OR ".join(alternative.format(mark) for alternative, mark in zip(alternatives, marks[1:]))
    return ("SELECT 1 AS found FROM registration WHERE confirmed_at IS NOT NULL AND anonymised_at IS NULL"
            f" AND event_id <> {marks[0]} AND ({condition}) LIMIT 1", values)


@dataclass(frozen=True)
class NewcomerFacts:
    postcode: str
    district: str
    returning: bool


async def newcomer_facts(conn: BaseDBAsyncClient | None = None, *, email: str, phone: str, postcode: str,
                         event_id: int) -> NewcomerFacts:
    """What to store with a new registration. Read before taking the event's lock where the caller can,
    so the locked section stays as short as the seat counting needs."""
    postcode = clean_postcode(postcode)
    return NewcomerFacts(postcode, await district_of(conn, postcode),
                         await has_taken_part_before(conn, email=email, phone=phone, event_id=event_id))


async def describe_newcomer(conn: BaseDBAsyncClient | None, registration: Registration) -> None:
    """Fill `postcode`, `district` and `returning` of a registration about to be stored for the first time."""
    facts = await newcomer_facts(conn, email=registration.email, phone=registration.phone,
                                 postcode=registration.postcode, event_id=registration.event_id)
    registration.postcode, registration.district, registration.returning = (
        facts.postcode, facts.district, facts.returning)
