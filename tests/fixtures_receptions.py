"""Fixtures for receptions: an invitation-only event and the authority's sample list."""

from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.fixture
async def reception(db):
    return await make_reception()
