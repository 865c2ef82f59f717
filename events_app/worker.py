"""The background loop: delivers the outbox, expires waiting-list offers, queues reminders and digests,
and once a day runs the retention job (privacy/retention.py).

It runs as `events-app worker`, and inside `events-app serve` for the single-machine set-up.
Each job is safe to run in several processes at once: offers under the event lock, reminders by
a conditional update, mail by claiming rows (FOR UPDATE SKIP LOCKED on PostgreSQL) under a lease.
A stop (SIGTERM, SIGINT, the server shutting down) lets the message in flight finish, writes every
result and hands the mails not yet tried back to the outbox, so another worker takes them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time

from events_app.backoffice import digest
from events_app.consultations import bookings
from events_app.mail import delivery
from events_app.privacy import retention
from events_app.newsletter import sending, subscriptions
from events_app.seats import registration, reminders
from events_app.core.settings import Settings

log = logging.getLogger(__name__)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
#: The retention job runs when a worker starts and then once a day (it is idempotent, so several
#: workers running it do no harm).
RETENTION_EVERY_SECONDS = 24 * 3600
_retention_last_run: float | None = None


async def _daily_retention(settings: Settings) -> int:
    global _retention_last_run
    if _retention_last_run is not None and time.monotonic() - _retention_last_run < RETENTION_EVERY_SECONDS:
        return 0
    _retention_last_run = time.monotonic()
    removed = await retention.purge(settings)
    if removed:
        log.info("retention job removed %s", removed)
    return sum(removed.values())


async def run_once(settings: Settings, *, stop: asyncio.Event | None = None) -> dict[str, int]:
    """One round of every job; returns what each did and logs it in one line."""
    began = time.monotonic()
    done = {"offers_expired": await registration.expire_due_offers(),
            "reminders_queued": await reminders.queue_due_reminders(hours=settings.reminder_hours),
            "slot_reminders_queued": await bookings.queue_due_reminders(hours=settings.reminder_hours),
            "announcements_queued": await sending.announce_due(staff_domains=tuple(settings.staff_domains)),
            "unconfirmed_subscriptions_deleted": await subscriptions.delete_unconfirmed(),
            "digests_queued": await digest.queue_daily_digest(settings),
            "retention_removed": await _daily_retention(settings)}
    report = await delivery.deliver_due(settings, worker_id=WORKER_ID, stop=stop)
    done.update(mail_sent=report.sent, mail_retried=report.retried, mail_failed=report.failed,
                mail_released=report.released)
    busy = any(done.values()) or report.reconnects
    log.log(logging.INFO if busy else logging.DEBUG,
            "worker %s round: %d sent, %d to retry, %d failed, %d released, %d reconnects; "
            "%d offers expired, %d reminders and %d digests queued, %d personal records removed; %.2f s",
            WORKER_ID, report.sent, report.retried, report.failed, report.released, report.reconnects,
            done["offers_expired"], done["reminders_queued"], done["digests_queued"], done["retention_removed"],
            time.monotonic() - began)
    return done


async def run_forever(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Rounds until `stop` is set; a round in progress ends cleanly (see module docstring).

    A round that had something to do is followed at once by the next; an idle one waits
    EVENTS_WORKER_POLL_SECONDS.
    """
    stop = stop or asyncio.Event()
    while not stop.is_set():
        busy = False
        try:
            busy = any((await run_once(settings, stop=stop)).values())
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the loop alive; the next round retries
            log.exception("worker round failed")
        if not busy:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.worker_poll_seconds)
    log.info("worker %s stopped", WORKER_ID)


async def run_until_signalled(settings: Settings) -> None:
    """`events-app worker`: SIGTERM or SIGINT ends it cleanly (exit status 0)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await run_forever(settings, stop=stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
