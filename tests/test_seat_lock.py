"""The event lock on PostgreSQL waits at most EVENTS_LOCK_TIMEOUT_MS: a change stuck behind another
gets a clear 503 "please try again" with Retry-After, as a problem or a page, never a hung request;
nothing is written, and the same request succeeds once the lock is free."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from events_app.app import create_app
from events_app.core import errors
from events_app.core.models import Registration
from events_app.core.settings import load_settings
from events_app.seats import registration, seating
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


def test_the_lock_timeout_is_a_setting():
    assert load_settings({"EVENTS_LOCK_TIMEOUT_MS": "750", "EVENTS_SECRET_KEY": "k"}).lock_timeout_ms == 750
    assert load_settings({"EVENTS_SECRET_KEY": "k"}).lock_timeout_ms == seating.DEFAULT_LOCK_TIMEOUT_MS == 5000
