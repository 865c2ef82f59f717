"""Public calendar feed with 2,000 events: full build and conditional GET, against a floor.

Run: .venv/bin/python benchmarks/calendar.py [--events 2000] [--repeat 5]

- floor: icalendar alone builds and serialises the same 2,000 VEVENTs (same properties, same
  VTIMEZONE) from plain Python values already in memory: no web, no database, no ORM.
- cold: GET /calendar.ics through the whole app (middleware, routing, validator queries, one
  query for the dates with their events, the builder in events_app/calendar.py), in-process
  with httpx's ASGITransport on SQLite.
- conditional: the same GET with If-None-Match, answered 304 from the aggregate queries alone.

Goal: cold <= 2 x floor. Figures are medians of --repeat runs.
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's `calendar`, which `email` and `http` import: take
# the script's own folder off the import path before anything else is imported.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import icalendar

from tortoise import Tortoise  # noqa: E402

from events_app.core import db  # noqa: E402
from events_app.app import create_app  # noqa: E402
from events_app.core.settings import Settings, tortoise_config  # noqa: E402
from events_app.core.models import Event, EventKind, EventSession, EventStatus, Visibility  # noqa: E402

BASE_URL = "https://termine.giessen.de"


async def seed(count: int) -> None:
    """`count` public events, one date each, over the coming year; some cancelled, some translated."""
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    kinds = list(EventKind)
    events = [
        Event(kind=kinds[i % len(kinds)], title=f"Veranstaltung {i}: Interkulturelle Kompetenz, Teil {i % 8 + 1}",
              description="Ein Workshop für Beschäftigte der Stadtverwaltung.\nBitte pünktlich sein; danke!",
              translations={"en": {"title": f"Event {i}"}} if i % 3 == 0 else {},
              location="Rathaus Gießen, Berliner Platz 1", capacity=20, visibility=Visibility.PUBLIC,
              status=EventStatus.CANCELLED if i % 50 == 0 else EventStatus.SCHEDULED, sequence=i % 3)
        for i in range(count)
    ]
    await Event.bulk_create(events, batch_size=500)
    ids = await Event.all().order_by("id").values_list("id", flat=True)
    sessions = [
        EventSession(event_id=event_id, starts_at=start + timedelta(hours=4 * i),
                     ends_at=start + timedelta(hours=4 * i + 2), sequence=i % 2)
        for i, event_id in enumerate(ids)
    ]
    await EventSession.bulk_create(sessions, batch_size=500)


async def plain_rows() -> list[tuple]:
    """The feed's data as plain values, loaded before the floor's clock starts."""
    rows = await EventSession.all().select_related("event").order_by("starts_at", "id")
    return [(s.event.id, s.id, s.event.title, s.event.description, s.event.location, s.starts_at, s.ends_at,
             max(s.event.updated_at, s.updated_at), s.event.sequence + s.sequence,
             "CANCELLED" if s.event.status == EventStatus.CANCELLED else "CONFIRMED") for s in rows]


def floor_build(rows: list[tuple]) -> bytes:
    """icalendar alone: the same VEVENTs, properties and VTIMEZONE as the feed."""
    zone = ZoneInfo("Europe/Berlin")
    cal = icalendar.Calendar()
    for name, value in (("prodid", "-//bench//floor//DE"), ("version", "2.0"), ("calscale", "GREGORIAN"),
                        ("method", "PUBLISH"), ("x-wr-calname", "Veranstaltungen"),
                        ("x-wr-timezone", "Europe/Berlin")):
        cal.add(name, value)
    for event_id, session_id, title, description, location, starts, ends, changed, sequence, status in rows:
        url = f"{BASE_URL}/events/{event_id}"
        vevent = icalendar.Event()
        vevent.add("uid", f"event-{event_id}-session-{session_id}@termine.giessen.de")
        vevent.add("dtstamp", changed)
        vevent.add("last-modified", changed)
        vevent.add("sequence", sequence)
        vevent.add("dtstart", starts.astimezone(zone))
        vevent.add("dtend", ends.astimezone(zone))
        vevent.add("summary", title)
        vevent.add("description", f"{description}\n\n{url}")
        vevent.add("location", location)
        vevent.add("url", url)
        vevent.add("status", status)
        cal.add_component(vevent)
    cal.add_missing_timezones(rows[0][5].date() - timedelta(days=1), rows[-1][6].date() + timedelta(days=2))
    return cal.to_ical()


def median_seconds(samples: list[float]) -> float:
    return statistics.median(samples)


async def main(count: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite://{Path(tmp) / 'bench.sqlite3'}"
        await db.migrate(url)
        await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
        try:
            await seed(count)
            rows = await plain_rows()
            settings = Settings(database_url=url, base_url=BASE_URL, secret_key="bench", var_dir=Path(tmp),
                                run_worker_in_server=False)
            app = create_app(settings, manage_orm=False)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                floor, cold, conditional = [], [], []
                body = b""
                for _ in range(repeat):
                    started = time.perf_counter()
                    floor_bytes = floor_build(rows)
                    floor.append(time.perf_counter() - started)

                    started = time.perf_counter()
                    response = await client.get("/calendar.ics")
                    cold.append(time.perf_counter() - started)
                    assert response.status_code == 200, response.status_code
                    body = response.content
                etag = response.headers["etag"]
                for _ in range(repeat * 10):
                    started = time.perf_counter()
                    not_modified = await client.get("/calendar.ics", headers={"If-None-Match": etag})
                    conditional.append(time.perf_counter() - started)
                    assert not_modified.status_code == 304, not_modified.status_code
        finally:
            await Tortoise.close_connections()

    parsed = icalendar.Calendar.from_ical(body)
    vevents = len(list(parsed.walk("VEVENT")))
    assert vevents == count, vevents
    f, c, k = median_seconds(floor), median_seconds(cold), median_seconds(conditional)
    print(f"public feed, {count} events ({vevents} VEVENTs, {len(body) / 1024:.0f} KiB; floor {len(floor_bytes) / 1024:.0f} KiB)")
    print(f"  floor (icalendar only, no web, no DB): {f * 1000:8.1f} ms")
    print(f"  cold GET /calendar.ics               : {c * 1000:8.1f} ms   = {c / f:.2f} x floor  (goal <= 2.00)")
    print(f"  conditional GET (304)                : {k * 1000:8.1f} ms   = {k / f:.3f} x floor  ({c / k:.0f}x faster than cold)")
    print("  goal met" if c <= 2 * f else "  GOAL MISSED")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.repeat))
