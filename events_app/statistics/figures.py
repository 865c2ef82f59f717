"""The figures for the funding report, per kind of event and per quarter or year.

Everything is counted from columns that anonymisation keeps (status, seats, language, district,
the `returning` and `waited` flags, attendance and check-ins), so the figures are the same before
and after the retention job or an erasure.

What counts where:
- An event belongs to the period of its first date (local time); it counts when not cancelled and
  it has a date that was not cancelled. `dates` counts its dates that were not cancelled, each in
  the period of its own day.
- `registrations`: registrations that were not left unverified (pending), cancelled ones included.
- `confirmed_people`: seats (person + companions) of registrations confirmed now.
- `attended_people`: registrations present at least once (attendance list or door check-in), each
  with the most companions checked in with them on one date; `attendance_rate` = attended / confirmed.
- `waited_unserved`: seats of registrations that were on the waiting list and never had a seat.
- `languages`: registrations per language; `returning_people`: registrations of people who had
  taken part in an earlier event (decided when they registered), `new_people` the others.
- `districts`: registrations per district, from the postcode given (`people`), and invitees per
  district, from the address on the imported list, whether they answered or not (`invited`): where
  an offer reached people against where it was sent. Groups of 1 to MIN_GROUP - 1 are only reported
  as "fewer than 5" (the number is None then, `fewer_than` / `invited_fewer_than` say 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from events_app.core import errors
from events_app.core.errors import N_
from events_app.core.models import (Attendance, CheckIn, Event, EventKind, EventSession, EventStatus, Invitation,
                                    Registration, RegistrationStatus, SessionStatus)

#: Smaller groups are not shown as numbers, so nobody can be singled out.
MIN_GROUP = 5
PERIODS = ("quarter", "year")
FIELDS = ("events", "dates", "registrations", "confirmed_people", "attended_people", "attendance_rate",
          "waited_unserved", "returning_people", "new_people")
UNKNOWN_DISTRICT = ""


@dataclass
class Row:
    period: str
    kind: str
    events: int = 0
    dates: int = 0
    registrations: int = 0
    confirmed_people: int = 0
    attended_people: int = 0
    waited_unserved: int = 0
    returning_people: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    district_counts: dict[str, int] = field(default_factory=dict)
    invited_counts: dict[str, int] = field(default_factory=dict)

    @property
    def new_people(self) -> int:
        return self.registrations - self.returning_people

    @property
    def attendance_rate(self) -> float | None:
        """Share of confirmed people who came at least once (0..1), None without anyone confirmed."""
        return round(self.attended_people / self.confirmed_people, 3) if self.confirmed_people else None

    @property
    def districts(self) -> list[dict]:
        """Per district (the unknown last), registered and invited, with small groups hidden."""
        names = sorted((set(self.district_counts) | set(self.invited_counts)) - {UNKNOWN_DISTRICT})
        if UNKNOWN_DISTRICT in self.district_counts or UNKNOWN_DISTRICT in self.invited_counts:
            names.append(UNKNOWN_DISTRICT)
        entries = []
        for name in names:
            people, invited = self.district_counts.get(name, 0), self.invited_counts.get(name, 0)
            entries.append({"district": name or None, "people": _shown(people), "fewer_than": _fewer(people),
                            "invited": _shown(invited), "invited_fewer_than": _fewer(invited)})
        return entries

    def as_json(self) -> dict:
        return {"period": self.period, "kind": self.kind, "events": self.events, "dates": self.dates,
                "registrations": self.registrations, "confirmed_people": self.confirmed_people,
                "attended_people": self.attended_people, "attendance_rate": self.attendance_rate,
                "waited_unserved": self.waited_unserved, "languages": dict(sorted(self.languages.items())),
                "returning_people": self.returning_people, "new_people": self.new_people,
                "districts": self.districts}


def _shown(count: int) -> int | None:
    """None for a group small enough to point at somebody (1 to MIN_GROUP - 1); none at all is shown as 0."""
    return None if 0 < count < MIN_GROUP else count


def _fewer(count: int) -> int | None:
    return MIN_GROUP if 0 < count < MIN_GROUP else None


@dataclass(frozen=True)
class Query:
    start: date
    end: date
    by: str


def parse_query(*, start: str | None, end: str | None, by: str | None, today: date) -> Query:
    """from/to as YYYY-MM-DD (default: this year), by quarter or year (default: quarter)."""
    problems: dict[str, str] = {}
    values = {}
    for name, raw, default in (("from", start, date(today.year, 1, 1)), ("to", end, date(today.year, 12, 31))):
        try:
            values[name] = date.fromisoformat(raw) if raw else default
        except ValueError:
            problems[name] = N_("Please give a date as YYYY-MM-DD.")
    by = by or "quarter"
    if by not in PERIODS:
        problems["by"] = N_("This value is not one of the allowed options.")
    if not problems and values["to"] < values["from"]:
        problems["to"] = N_("The end must not be before the start.")
    if not problems and (values["to"] - values["from"]).days > 366 * 20:
        problems["to"] = N_("Please choose at most twenty years.")
    if problems:
        raise errors.ValidationFailed(fields=problems)
    return Query(values["from"], values["to"], by)


def period_of(day: date, by: str) -> str:
    return str(day.year) if by == "year" else f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def periods_between(query: Query) -> list[str]:
    found, day = [], query.start
    while day <= query.end:
        label = period_of(day, query.by)
        if label not in found:
            found.append(label)
        if query.by == "year":
            day = date(day.year + 1, 1, 1)
        else:
            month = (day.month - 1) // 3 * 3 + 4
            day = date(day.year + 1, 1, 1) if month > 12 else date(day.year, month, 1)
    return found


async def compute(query: Query, *, timezone: str = "Europe/Berlin") -> list[Row]:
    """One row per period and kind that had an event, periods in order, kinds in their usual order."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(query.start, time.min, zone)
    end = datetime.combine(query.end + timedelta(days=1), time.min, zone)
    sessions = await EventSession.filter(status=SessionStatus.SCHEDULED, event__status=EventStatus.SCHEDULED,
                                         starts_at__lt=end).values("event_id", "starts_at")
    first: dict[int, datetime] = {}
    for s in sessions:
        if s["event_id"] not in first or s["starts_at"] < first[s["event_id"]]:
            first[s["event_id"]] = s["starts_at"]
    kinds = dict(await Event.filter(id__in=list(first) or [0]).values_list("id", "kind"))
    rows: dict[tuple[str, str], Row] = {}

    def row(period: str, kind) -> Row:
        kind = kind.value if isinstance(kind, EventKind) else str(kind)
        return rows.setdefault((period, kind), Row(period, kind))

    counted: dict[int, Row] = {}
    for event_id, starts in first.items():
        if start <= starts < end:
            counted[event_id] = row(period_of(starts.astimezone(zone).date(), query.by), kinds[event_id])
            counted[event_id].events += 1
    for s in sessions:
        if start <= s["starts_at"] < end and s["event_id"] in kinds:
            row(period_of(s["starts_at"].astimezone(zone).date(), query.by), kinds[s["event_id"]]).dates += 1
    if counted:
        await _people(counted)
    order = {kind.value: index for index, kind in enumerate(EventKind)}
    periods = {label: index for index, label in enumerate(periods_between(query))}
    return sorted(rows.values(), key=lambda r: (periods.get(r.period, 99), order.get(r.kind, 99)))


async def _people(counted: dict[int, Row]) -> None:
    registrations = await Registration.filter(event_id__in=list(counted)).exclude(
        status=RegistrationStatus.PENDING).values("id", "event_id", "status", "seats", "language", "district",
                                                 "returning", "waited", "confirmed_at")
    ids = [r["id"] for r in registrations]
    present = set(await Attendance.filter(registration_id__in=ids or [0], present=True).values_list(
        "registration_id", flat=True))
    companions: dict[int, int] = {}
    for registration_id, arrived in await CheckIn.filter(registration_id__in=ids or [0]).values_list(
            "registration_id", "companions_arrived"):
        present.add(registration_id)
        companions[registration_id] = max(arrived or 0, companions.get(registration_id, 0))
    for r in registrations:
        row = counted[r["event_id"]]
        status = RegistrationStatus(r["status"])
        row.registrations += 1
        if status == RegistrationStatus.CONFIRMED:
            row.confirmed_people += r["seats"]
        if r["id"] in present:
            row.attended_people += 1 + companions.get(r["id"], 0)
        if r["waited"] and r["confirmed_at"] is None:
            row.waited_unserved += r["seats"]
        if r["returning"]:
            row.returning_people += 1
        row.languages[r["language"]] = row.languages.get(r["language"], 0) + 1
        district = r["district"] or UNKNOWN_DISTRICT
        row.district_counts[district] = row.district_counts.get(district, 0) + 1
    for event_id, district in await Invitation.filter(event_id__in=list(counted)).values_list("event_id", "district"):
        invited = counted[event_id].invited_counts
        invited[district or UNKNOWN_DISTRICT] = invited.get(district or UNKNOWN_DISTRICT, 0) + 1


def totals(rows: list[Row]) -> list[Row]:
    """One row per period over all kinds (for the page's headline figures)."""
    summed: dict[str, Row] = {}
    for r in rows:
        total = summed.setdefault(r.period, Row(r.period, "all"))
        for name in ("events", "dates", "registrations", "confirmed_people", "attended_people", "waited_unserved",
                     "returning_people"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        for mapping, target in ((r.languages, total.languages), (r.district_counts, total.district_counts),
                                (r.invited_counts, total.invited_counts)):
            for key, value in mapping.items():
                target[key] = target.get(key, 0) + value
    return list(summed.values())
