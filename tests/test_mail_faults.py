"""Mail delivery under faults, against a real SMTP server (aiosmtpd) on loopback, on both databases.

A message that breaks the connection costs only itself; a worker stopped with SIGTERM hands its
mails back at once; one killed with SIGKILL loses none (another takes them after the lease); two
workers never send one message twice; a person's own mail overtakes a bulk mailing.
Each case prints its figures (delivered, duplicates, lost, time to drain) with `pytest -s`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from events_app.core.models import EventKind, OutboxMessage, OutboxState, Registration, RegistrationStatus
from events_app.core.timeutil import utcnow
from events_app.mail import delivery, outbox
from events_app.seats import registration
from events_app.seats.events import SessionSpec, create_event
from events_app.seats.registration import Applicant, new_token
from tests.helpers import both_databases, make_event

HOST = "events.giessen.de"


def figures(case: str, *, total: int, ids: list[str], seconds: float) -> tuple[int, int]:
    """Print the case's figures; returns (duplicates, lost)."""
    duplicates, lost = len(ids) - len(set(ids)), total - len(set(ids))
    print(f"\nfault figures [{case}]: delivered {len(set(ids))}/{total}, duplicates {duplicates}, lost {lost}, "
          f"drained in {seconds:.1f} s")
    return duplicates, lost


async def queue_many(count: int, *, template: str = "confirmed") -> list[int]:
    """`count` confirmed registrations of a course, each with one mail of `template` queued (bulk inserts)."""
    now = utcnow()
    start = now + timedelta(days=20)
    event = await create_event(values={"kind": EventKind.COURSE, "title": "Schwimmkurs für Frauen",
                                       "capacity": count + 10, "location": "Hallenbad Ost"},
                               sessions=[SessionSpec(start, start + timedelta(hours=2))])
    await Registration.bulk_create([
        Registration(event_id=event.id, name=f"Person {n}", email=f"{template}{n}@example.org", language="de",
                     status=RegistrationStatus.CONFIRMED, queued_at=now, confirmed_at=now,
                     manage_token=new_token(), checkin_token=new_token())
        for n in range(count)])
    people = await Registration.filter(event_id=event.id).order_by("id")
    await OutboxMessage.bulk_create([
        OutboxMessage(template=template, recipient=person.email, registration_id=person.id, event_id=event.id,
                      next_attempt_at=now, priority=outbox.priority_for(template))
        for person in people])
    return list(await OutboxMessage.filter(event_id=event.id).order_by("id").values_list("id", flat=True))


# --- one bad message -------------------------------------------------------------------------


@both_databases
async def test_a_message_that_drops_the_connection_holds_up_no_other(db, smtp_settings, smtp_server):
    event = await make_event(capacity=40)
    for n in range(20):
        await registration.register(event_id=event.id, applicant=Applicant(name=f"P {n}", email=f"p{n}@example.org"))
    smtp_server.drop_for = {"p7@example.org"}
    began = utcnow()

    report = await delivery.deliver_due(smtp_settings, now=began)
    # the other 19 went out in the same round, over a new connection after the drop
    assert (report.sent, report.retried, report.failed, report.reconnects) == (19, 1, 0, 1)
    assert sorted(r.recipients[0] for r in smtp_server.received) == sorted(
        f"p{n}@example.org" for n in range(20) if n != 7)
    others = await OutboxMessage.exclude(recipient="p7@example.org")
    assert all(o.state == OutboxState.SENT and o.attempts == 1 and o.last_error == "" for o in others)
    bad = await OutboxMessage.get(recipient="p7@example.org")
    assert (bad.state, bad.attempts, bad.connection_breaks) == (OutboxState.RETRY, 1, 1)
    assert "SMTPServerDisconnected" in bad.last_error

    # second drop in a row; from then on it goes alone, after the others, on its own connection
    now = bad.next_attempt_at
    await delivery.deliver_due(smtp_settings, now=now)
    bad = await OutboxMessage.get(id=bad.id)
    assert bad.connection_breaks == 2
    for n in range(20, 25):
        await registration.register(event_id=event.id, applicant=Applicant(name=f"P {n}", email=f"p{n}@example.org"))
    report = await delivery.deliver_due(smtp_settings, now=bad.next_attempt_at)
    assert (report.sent, report.retried, report.reconnects) == (5, 1, 0)
    late = [r for r in smtp_server.received if r.recipients[0] in {f"p{n}@example.org" for n in range(20, 25)}]
    assert len({r.peer for r in late}) == 1 and smtp_server.dropped[-1][1] not in {r.peer for r in late}

    # it alone walks the back-off and fails after two days with its own error
    rounds = 3
    while (bad := await OutboxMessage.get(id=bad.id)).state == OutboxState.RETRY:
        await delivery.deliver_due(smtp_settings, now=bad.next_attempt_at)
        rounds += 1
    assert bad.state == OutboxState.FAILED and "SMTPServerDisconnected" in bad.last_error
    assert bad.attempts == rounds == len(smtp_server.dropped)
    assert all(recipient == "p7@example.org" for recipient, _ in smtp_server.dropped)
    others = await OutboxMessage.exclude(id=bad.id)
    assert len(others) == 24 and all(o.state == OutboxState.SENT and o.attempts == 1 for o in others)
    duplicates, lost = figures(f"one message drops the connection, {db.split(':')[0]}", total=24,
                               ids=smtp_server.message_ids(), seconds=0.0)
    assert (duplicates, lost) == (0, 0)


async def test_reconnects_per_round_are_bounded_and_untried_messages_keep_no_error(db, smtp_settings, smtp_server):
    ids = await queue_many(20)
    smtp_server.drop_for = {f"confirmed{n}@example.org" for n in range(20)}  # the relay breaks on everything
    report = await delivery.deliver_due(smtp_settings)
    tried = delivery.MAX_RECONNECTS + 1
    assert (report.retried, report.reconnects, report.released) == (tried, delivery.MAX_RECONNECTS, 20 - tried)
    rows = await OutboxMessage.filter(id__in=ids).order_by("id")
    assert [r.attempts for r in rows] == [1] * tried + [0] * (20 - tried)
    assert all(r.state == OutboxState.QUEUED and r.last_error == "" and r.claimed_by == "" for r in rows[tried:])


# --- priorities ------------------------------------------------------------------------------


async def test_queue_mail_takes_the_priority_of_its_kind_unless_told(db):
    assert outbox.priority_for("confirmed") < outbox.priority_for("event_changed") < outbox.priority_for("reminder")
    assert outbox.priority_for("offered") == outbox.priority_for("waitlisted") == outbox.MailPriority.PERSONAL
    assert outbox.priority_for("newsletter") == outbox.priority_for("digest") == outbox.MailPriority.BULK
    async with in_transaction() as conn:
        offer = await outbox.queue_mail(conn, template="offered", recipient="a@example.org")
        news = await outbox.queue_mail(conn, template="newsletter", recipient="b@example.org")
        told = await outbox.queue_mail(conn, template="organiser_message", recipient="c@example.org",
                                       priority=outbox.MailPriority.PERSONAL)
    stored = {row.id: row.priority for row in await OutboxMessage.all()}
    assert (stored[offer.id], stored[news.id], stored[told.id]) == (0, 2, 0)


@both_databases
async def test_a_confirmation_queued_after_2000_bulk_mails_goes_out_before_them(db, smtp_settings, smtp_server):
    bulk = await queue_many(2000, template="reminder")
    stop = asyncio.Event()
    running = asyncio.create_task(delivery.deliver_due(smtp_settings, stop=stop))
    await smtp_server.until(lambda s: len(s.received) >= 50)
    event = await make_event(capacity=5)
    await registration.register(event_id=event.id, applicant=Applicant(name="Amal", email="amal@example.org"))
    await smtp_server.until(lambda s: bool(s.to("amal@example.org")))
    position = [r.recipients[0] for r in smtp_server.received].index("amal@example.org")
    stop.set()
    report = await running
    bulk_sent = await OutboxMessage.filter(id__in=bulk, state=OutboxState.SENT).count()
    print(f"\nconfirmation delivered as message {position + 1}, with {2000 - position} bulk mails still waiting")
    assert position < 300 and bulk_sent < 2000
    # the stop left nothing claimed: the rest is due for the next round at once
    assert await OutboxMessage.filter(state=OutboxState.SENDING).count() == 0
    assert report.released > 0
    assert await OutboxMessage.filter(id__in=bulk, state=OutboxState.QUEUED, attempts=0).count() == 2000 - bulk_sent


# --- leases ----------------------------------------------------------------------------------


async def _second_worker_during_a_long_batch(smtp_settings, smtp_server) -> tuple[list, list[str]]:
    """Worker A holds a batch longer than the lease (slow server); worker B keeps trying meanwhile."""
    await queue_many(8)
    smtp_server.delay = 0.2  # 8 messages: 1.6 s, the lease is 0.8 s
    lease = timedelta(seconds=0.8)
    first = asyncio.create_task(delivery.deliver_due(smtp_settings, worker_id="A", lease=lease))
    while await OutboxMessage.filter(state=OutboxState.SENDING).count() < 8:
        await asyncio.sleep(0.01)
    second = []
    while not first.done():
        second.append(await delivery.deliver_due(smtp_settings, worker_id="B", lease=lease))
        await asyncio.sleep(0.05)
    await first
    return second, smtp_server.message_ids()


@both_databases
async def test_a_batch_held_past_its_lease_is_renewed_so_no_other_worker_takes_it(db, smtp_settings, smtp_server):
    second, ids = await _second_worker_during_a_long_batch(smtp_settings, smtp_server)
    assert sum(r.handled for r in second) == 0
    assert len(ids) == len(set(ids)) == 8
    assert await OutboxMessage.filter(state=OutboxState.SENT, attempts=1).count() == 8


async def test_negative_control_without_renewal_the_second_worker_sends_again(db, smtp_settings, smtp_server,
                                                                              monkeypatch):
    async def renew_nothing(ids, *, owner, until):
        return 0

    monkeypatch.setattr(delivery, "renew_claims", renew_nothing)
    second, ids = await _second_worker_during_a_long_batch(smtp_settings, smtp_server)
    assert sum(r.sent for r in second) > 0 and len(ids) > len(set(ids))


# --- worker processes ------------------------------------------------------------------------


def worker_env(db: str, smtp_server, tmp_path: Path, *, lease: int) -> dict[str, str]:
    return {**os.environ, "EVENTS_DATABASE_URL": db, "EVENTS_SMTP_HOST": "127.0.0.1",
            "EVENTS_SMTP_PORT": str(smtp_server.port), "EVENTS_VAR_DIR": str(tmp_path), "EVENTS_SECRET_KEY": "test",
            "EVENTS_BASE_URL": f"https://{HOST}", "EVENTS_MAIL_LEASE_SECONDS": str(lease),
            "EVENTS_WORKER_POLL_SECONDS": "0.2"}


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as handle:  # a file, not a pipe: the worker logs a line per round
        return subprocess.Popen([sys.executable, "-m", "events_app.cli", "worker"], env=env,
                                stdout=subprocess.DEVNULL, stderr=handle)


async def all_sent(ids: list[int], *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while await OutboxMessage.filter(id__in=ids, state=OutboxState.SENT).count() < len(ids):
        assert time.monotonic() < deadline, "the outbox did not drain"
        await asyncio.sleep(0.05)


async def stop(process: subprocess.Popen, how: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(how)
    return await asyncio.to_thread(process.wait, 20)


@pytest.mark.multiprocess
@both_databases
async def test_sigterm_mid_batch_hands_back_the_rest_at_once(db, settings, smtp_server, tmp_path):
    ids = await queue_many(60)
    smtp_server.delay = 0.01
    log = tmp_path / "worker.log"
    # an hour's lease: only the clean stop's hand-back lets the second worker have the rest soon
    env = worker_env(db, smtp_server, tmp_path, lease=3600)
    first = start_worker(env, log)
    second = None
    try:
        await smtp_server.until(lambda s: len(s.received) >= 15)
        stopped = time.monotonic()
        assert await stop(first) == 0, log.read_text()
        print(f"\nthe first worker exited {time.monotonic() - stopped:.1f} s after SIGTERM")
        left = await OutboxMessage.filter(id__in=ids).exclude(state=OutboxState.SENT)
        assert left and all(r.state == OutboxState.QUEUED and r.attempts == 0 and r.claimed_by == "" for r in left)
        # every result written: what the server received is what the outbox marked sent
        assert len(smtp_server.received) == len(ids) - len(left)
        second = start_worker(env, log)
        await all_sent(ids)
        drained = time.monotonic() - stopped
    finally:
        for process in (first, second):
            if process is not None:
                await stop(process)
    assert "released" in log.read_text() and " sent" in log.read_text()
    duplicates, lost = figures(f"SIGTERM mid-batch, {db.split(':')[0]}", total=len(ids),
                               ids=smtp_server.message_ids(), seconds=drained)
    assert (duplicates, lost) == (0, 0)


@pytest.mark.multiprocess
@both_databases
async def test_sigkill_mid_batch_loses_nothing_the_rest_goes_after_the_lease(db, settings, smtp_server, tmp_path):
    ids = await queue_many(60)
    smtp_server.delay = 0.01
    log = tmp_path / "worker.log"
    env = worker_env(db, smtp_server, tmp_path, lease=2)
    first = start_worker(env, log)
    second = None
    try:
        await smtp_server.until(lambda s: len(s.received) >= 15)
        assert await stop(first, signal.SIGKILL) == -signal.SIGKILL
        killed = time.monotonic()
        assert await OutboxMessage.filter(id__in=ids, state=OutboxState.SENDING).count() > 0  # its claim
        second = start_worker(env, log)
        await all_sent(ids)
        drained = time.monotonic() - killed
    finally:
        for process in (first, second):
            if process is not None:
                await stop(process)
    duplicates, lost = figures(f"SIGKILL mid-batch, {db.split(':')[0]}", total=len(ids),
                               ids=smtp_server.message_ids(), seconds=drained)
    assert lost == 0 and duplicates <= delivery.UNRECORDED_LIMIT
    # a duplicate was sent once unrecorded, then tried once by the second worker
    assert await OutboxMessage.filter(id__in=ids, attempts=1).count() == len(ids)


@pytest.mark.multiprocess
@both_databases
async def test_two_workers_on_a_slow_server_with_a_long_backlog_send_each_message_once(db, settings, smtp_server,
                                                                                       tmp_path):
    ids = await queue_many(150)
    smtp_server.delay = 0.01  # a batch of 100 takes over 1 s: longer than the lease
    log = tmp_path / "worker.log"
    env = worker_env(db, smtp_server, tmp_path, lease=1)
    began = time.monotonic()
    workers = [start_worker(env, log) for _ in range(2)]
    try:
        await all_sent(ids)
        drained = time.monotonic() - began
    finally:
        codes = [await stop(process) for process in workers]
    assert codes == [0, 0], log.read_text()
    assert len({r.peer for r in smtp_server.received}) >= 2  # both took part
    duplicates, lost = figures(f"two workers, slow server, {db.split(':')[0]}", total=len(ids),
                               ids=smtp_server.message_ids(), seconds=drained)
    assert (duplicates, lost) == (0, 0)


# --- /health ---------------------------------------------------------------------------------


@both_databases
async def test_health_reports_the_database_and_the_due_backlog(db, client):
    assert (await client.get("/health")).json() == {"status": "ok", "database": "ok",
                                                    "outbox": {"due": 0, "oldest_due_age_seconds": 0.0}}
    ids = await queue_many(4)
    now = utcnow()
    await OutboxMessage.filter(id=ids[0]).update(next_attempt_at=now - timedelta(minutes=3))  # waiting longest
    await OutboxMessage.filter(id=ids[1]).update(state=OutboxState.RETRY, next_attempt_at=now + timedelta(minutes=5))
    await OutboxMessage.filter(id=ids[2]).update(state=OutboxState.SENT)
    response = await client.get("/health")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    outbox_state = response.json()["outbox"]
    assert outbox_state["due"] == 2  # not the one waiting for its retry, not the sent one
    assert 180 <= outbox_state["oldest_due_age_seconds"] < 240


async def test_health_is_503_when_the_database_is_unreachable(db, client, backends, tmp_path):
    from tortoise import Tortoise

    from events_app.core.settings import tortoise_config

    await Tortoise.close_connections()
    backends.active = None  # the next test sets its database up again
    unreachable = tortoise_config(f"sqlite://{tmp_path / 'no-such-folder' / 'events.sqlite3'}")
    await Tortoise.init(config=unreachable, _enable_global_fallback=True)
    try:
        response = await client.get("/health")
    finally:
        await Tortoise.close_connections()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}


@pytest.mark.multiprocess
@both_databases
async def test_serve_with_the_worker_inside_stops_like_the_worker(db, settings, smtp_server, tmp_path):
    from tests.fixtures_mail import free_port

    ids = await queue_many(60)
    smtp_server.delay = 0.01
    log = tmp_path / "serve.log"
    env = {**worker_env(db, smtp_server, tmp_path, lease=3600), "EVENTS_RUN_WORKER": "true"}
    with log.open("ab") as handle:
        server = subprocess.Popen([sys.executable, "-m", "events_app.cli", "serve", "--no-migrate",
                                   "--port", str(free_port())], env=env, stdout=subprocess.DEVNULL, stderr=handle)
    try:
        await smtp_server.until(lambda s: len(s.received) >= 15)
    finally:
        code = await stop(server)
    # uvicorn ends by re-raising the signal it shut down for, after the application's shutdown
    assert code in (0, -signal.SIGTERM) and "Application shutdown complete" in log.read_text(), log.read_text()
    assert "released" in log.read_text()
    sent = await OutboxMessage.filter(id__in=ids, state=OutboxState.SENT).count()
    assert sent == len(smtp_server.received) < len(ids)  # every result written, the rest not sent
    assert await OutboxMessage.filter(id__in=ids, state=OutboxState.QUEUED, claimed_by="").count() == len(ids) - sent
