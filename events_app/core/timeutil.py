"""Time: stored in UTC, shown in the office's zone (Europe/Berlin by default). Never naive."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


#: Dates outside these years are refused: year 9999 plus an offset overflows, and nothing the office
#: organises lies before 2000 or after 2100.
FIRST_YEAR = 2000
LAST_YEAR = 2100


def check_year(moment: datetime) -> datetime:
    """ValueError for a date outside FIRST_YEAR..LAST_YEAR (so arithmetic on it never overflows)."""
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError("year out of range")
    return moment


def parse_iso(value: str) -> datetime:
    """Parse ISO 8601 with an offset; a naive time is rejected rather than guessed."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("time without offset")
    check_year(parsed)
    try:
        return check_year(parsed.astimezone(timezone.utc))
    except OverflowError:
        raise ValueError("year out of range") from None
