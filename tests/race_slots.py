"""Several OS processes booking one consultation slot at once, for tests/test_consultations.py:
    python -m tests.race_slots DATABASE_URL SLOT_ID COUNT START_AT [--prefix P]
books the slot COUNT times at once (different people) and prints one JSON line with what each got."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from tortoise import Tortoise

from events_app.consultations import bookings
from events_app.core import errors
from events_app.core.settings import tortoise_config


async def _main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("slot_id", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("start_at", type=float)
    parser.add_argument("--prefix", default="p")
    args = parser.parse_args(argv)
    config = tortoise_config(args.database_url)
    if not args.database_url.startswith("sqlite"):
        config["connections"]["default"]["credentials"]["maxsize"] = 5
    await Tortoise.init(config=config, _enable_global_fallback=True)

    async def one(n: int) -> str:
        try:
            await bookings.book(slot_id=args.slot_id, timezone="Europe/Berlin", booker=bookings.Booker(
                name=f"{args.prefix}{n}", email=f"{args.prefix}{n}@example.org"))
            return "booked"
        except errors.SlotTaken:
            return "taken"
        except Exception as exc:  # reported, so the test shows what went wrong
            return f"{type(exc).__name__}: {exc}"

    try:
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
        outcomes = await asyncio.gather(*(one(n) for n in range(args.count)))
    finally:
        await Tortoise.close_connections()
    print(json.dumps(outcomes))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1:]))
