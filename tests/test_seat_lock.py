"""The event lock on PostgreSQL waits at most EVENTS_LOCK_TIMEOUT_MS (on SQLite: the busy timeout): a change stuck behind another
gets a clear 503 "please try again" with Retry-After, as a problem or a page, never a hung request;
nothing is written, and the same request succeeds once the lock is free."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import httpx
import pytest
from tortoise import Tortoise

from events_app.app import create_app
from events_app.core import errors
from events_app.core.models import Registration
from events_app.core.settings import load_settings
from events_app.seats import register_sql, registration, seating
from events_app.seats.registration import Applicant
from tests.helpers import make_event

on_postgres = pytest.mark.parametrize("db", ["postgres"], indirect=True)


class HeldLock:
    """Another connection holding the event's row lock, as a stuck request would."""

    def __init__(self, database_url: str, event_id: int):
        self.url, self.event_id = database_url, event_id

    async def __aenter__(self):
        self.conn = await asyncpg.connect(self.url)
        await self.conn.execute("BEGIN")
        await self.conn.execute("SELECT id FROM event WHERE id = $1 FOR UPDATE", self.event_id)
        return self

    async def __aexit__(self, *exc):
        await self.conn.execute("ROLLBACK")
        await self.conn.close()


@pytest.fixture
async def quick_client(settings, monkeypatch):
    """The app with a 200 ms lock timeout (the global is put back afterwards)."""
    monkeypatch.setattr(seating, "_lock_timeout_ms", seating.DEFAULT_LOCK_TIMEOUT_MS)
    app = create_app(settings.with_(lock_timeout_ms=200), manage_orm=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@on_postgres
async def test_a_held_event_lock_gives_503_try_again_with_retry_after(quick_client, db):
    event = await make_event(capacity=5)
    async with HeldLock(db, event.id):
        api = await quick_client.post(f"/api/v1/events/{event.id}/registrations?lang=en",
                                      json={"name": "Ayşe", "email": "a@example.org"})
        page = await quick_client.post(f"/events/{event.id}/register?lang=de", data={"name": "Ayşe", "email": "a@example.org"},
                                       headers={"accept-language": "de"})
        arabic = await quick_client.post(f"/api/v1/events/{event.id}/registrations?lang=ar",
                                         json={"name": "Ayşe", "email": "a@example.org"})
    assert api.status_code == 503 and api.headers["retry-after"] == "5"
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["type"] == "/problems/seats-busy" and "try again" in api.json()["title"]
    assert page.status_code == 503 and page.headers["retry-after"] == "5"
    assert "versuchen Sie es gleich noch einmal" in page.text
    assert arabic.status_code == 503 and arabic.json()["title"].startswith("يسجّل")
    assert await Registration.filter(event_id=event.id).count() == 0  # nothing half-written
    again = await quick_client.post(f"/api/v1/events/{event.id}/registrations",
                                    json={"name": "Ayşe", "email": "a@example.org"})
    assert again.status_code == 201 and await Registration.filter(event_id=event.id).count() == 1


@on_postgres
async def test_the_domain_raises_seats_busy_and_the_worker_paths_too(db, monkeypatch):
    """Not only the web: the offer expiry and cancellations raise the same condition."""
    monkeypatch.setattr(seating, "_lock_timeout_ms", 100)
    event = await make_event(capacity=5)
    person = (await registration.register(event_id=event.id, applicant=Applicant(name="A", email="a@example.org"))
              ).registration
    async with HeldLock(db, event.id):
        with pytest.raises(errors.SeatsBusy):
            await registration.cancel(token=person.manage_token)
        with pytest.raises(errors.SeatsBusy):
            await registration.set_capacity(event_id=event.id, capacity=8)
    assert (await Registration.get(id=person.id)).status.value == "confirmed"


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_on_sqlite_a_write_lock_held_elsewhere_gives_503_after_the_busy_timeout(client, db):
    """Another process holding SQLite's write lock: BEGIN IMMEDIATE gives up after busy_timeout (made
    short here) and the request gets the same 503 "please try again", not a 500."""
    event = await make_event(capacity=5)
    conn = Tortoise.get_connection("default")
    other = sqlite3.connect(db.removeprefix("sqlite://"), isolation_level=None)
    await conn.execute_script("PRAGMA busy_timeout = 100")
    try:
        other.execute("BEGIN IMMEDIATE")
        api = await client.post(f"/api/v1/events/{event.id}/registrations?lang=en",
                                json={"name": "Ayşe", "email": "a@example.org"})
        with pytest.raises(errors.SeatsBusy):  # the seat primitive's own lock says so too
            await registration.register(event_id=event.id, applicant=Applicant(name="B", email="b@example.org"))
        other.execute("ROLLBACK")
    finally:
        other.close()
        await conn.execute_script("PRAGMA busy_timeout = 30000")
    assert api.status_code == 503 and api.headers["retry-after"] == "5"
    assert api.json()["type"] == "/problems/seats-busy"
    assert await Registration.filter(event_id=event.id).count() == 0
    # the connection is usable again: a failed BEGIN IMMEDIATE must not keep the process's lock
    await registration.register(event_id=event.id, applicant=Applicant(name="B", email="b@example.org"))
    assert await Registration.filter(event_id=event.id).count() == 1


def test_the_lock_timeout_is_a_setting():
    assert load_settings({"EVENTS_LOCK_TIMEOUT_MS": "750", "EVENTS_SECRET_KEY": "k"}).lock_timeout_ms == 750
    assert load_settings({"EVENTS_SECRET_KEY": "k"}).lock_timeout_ms == seating.DEFAULT_LOCK_TIMEOUT_MS == 5000


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_a_sign_up_waiting_for_its_turn_gives_up_like_one_waiting_for_the_lock(db, monkeypatch):
    """Sign-ups of one process wait for a placing call before they wait for the event's lock in the
    database: a call that does not take them within the lock timeout is the same "try again", never a
    wait without end, and leaves nothing behind."""
    monkeypatch.setattr(seating, "_lock_timeout_ms", 100)
    monkeypatch.setattr(register_sql, "PLACING_AT_ONCE", 1)
    event = await make_event(capacity=5)
    entered, stuck = asyncio.Event(), asyncio.Event()
    real_place_many = register_sql._place_many

    async def held_up(client, rows):  # the call under way waits for the lock, in the database
        entered.set()
        await stuck.wait()
        return await real_place_many(client, rows)

    monkeypatch.setattr(register_sql, "_place_many", held_up)
    first = asyncio.create_task(
        registration.register(event_id=event.id, applicant=Applicant(name="A", email="a@example.org")))
    await entered.wait()  # the first sign-up's call is under way
    with pytest.raises(errors.SeatsBusy):
        await registration.register(event_id=event.id, applicant=Applicant(name="B", email="b@example.org"))
    stuck.set()
    assert (await first).registration.status.value == "confirmed"
    assert register_sql._batches == {}
    assert [r.name for r in await Registration.filter(event_id=event.id)] == ["A"]
    placed = await registration.register(event_id=event.id, applicant=Applicant(name="C", email="c@example.org"))
    assert placed.registration.status.value == "confirmed"
