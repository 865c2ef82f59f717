"""The worker's side of the outbox: claim due rows, build their messages, send them, record the results.

Retries back off (RETRY_DELAYS, then hourly) until GIVE_UP_AFTER; several workers may run at once.
Each claim carries a lease that the worker renews while it works, so no other worker takes a row
from a live one; a worker that died leaves its rows to the others when the lease runs out. A failed
send is the failing message's alone, and a stop (SIGTERM) hands the rows not tried back at once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import format_datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Case, F, Q, When
from tortoise.functions import Count, Min
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
BATCH_SIZE = 100
#: At most this many messages are handed to the SMTP server before their results are committed, so
#: at most this many can go out twice when the worker is killed (SIGKILL, power loss). A clean stop
#: (SIGTERM) writes every result: no duplicates. benchmarks/mail.py measures the cost: writing after
#: every message (1) cost 30-40 % of the throughput to a local server, 4 costs next to nothing
#: against groups of 20, because each commit overlaps the next sends.
UNRECORDED_LIMIT = 4
#: New connections a round opens after the server dropped one; past that the round ends, and the
#: messages not tried are released for the next round.
MAX_RECONNECTS = 5
#: A message whose tries ended with the connection lost this many times in a row is sent on its own
#: connection after the others, so it cannot take them down with it.
ISOLATE_AFTER = 2


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    #: Claimed but not tried (stop requested, server gone): handed back, claimable at once.
    released: int = 0
    reconnects: int = 0
    seconds: float = 0.0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    return RETRY_DELAYS[attempts - 1] if 1 <= attempts <= len(RETRY_DELAYS) else HOURLY


def next_try(message: OutboxMessage, now: datetime, attempts: int | None = None) -> datetime | None:
    """When to try again after `attempts` tries (default: the row's), or None when failing for too long."""
    later = now + retry_delay(message.attempts if attempts is None else attempts)
    return None if later - message.created_at > GIVE_UP_AFTER else later


def _due(now: datetime) -> Q:
    """Rows waiting to be sent, and rows whose worker's lease ran out (it died)."""
    return (Q(state__in=[OutboxState.QUEUED, OutboxState.RETRY], next_attempt_at__lte=now)
            | Q(state=OutboxState.SENDING, claimed_until__lt=now))


async def claim_due(conn: BaseDBAsyncClient, *, now: datetime, limit: int, lease: timedelta,
                    owner: str = "") -> list[OutboxMessage]:
    """Take up to `limit` due rows for the worker round `owner`: state sending, lease until now + lease.

    Highest priority first, then oldest. On PostgreSQL rows another worker has locked are skipped
    (FOR UPDATE SKIP LOCKED), so two workers never claim the same row; on SQLite the transaction is
    IMMEDIATE and so serialised. Attempts are counted when a message is tried, not here.
    """
    rows = await (OutboxMessage.filter(_due(now)).order_by("priority", "next_attempt_at", "id").limit(limit)
                  .select_for_update(skip_locked=True).using_db(conn))
    if not rows:
        return []
    claimed_until = now + lease
    await OutboxMessage.filter(id__in=[row.id for row in rows]).using_db(conn).update(
        state=OutboxState.SENDING, claimed_until=claimed_until, claimed_by=owner)
    for row in rows:
        row.state, row.claimed_until, row.claimed_by = OutboxState.SENDING, claimed_until, owner
    return rows


async def renew_claims(ids: list[int], *, owner: str, until: datetime) -> int:
    """Extend the lease of rows this round still holds; returns how many it still holds."""
    if not ids:
        return 0
    return await OutboxMessage.filter(id__in=ids, claimed_by=owner, state=OutboxState.SENDING).update(
        claimed_until=until)


async def release_claims(ids: list[int], *, owner: str) -> int:
    """Hand back rows claimed but not tried: due again at once, for any worker."""
    if not ids:
        return 0
    held = Q(id__in=ids, claimed_by=owner, state=OutboxState.SENDING)
    async with in_transaction() as conn:
        never_tried = await OutboxMessage.filter(held, attempts=0).using_db(conn).update(
            state=OutboxState.QUEUED, claimed_until=None, claimed_by="")
        tried_before = await OutboxMessage.filter(held, attempts__gt=0).using_db(conn).update(
            state=OutboxState.RETRY, claimed_until=None, claimed_by="")
    return never_tried + tried_before


@dataclass
class Backlog:
    """What /health reports: how many messages are due and how long the longest-waiting one has waited."""

    due: int
    oldest_due_at: datetime | None

    def oldest_due_seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.oldest_due_at).total_seconds()) if self.oldest_due_at else 0.0


async def backlog(*, now: datetime | None = None) -> Backlog:
    """One aggregate query over the due rows (index on state, priority, next_attempt_at)."""
    now = now or utcnow()
    [row] = await (OutboxMessage.filter(_due(now)).annotate(due=Count("id"), oldest=Min("next_attempt_at"))
                   .values("due", "oldest"))
    oldest = row["oldest"]
    if isinstance(oldest, str):  # SQLite hands aggregates back as text
        oldest = datetime.fromisoformat(oldest)
    return Backlog(due=row["due"] or 0, oldest_due_at=oldest)


@dataclass
class DeliveryOutcome:
    """What became of one claimed row: sent (no error), or failed for now or for good."""

    row: OutboxMessage
    error: Exception | None = None
    permanent: bool = False
    message_id: str = ""
    #: Sent over SMTP (or tried to): counts against UNRECORDED_LIMIT until committed.
    handed_over: bool = False


async def _record(outcomes: list[DeliveryOutcome], now: datetime, owner: str, report: DeliveryReport) -> None:
    """Write what happened to a group of tried messages in one transaction (the sent ones in one statement).

    Only rows still claimed by this round are written, so a worker that lost its claim (it stalled past
    the lease and another took the row) never overwrites the other's result.
    """
    sent = [o for o in outcomes if o.error is None]
    async with in_transaction() as conn:
        if sent:
            await OutboxMessage.filter(id__in=[o.row.id for o in sent], state=OutboxState.SENDING,
                                       claimed_by=owner).using_db(conn).update(
                state=OutboxState.SENT, sent_at=utcnow(), claimed_until=None, claimed_by="", last_error="",
                attempts=F("attempts") + 1, connection_breaks=0,
                message_id=Case(*(When(id=o.row.id, then=o.message_id) for o in sent), default=""))
            report.sent += len(sent)
        for outcome in outcomes:
            if outcome.error is None:
                continue
            row = outcome.row
            attempts = row.attempts + 1
            retry_at = None if outcome.permanent else next_try(row, now, attempts)
            broke = isinstance(outcome.error, ConnectionLost)
            await OutboxMessage.filter(id=row.id, state=OutboxState.SENDING, claimed_by=owner).using_db(
                conn).update(state=OutboxState.RETRY if retry_at else OutboxState.FAILED,
                             next_attempt_at=retry_at or row.next_attempt_at, claimed_until=None, claimed_by="",
                             attempts=attempts, connection_breaks=row.connection_breaks + 1 if broke else 0,
                             last_error=str(outcome.error)[:2000] or type(outcome.error).__name__)
            if retry_at:
                report.retried += 1
            else:
                report.failed += 1
                log.warning("mail %s to %s failed for good: %s", row.id, row.recipient, outcome.error)


@dataclass
class _Round:
    """The state one delivery round shares between its stages."""

    owner: str
    lease: timedelta
    started: datetime
    started_monotonic: float = field(default_factory=time.monotonic)
    #: Claimed and not yet recorded or released, by id: the rows whose lease the round renews.
    held: dict[int, OutboxMessage] = field(default_factory=dict)
    #: Handed to the transport: never released, whatever happens next.
    tried: set[int] = field(default_factory=set)
    #: Why sending stopped early ("stop", "reconnects"): the rows not tried are released.
    halted: str = ""
    #: The server could not be reached: the messages claimed so far get this error, no more are claimed.
    unreachable: Exception | None = None

    def now(self) -> datetime:
        """The round's clock: its start (which tests may set) plus the time it has run."""
        return self.started + timedelta(seconds=time.monotonic() - self.started_monotonic)


async def deliver_due(settings: Settings, *, worker_id: str = "", batch_size: int = BATCH_SIZE,
                      now: datetime | None = None, max_batches: int = 100, stop: asyncio.Event | None = None,
                      lease: timedelta | None = None, unrecorded_limit: int = UNRECORDED_LIMIT) -> DeliveryReport:
    """Send every due message; several workers may run this at once (each row goes to one of them).

    Stages run side by side: claiming batches (a short transaction each, a lease per claim) and
    building their messages; sending them over one SMTP connection; writing each result; renewing
    the leases of the rows still held. A dropped connection costs only the message being sent: the
    round reconnects (at most MAX_RECONNECTS times) and goes on. When `stop` is set the message in
    flight is finished, every result written and the rows not tried are released at once.
    """
    state = _Round(owner=f"{worker_id or 'worker'}:{secrets.token_hex(4)}"[-100:],
                   lease=lease or timedelta(seconds=settings.mail_lease_seconds), started=now or utcnow())
    stop = stop or asyncio.Event()
    report = DeliveryReport()
    built: asyncio.Queue = asyncio.Queue(maxsize=8)
    outcomes: asyncio.Queue = asyncio.Queue()
    unrecorded = asyncio.Semaphore(unrecorded_limit)

    def halt(reason: str) -> None:
        state.halted = state.halted or reason

    async def claim_and_build() -> None:
        try:
            for _ in range(max_batches):
                if stop.is_set() or state.halted or state.unreachable is not None:
                    break
                async with in_transaction() as conn:
                    rows = await claim_due(conn, now=state.now(), limit=batch_size, lease=state.lease,
                                           owner=state.owner)
                if not rows:
                    break
                state.held.update((row.id, row) for row in rows)
                data = await load_data(rows)
                for row in rows:
                    if stop.is_set() or state.halted:
                        break
                    try:
                        mail = build_message(row, data, settings)
                    except PermanentFailure as exc:
                        outcomes.put_nowait(DeliveryOutcome(row, exc, permanent=True))
                        continue
                    except Exception as exc:  # a template or data bug must not stop the others
                        log.exception("could not build mail %s", row.id)
                        outcomes.put_nowait(DeliveryOutcome(row, exc, permanent=True))
                        continue
                    await built.put(mail)
                    await asyncio.sleep(0)  # let the sender start on it
                if len(rows) < batch_size:
                    break
        finally:
            await built.put(None)

    async def send_one(transport, mail) -> None:
        """One message over `transport`; its outcome goes to the recorder. ConnectionLost is re-raised."""
        await unrecorded.acquire()
        state.tried.add(mail.row.id)
        try:
            await transport.send(mail)
        except ConnectionLost as exc:
            outcomes.put_nowait(DeliveryOutcome(mail.row, exc, handed_over=True))
            raise
        except PermanentFailure as exc:
            outcomes.put_nowait(DeliveryOutcome(mail.row, exc, permanent=True, handed_over=True))
        except TransientFailure as exc:
            outcomes.put_nowait(DeliveryOutcome(mail.row, exc, handed_over=True))
        except Exception as exc:  # sending the same bytes again will not help
            log.exception("could not send mail %s", mail.row.id)
            outcomes.put_nowait(DeliveryOutcome(mail.row, exc, permanent=True, handed_over=True))
        else:
            outcomes.put_nowait(DeliveryOutcome(mail.row, message_id=mail.message_id, handed_over=True))

    async def connect():
        """A new transport, or None when the server cannot be reached (then every message waits)."""
        transport = transport_for(settings)
        try:
            await transport.open()
        except (TransientFailure, PermanentFailure) as exc:  # down or misconfigured
            state.unreachable = exc
            return None
        return transport

    async def send() -> None:
        transport = None
        connections = 0
        alone: list = []  # messages that broke the connection twice in a row: sent last, each on its own
        try:
            while (mail := await built.get()) is not None:
                if stop.is_set():
                    halt("stop")
                if state.unreachable is not None:
                    # nothing could be sent: the message shares the server's error and waits its turn
                    state.tried.add(mail.row.id)
                    outcomes.put_nowait(DeliveryOutcome(mail.row, state.unreachable))
                    continue
                if state.halted:
                    continue  # left to be released
                if mail.row.connection_breaks >= ISOLATE_AFTER:
                    alone.append(mail)
                    continue
                if transport is None or not transport.connected:
                    if transport is not None:
                        await transport.close()
                        transport = None
                    if connections > MAX_RECONNECTS:
                        halt("reconnects")
                        continue
                    connections += 1
                    transport = await connect()
                    if transport is None:
                        state.tried.add(mail.row.id)
                        outcomes.put_nowait(DeliveryOutcome(mail.row, state.unreachable))
                        continue
                try:
                    await send_one(transport, mail)
                except ConnectionLost:
                    await transport.close()
                    transport = None
            if transport is not None:
                await transport.close()
                transport = None
            for mail in alone:
                if stop.is_set() or state.unreachable is not None:
                    break
                transport = await connect()
                if transport is None:
                    break
                try:
                    await send_one(transport, mail)
                except ConnectionLost:
                    pass
                finally:
                    await transport.close()
                    transport = None
        finally:
            if transport is not None:
                await transport.close()
            report.reconnects = max(0, connections - 1)
            outcomes.put_nowait(None)

    async def record() -> None:
        finished = False
        while not finished:
            group = [await outcomes.get()]
            while not outcomes.empty():  # whatever else is ready goes into the same commit
                group.append(outcomes.get_nowait())
            if group[-1] is None:  # the sender's end mark always comes last
                finished = True
                group.pop()
            if not group:
                continue
            await _record(group, state.now(), state.owner, report)
            for done in group:
                state.held.pop(done.row.id, None)
                if done.handed_over:
                    unrecorded.release()

    async def renew() -> None:
        every = max(state.lease.total_seconds() / 4, 0.05)
        while True:
            await asyncio.sleep(every)
            try:
                await renew_claims(list(state.held), owner=state.owner, until=state.now() + state.lease)
            except Exception:  # the next renewal tries again; the lease leaves time for several
                log.exception("could not renew the mail claims of %s", state.owner)

    renewer = asyncio.create_task(renew())
    try:
        async with asyncio.TaskGroup() as stages:  # one stage failing (the database gone) stops the others
            for stage in (claim_and_build(), send(), record()):
                stages.create_task(stage)
    except ExceptionGroup as failure:
        raise failure.exceptions[0] from None
    finally:
        renewer.cancel()
        untried = [row_id for row_id in state.held if row_id not in state.tried]
        if untried:
            report.released = await asyncio.shield(release_claims(untried, owner=state.owner))
        report.seconds = time.monotonic() - state.started_monotonic
    return report


def build_message(row: OutboxMessage, data: MailData, settings: Settings) -> MimeMail:
    """The full message for one outbox row; PermanentFailure when it cannot be built."""
    recipient = check_recipient(row.recipient)
    context = mail_context(row, data, settings)
    subject, text, html = render_parts(row.template, context["language"], settings, context)
    ics = context.get("ics")
    if context["calendar_attached"] and ics is None:
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
    if context.get("unsubscribe_url"):  # RFC 8058: one click in the mail program unsubscribes
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # "=_" cannot occur in base64 text, so the boundary never collides with a body
    boundary = f"=_{row.id}_{secrets.token_hex(8)}_"
    return MimeMail(row=row, recipient=recipient, message_id=message_id,
                    data=mime_bytes(headers, text=text, html=html, ics=ics, boundary=boundary, inline_png=inline_png))
