"""Fixtures for receptions: an invitation-only event and the authority's sample list."""

from __future__ import annotations

from pathlib import Path

import pytest

from events_app.receptions import list_files, invitee_import
from events_app.core.models import Invitation
from tests.helpers import in_days, make_event

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "einbuergerungen-2026-h1.csv"
SHARED_SAMPLE = Path("/work/shared/samples/einbuergerungen-2026-h1.csv")


def sample_bytes() -> bytes:
    """The authority's export as delivered: Windows-1252, `;`, CRLF, a quoted `;` inside a field."""
    return (SAMPLE if SAMPLE.exists() else SHARED_SAMPLE).read_bytes()


async def make_reception(**overrides):
    values = {"kind": "reception", "audience": "invitation", "title": "Einbürgerungsempfang 2026",
              "capacity": 100, "max_companions": 2, "location": "Rathaus, Berliner Platz 1",
              "registration_closes_at": in_days(20)}
    values.update(overrides)
    return await make_event(**values)


async def invite(event, count: int, *, with_email: bool = True) -> list[Invitation]:
    """`count` invitees imported from a list, in file-number order (gast0@example.org, ...)."""
    lines = ["Aktenzeichen;Vorname;Nachname;Straße;PLZ;Ort;E-Mail"]
    for n in range(count):
        mail = f"gast{n}@example.org" if with_email else ""
        lines.append(f"EB-{n:04d};Gast;Nummer{n:03d};Weg {n};35390;Gießen;{mail}")
    table = list_files.read_table("\r\n".join(lines).encode("cp1252"))
    await invitee_import.import_invitations(event_id=event.id, table=table)
    return await Invitation.filter(event_id=event.id).order_by("file_number")


@pytest.fixture
async def reception(db):
    return await make_reception()
