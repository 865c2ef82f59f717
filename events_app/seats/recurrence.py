"""Dates by pattern: a course's first date repeated weekly, N times or until a day, skipping holidays.

Pure functions. The wall-clock time stays the same across the change to and from summer time
(18:00 in March and 18:00 in April), so each date is built in local time and only then turned into
UTC; adding 7 × 24 hours in UTC would move the course by an hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from events_app.core import errors
from events_app.core.errors import N_

#: A course series rarely has more; a larger number is a typing error.
MAX_DATES = 60


@dataclass(frozen=True)
class Weekly:
    """Repeat weekly: `count` dates in all, or every week until `until` (inclusive), without `skip`."""

    count: int | None = None
    until: date | None = None
    skip: frozenset[date] = frozenset()


def check(pattern: Weekly, first_day: date) -> None:
    problems: dict[str, str] = {}
    if (pattern.count is None) == (pattern.until is None):
        problems["recurrence"] = N_("Repeat either a number of times or until a date.")
    elif pattern.count is not None and not 1 <= pattern.count <= MAX_DATES:
        problems["recurrence"] = N_("A series has between 1 and %(max)d dates.")
    elif pattern.until is not None and pattern.until < first_day:
        problems["recurrence"] = N_("The last day of the series is before its first date.")
    elif pattern.until is not None and (pattern.until - first_day).days // 7 + 1 > MAX_DATES + len(pattern.skip):
        problems["recurrence"] = N_("A series has between 1 and %(max)d dates.")
    if problems:
        raise errors.ValidationFailed(fields=problems, max=MAX_DATES)


def weekly_dates(starts_at: datetime, ends_at: datetime, pattern: Weekly, *, tz: str) -> list[tuple[datetime, datetime]]:
    """The first date (UTC) and its weekly repetitions as (start, end) in UTC, same local times each week.

    A skipped day is left out; with `count`, the series then runs one week longer, so it still has
    `count` dates. The first date itself may be skipped too.
    """
    zone = ZoneInfo(tz)
    local_start, local_end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    check(pattern, local_start.date())
    wall_start, wall_end = local_start.replace(tzinfo=None), local_end.replace(tzinfo=None)
    dates: list[tuple[datetime, datetime]] = []
    for week in range(MAX_DATES * 3):  # a bound even when every week is skipped
        start = wall_start + timedelta(weeks=week)
        if pattern.until is not None and start.date() > pattern.until:
            break
        if pattern.count is not None and len(dates) >= pattern.count:
            break
        if start.date() in pattern.skip:
            continue
        end = wall_end + timedelta(weeks=week)
        dates.append((start.replace(tzinfo=zone).astimezone(timezone.utc),
                      end.replace(tzinfo=zone).astimezone(timezone.utc)))
    return dates


def parse_days(text: str) -> tuple[frozenset[date], bool]:
    """Days typed as ISO dates or German dates (24.12.2026), separated by commas, spaces or lines.

    Returns the days and whether everything could be read.
    """
    days: set[date] = set()
    ok = True
    for part in text.replace(";", ",").replace("\n", ",").replace(" ", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "." in part:
                day, month, year = part.split(".")
                days.add(date(int(year), int(month), int(day)))
            else:
                days.add(date.fromisoformat(part))
        except ValueError:
            ok = False
    return frozenset(days), ok
