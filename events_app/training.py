"""The training record: which city staff attended which workshops, and their certificates.

HR asks for it per year. A row per person and staff event (audience `staff`) in that year, for
everyone whose sign-up was confirmed; people are identified by their work e-mail address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from events_app import attendance
from events_app.models import (
    Audience,
    Certificate,
    Event,
    Registration,
    RegistrationStatus,
    SessionStatus,
)


@dataclass(frozen=True)
class TrainingRow:
    email: str
    name: str
    department: str
    supervisor: str
    event_id: int
    event_title: str
    first_date: datetime
    last_date: datetime
    hours: float  # of the dates attended
    attended: int
    dates: int  # dates not cancelled
    certificate_serial: str
    certificate_issued_at: datetime | None
    certificate_revoked: bool


async def record_for_year(*, year: int, timezone: str = "Europe/Berlin", email: str | None = None) -> list[TrainingRow]:
    """Rows for staff events starting in `year` (local time), by person then date; one person if `email`."""
    zone = ZoneInfo(timezone)
    rows: list[TrainingRow] = []
    staff_events = await Event.filter(audience=Audience.STAFF).prefetch_related("sessions")
    for event in staff_events:
        sessions = sorted((s for s in event.sessions if s.status != SessionStatus.CANCELLED), key=lambda s: s.starts_at)
        if not sessions or sessions[0].starts_at.astimezone(zone).year != year:
            continue
        query = Registration.filter(event_id=event.id, status=RegistrationStatus.CONFIRMED)
        if email:
            query = query.filter(email=email.strip().lower())
        people = await query
        if not people:
            continue
        summaries = await attendance.summaries(event_id=event.id)
        certificates = {c.registration_id: c for c in await Certificate.filter(
            registration_id__in=[p.id for p in people]).order_by("issued_at")}
        by_id = {s.id: s for s in sessions}
        for person in people:
            summary = summaries[person.id]
            hours = sum((by_id[i].ends_at - by_id[i].starts_at).total_seconds() for i in summary.attended_session_ids)
            certificate = certificates.get(person.id)
            answers = person.answers or {}
            rows.append(TrainingRow(
                email=person.email, name=person.name, department=str(answers.get("department", "")),
                supervisor=str(answers.get("supervisor", "")), event_id=event.id, event_title=event.title,
                first_date=sessions[0].starts_at, last_date=sessions[-1].ends_at, hours=round(hours / 3600, 2),
                attended=summary.attended, dates=summary.countable,
                certificate_serial=certificate.serial if certificate else "",
                certificate_issued_at=certificate.issued_at if certificate else None,
                certificate_revoked=bool(certificate and certificate.revoked_at),
            ))
    rows.sort(key=lambda r: (r.email.lower(), r.name.lower(), r.first_date))
    return rows
