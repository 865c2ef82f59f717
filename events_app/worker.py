"""The background loop: delivers the outbox, expires waiting-list offers, queues reminders and digests.

It runs as `events-app worker`, and inside `events-app serve` for the single-machine set-up.
Each job is safe to run in several processes at once: offers under the event lock, reminders by
a conditional update, mail by claiming rows (FOR UPDATE SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from events_app.backoffice import digest
from events_app.mail import delivery
from events_app.seats import registration, reminders
from events_app.core.settings import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


async def run_once(settings: Settings) -> dict[str, int]:
    """One round of every job; returns what each did."""
    done = {"offers_expired": await registration.expire_due_offers(),
            "reminders_queued": await reminders.queue_due_reminders(hours=settings.reminder_hours),
            "digests_queued": await digest.queue_daily_digest(settings)}
    report = await delivery.deliver_due(settings, worker_id=WORKER_ID)
    done.update(mail_sent=report.sent, mail_retried=report.retried, mail_failed=report.failed)
    return done


async def run_forever(settings: Settings, *, poll_seconds: float = POLL_SECONDS) -> None:
    while True:
        try:
            await run_once(settings)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the loop alive; the next round retries
            log.exception("worker round failed")
        await asyncio.sleep(poll_seconds)
