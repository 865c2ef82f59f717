"""The worker's side of the outbox: claim due rows, build their messages, send them, record the results.

Retries back off (RETRY_DELAYS, then hourly) until GIVE_UP_AFTER; several workers may run at once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import format_datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Case, F, Q, When
from tortoise.transactions import in_transaction

from events_app.calendar import ical
from events_app.core import qr
from events_app.core.models import OutboxMessage, OutboxState
from events_app.core.settings import Settings
from events_app.core.timeutil import utcnow
from events_app.mail.content import MailData, event_ics, load_data, mail_context, render_parts
from events_app.mail.failures import PermanentFailure, TransientFailure
from events_app.mail.mime import MimeMail, check_recipient, message_id_for, mime_bytes, sender_header
from events_app.mail.transports import ConnectionLost, transport_for

log = logging.getLogger(__name__)

#: Waits before the 1st, 2nd, ... retry; after the last, hourly until GIVE_UP_AFTER.
RETRY_DELAYS = (timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=1),
                timedelta(minutes=5), timedelta(minutes=15))
HOURLY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=2)
#: A claimed row not marked within this time counts as abandoned (worker killed) and is claimed again.
LEASE = timedelta(minutes=10)
BATCH_SIZE = 100
#: Results are written in groups of this many: fewer commits, and at most this many mails could go out
#: twice if the worker dies between sending and writing.
RECORD_EVERY = 20


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    return RETRY_DELAYS[attempts - 1] if 1 <= attempts <= len(RETRY_DELAYS) else HOURLY


def next_try(message: OutboxMessage, now: datetime) -> datetime | None:
    """When to try again, or None when the message has been failing for too long."""
    later = now + retry_delay(message.attempts)
    return None if later - message.created_at > GIVE_UP_AFTER else later


async def claim_due(conn: BaseDBAsyncClient, *, now: datetime, limit: int,
                    lease: timedelta = LEASE) -> list[OutboxMessage]:
    """Take up to `limit` due rows for this worker: state sending, lease until now + lease.

    On PostgreSQL rows another worker has locked are skipped (FOR UPDATE SKIP LOCKED), so two
    workers never claim the same row; on SQLite the transaction is IMMEDIATE and so serialised.
    Rows still `sending` after their lease belong to a worker that died and are taken again.
    """
    due = (Q(state__in=[OutboxState.QUEUED, OutboxState.RETRY], next_attempt_at__lte=now)
           | Q(state=OutboxState.SENDING, claimed_until__lt=now))
    rows = await (OutboxMessage.filter(due).order_by("next_attempt_at", "id").limit(limit)
                  .select_for_update(skip_locked=True).using_db(conn))
    if not rows:
        return []
    claimed_until = now + lease
    await OutboxMessage.filter(id__in=[row.id for row in rows]).using_db(conn).update(
        state=OutboxState.SENDING, claimed_until=claimed_until, attempts=F("attempts") + 1)
    for row in rows:
        row.state, row.claimed_until, row.attempts = OutboxState.SENDING, claimed_until, row.attempts + 1
    return rows


@dataclass
class DeliveryOutcome:
    """What became of one claimed row: sent (no error), or failed for now or for good."""

    row: OutboxMessage
    error: Exception | None = None
    permanent: bool = False
    message_id: str = ""


async def _record(outcomes: list[DeliveryOutcome], now: datetime, report: DeliveryReport) -> None:
    """Write what happened to a group of messages in one transaction (the sent ones in one statement)."""
    sent = [o for o in outcomes if o.error is None]
    async with in_transaction() as conn:
        if sent:
            await OutboxMessage.filter(id__in=[o.row.id for o in sent], state=OutboxState.SENDING).using_db(
                conn).update(state=OutboxState.SENT, sent_at=utcnow(), claimed_until=None, last_error="",
                             message_id=Case(*(When(id=o.row.id, then=o.message_id) for o in sent), default=""))
            report.sent += len(sent)
        for outcome in outcomes:
            if outcome.error is None:
                continue
            row = outcome.row
            retry_at = None if outcome.permanent else next_try(row, now)
            await OutboxMessage.filter(id=row.id, state=OutboxState.SENDING).using_db(conn).update(
                state=OutboxState.RETRY if retry_at else OutboxState.FAILED,
                next_attempt_at=retry_at or row.next_attempt_at, claimed_until=None,
                last_error=str(outcome.error)[:2000] or type(outcome.error).__name__)
            if retry_at:
                report.retried += 1
            else:
                report.failed += 1
                log.warning("mail %s to %s failed for good: %s", row.id, row.recipient, outcome.error)


async def deliver_due(settings: Settings, *, worker_id: str = "", batch_size: int = BATCH_SIZE,
                      now: datetime | None = None, max_batches: int = 100) -> DeliveryReport:
    """Send every due message; several workers may run this at once (each row goes to one of them).

    Three stages run side by side: claiming batches (a short transaction each) and building their
    messages, sending them over one SMTP connection, and writing the results in groups. So the
    next message is rendered while the server answers, and nothing is sent inside a transaction.
    The connection is opened only when there is something to send.
    """
    now = now or utcnow()
    report = DeliveryReport()
    built: asyncio.Queue = asyncio.Queue(maxsize=8)
    outcomes: asyncio.Queue = asyncio.Queue()
    broken: list[Exception] = []  # set when the server cannot be reached: stop claiming

    async def claim_and_build() -> None:
        try:
            for _ in range(max_batches):
                if broken:
                    break
                async with in_transaction() as conn:
                    rows = await claim_due(conn, now=now, limit=batch_size)
                if not rows:
                    break
                data = await load_data(rows)
                for row in rows:
                    try:
                        message = build_message(row, data, settings)
                    except PermanentFailure as exc:
                        outcomes.put_nowait(DeliveryOutcome(row, exc, permanent=True))
                        continue
                    except Exception as exc:  # a template or data bug must not stop the others
                        log.exception("could not build mail %s", row.id)
                        outcomes.put_nowait(DeliveryOutcome(row, exc, permanent=True))
                        continue
                    await built.put(message)
                    await asyncio.sleep(0)  # let the sender start on it
                if len(rows) < batch_size:
                    break
        finally:
            await built.put(None)

    async def send() -> None:
        transport = None
        try:
            while (message := await built.get()) is not None:
                if transport is None:
                    transport = transport_for(settings)
                    try:
                        await transport.open()
                    except (TransientFailure, PermanentFailure) as exc:  # down or misconfigured
                        broken.append(exc)
                if broken:
                    outcomes.put_nowait(DeliveryOutcome(message.row, broken[0]))
                    continue
                try:
                    await transport.send(message)
                except ConnectionLost as exc:
                    broken.append(exc)
                    outcomes.put_nowait(DeliveryOutcome(message.row, exc))
                except PermanentFailure as exc:
                    outcomes.put_nowait(DeliveryOutcome(message.row, exc, permanent=True))
                except TransientFailure as exc:
                    outcomes.put_nowait(DeliveryOutcome(message.row, exc))
                except Exception as exc:  # sending the same bytes again will not help
                    log.exception("could not send mail %s", message.row.id)
                    outcomes.put_nowait(DeliveryOutcome(message.row, exc, permanent=True))
                else:
                    outcomes.put_nowait(DeliveryOutcome(message.row, message_id=message.message_id))
        finally:
            if transport is not None:
                await transport.close()
            outcomes.put_nowait(None)

    async def record() -> None:
        group: list[DeliveryOutcome] = []
        while (outcome := await outcomes.get()) is not None:  # the sender's end mark always comes last
            group.append(outcome)
            if len(group) >= RECORD_EVERY:
                await _record(group, now, report)
                group = []
        if group:
            await _record(group, now, report)

    await asyncio.gather(claim_and_build(), send(), record())
    if report.handled:
        log.info("worker %s: %d sent, %d to retry, %d failed", worker_id or "-", report.sent, report.retried,
                 report.failed)
    return report


def build_message(row: OutboxMessage, data: MailData, settings: Settings) -> MimeMail:
    """The full message for one outbox row; PermanentFailure when it cannot be built."""
    recipient = check_recipient(row.recipient)
    context = mail_context(row, data, settings)
    subject, text, html = render_parts(row.template, context["language"], settings, context)
    ics = None
    if context["calendar_attached"]:
        event = context["event"]
        # the person's own calendar (their SEQUENCE), with the meeting point where the mail tells it
        audience = replace(ical.registrant_audience(context["registration"]),
                           show_confidential_location=context["show_location"])
        key = (event.id, context["language"], audience)
        if key not in data.calendars:
            data.calendars[key] = event_ics(event, data.sessions.get(event.id, []), settings=settings,
                                            language=context["language"], audience=audience)
        ics = data.calendars[key]
    inline_png = None
    if context.get("checkin_url"):
        inline_png = (context["checkin_qr_cid"], qr.png(context["checkin_url"]))
    message_id = message_id_for(row, settings)
    headers = {
        "Subject": subject,
        "From": sender_header(settings.mail_from),
        "To": recipient,
        "Date": format_datetime(utcnow()),
        "Message-ID": message_id,
        "Auto-Submitted": "auto-generated",
        "Content-Language": context["language"],
    }
    # "=_" cannot occur in base64 text, so the boundary never collides with a body
    boundary = f"=_{row.id}_{secrets.token_hex(8)}_"
    return MimeMail(row=row, recipient=recipient, message_id=message_id,
                    data=mime_bytes(headers, text=text, html=html, ics=ics, boundary=boundary, inline_png=inline_png))
