"""Helpers for course, attendance and certificate tests: multi-date events, confirmed people,
attendance in one call, and text extracted from PDFs with poppler's pdftotext."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta

import pytest

from events_app.courses import attendance
from events_app.seats import registration
from events_app.seats.events import SessionSpec
from events_app.core.models import EventSession
from events_app.seats.registration import Applicant
from tests.helpers import in_days, make_event


async def make_course(dates: int = 8, *, held: bool = True, **overrides):
    """A weekly course with `dates` sessions of 90 minutes, and its sessions in order. `held`: its last
    date was a week ago, so attendance can be recorded and certificates issued; else it starts next week."""
    first_week = -dates if held else 1
    sessions = [SessionSpec(in_days(7 * (first_week + i), hour=9),
                            in_days(7 * (first_week + i), hour=9) + timedelta(minutes=90)) for i in range(dates)]
    values = {"kind": "course", "title": "Schwimmkurs für Frauen", "capacity": 12, "certificate_min_attendance": 75}
    values.update(overrides)
    event = await make_event(sessions=sessions, **values)
    return event, list(await EventSession.filter(event_id=event.id).order_by("starts_at"))


async def confirmed(event, name: str, email: str | None = None):
    outcome = await registration.register(event_id=event.id, applicant=Applicant(
        name=name, email=email or f"p{abs(hash(name)) % 10**8}@example.org"))
    return outcome.registration


async def attend(person, sessions, present_in: int):
    """Mark the person present on the first `present_in` sessions and absent on the rest."""
    for index, session in enumerate(sessions):
        await attendance.record(registration_id=person.id, session_id=session.id, present=index < present_in)


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return result.stdout.decode("utf-8")


@pytest.fixture
def pdftotext_available():
    if not shutil.which("pdftotext"):
        message = "pdftotext (poppler-utils) is not installed"
        if os.environ.get("EVENTS_REQUIRE_BROWSER") == "1":  # CI installs it: missing there is a failure
            pytest.fail(message)
        pytest.skip(message)
