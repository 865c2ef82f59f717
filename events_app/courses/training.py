"""The training record: which city staff attended which workshops, and their certificates.

HR asks for it per year. A row per person and staff event (audience `staff`) in that year, for
everyone whose sign-up was confirmed; people are identified by their work e-mail address
(case-insensitive), so one person's workshops group together even if the name was typed differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from events_app.courses import attendance
from events_app.core import errors
from events_app.core.errors import N_
from events_app.core.models import Audience, Certificate, Event, EventSession, Registration, RegistrationStatus, SessionStatus
from events_app.core.timeutil import utcnow
from events_app.core.validation import parse_whole_number

#: Years outside this range are typing mistakes, not training years.
FIRST_YEAR, LAST_YEAR = 2000, 2100


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


@dataclass(frozen=True)
class PersonRecord:
    """One person's workshops in the year, in date order."""

    email: str
    name: str
    department: str
    rows: list[TrainingRow]

    @property
    def hours(self) -> float:
        return round(sum(row.hours for row in self.rows), 2)


def by_person(rows: list[TrainingRow]) -> list[PersonRecord]:
    """The rows (as `record_for_year` sorts them) grouped by e-mail address; the latest name and
    department given stand for the person."""
    groups: dict[str, list[TrainingRow]] = {}
    for row in rows:
        groups.setdefault(row.email.lower(), []).append(row)
    people = []
    for email, own in groups.items():
        own.sort(key=lambda r: r.first_date)
        department = next((r.department for r in reversed(own) if r.department), "")
        people.append(PersonRecord(email=email, name=own[-1].name, department=department, rows=own))
    return people


def year_from(value: str | None, *, timezone: str = "Europe/Berlin") -> int:
    """The year asked for (?year=2026), this year (local time) when none was given."""
    if not value:
        return utcnow().astimezone(ZoneInfo(timezone)).year
    try:
        year = parse_whole_number(value)
    except ValueError:
        year = 0
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise errors.ValidationFailed(fields={"year": N_("Please give a year, e.g. 2026.")})
    return year


async def years(*, timezone: str = "Europe/Berlin") -> list[int]:
    """Years in which staff workshops took place, and this year; newest first (the page's year choice)."""
    zone = ZoneInfo(timezone)
    found = {utcnow().astimezone(zone).year}
    starts = await EventSession.filter(event__audience=Audience.STAFF).exclude(
        status=SessionStatus.CANCELLED).values_list("starts_at", flat=True)
    found.update(start.astimezone(zone).year for start in starts)
    return sorted(found, reverse=True)
