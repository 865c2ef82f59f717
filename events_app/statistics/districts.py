"""The office's table of postcodes and districts (Stadtteile), edited in the back office.

A registration's district is derived when it is stored (seats.participation), an invitee's when the
list is imported (receptions.invitee_import), and both are kept after anonymisation. When the table
changes, registrations and invitations that still have their postcode get the new district;
anonymised ones keep the district they had, so published figures do not move.
"""

from __future__ import annotations

import re

from tortoise.transactions import in_transaction

from events_app.core import audit, errors
from events_app.core.errors import N_
from events_app.core.models import Invitation, PostcodeDistrict, Registration, User
from events_app.seats.participation import clean_postcode

_LINE = re.compile(r"^\s*(?P<postcode>[0-9]{5})\s*[;,\t ]\s*(?P<district>\S.{0,99}?)\s*$")


async def table() -> list[PostcodeDistrict]:
    return await PostcodeDistrict.all().order_by("postcode")


def as_text(rows: list[PostcodeDistrict]) -> str:
    return "\n".join(f"{row.postcode} {row.district}" for row in rows)


def parse(text: str) -> dict[str, str]:
    """Lines "35390 Innenstadt" (or with ; , or tab); empty lines are skipped, anything else is refused."""
    mapping: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if not match:
            raise errors.ValidationFailed(fields={"districts": N_(
                "Line %(line)d is not a postcode followed by a district.")}, line=number)
        mapping[match["postcode"]] = match["district"]
    return mapping


async def save(*, text: str, by: User | None) -> int:
    """Replace the table and re-derive the districts of registrations and invitations that still have a postcode."""
    mapping = parse(text)
    async with in_transaction() as conn:
        await PostcodeDistrict.all().using_db(conn).delete()
        for postcode, district in sorted(mapping.items()):
            await PostcodeDistrict.create(postcode=postcode, district=district, using_db=conn)
        for model in (Registration, Invitation):
            rows = await model.filter(anonymised_at__isnull=True).exclude(postcode="").using_db(conn).values_list(
                "id", "postcode", "district")
            for row_id, postcode, district in rows:
                wanted = mapping.get(clean_postcode(postcode), "")
                if wanted != district:
                    await model.filter(id=row_id).using_db(conn).update(district=wanted)
        await audit.record("districts.saved", user=by, conn=conn, postcodes=len(mapping))
    return len(mapping)
