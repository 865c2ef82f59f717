"""Time: stored in UTC, shown in the office's zone (Europe/Berlin by default). Never naive."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_iso(value: str) -> datetime:
    """Parse ISO 8601 with an offset; a naive time is rejected rather than guessed."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("time without offset")
    return parsed.astimezone(timezone.utc)
