"""The background loop: expires waiting-list offers (and, with the mail module, delivers the outbox).

It runs as `events-app worker`, and inside `events-app serve` for the single-machine set-up.
Each job is safe to run in several processes at once: it works under the event lock.
"""

from __future__ import annotations

import asyncio
import logging

from events_app import registration
from events_app.config import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0


async def run_once(settings: Settings) -> dict[str, int]:
    """One round of every job; returns what each did."""
    return {"offers_expired": await registration.expire_due_offers()}


async def run_forever(settings: Settings, *, poll_seconds: float = POLL_SECONDS) -> None:
    while True:
        try:
            await run_once(settings)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the loop alive; the next round retries
            log.exception("worker round failed")
        await asyncio.sleep(poll_seconds)
