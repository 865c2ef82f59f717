"""Throttles: counted atomically in the database (both databases), by the client address a trusted proxy
vouches for, without ever locking an account's owner out."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from events_app import app as app_module
from events_app.core.models import LoginSession, OutboxMessage, Registration, ThrottleCounter
from events_app.security import throttle as throttle_module
from events_app.security.throttle import DatabaseStorage, Throttle
from events_app.web import admin_signin
from tests.fixtures_backoffice import PASSWORD, login_form_token
from tests.fixtures_receptions import invite, make_reception
from tests.helpers import both_databases, make_event, make_user


def behind_proxy(settings, **limits):
    """An app behind a reverse proxy on 127.0.0.1 (the test transport's peer), with the given limits."""
    return app_module.create_app(settings.with_(trusted_proxies=("127.0.0.1",), **limits), manage_orm=False)


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                             base_url="http://testserver")


def via(address: str) -> dict:
    return {"x-forwarded-for": f"{address}, 127.0.0.1"}


async def _login(client, email: str, password: str, address: str):
    csrf = await login_form_token(client)
    return await client.post("/admin/login", data={"email": email, "password": password, "csrf_token": csrf},
                             headers=via(address))


async def test_sign_in_never_locks_the_owner_out(db, settings, monkeypatch):
    """Someone guessing from one address makes that address wait; guessing from many addresses only slows
    the account down; the owner's correct password from their own address works throughout."""
    pauses: list[float] = []

    async def pause(seconds):
        pauses.append(seconds)

    monkeypatch.setattr(admin_signin, "pause", pause)
    app = behind_proxy(settings, limit_login_account_address="3/15 minutes", limit_login_account="5/15 minutes",
                       limit_login_address="4/15 minutes", login_slowdown_seconds=2.0)
    admin, _ = await make_user("admin")
    async with client_for(app) as client:
        for _ in range(3):
            assert (await _login(client, admin.email, "guess", "203.0.113.9")).status_code == 401
        assert (await _login(client, admin.email, "guess", "203.0.113.9")).status_code == 429
        assert (await _login(client, admin.email, PASSWORD, "203.0.113.9")).status_code == 429  # that address waits
        for n in range(2):  # the account reaches its limit from several addresses
            assert (await _login(client, admin.email, "guess", f"198.51.100.{n}")).status_code == 401
        assert pauses == []
        owner = await _login(client, admin.email, PASSWORD, "192.0.2.10")
        assert owner.status_code == 303 and await LoginSession.filter(user_id=admin.id).count() == 1
        assert pauses == [2.0]  # slowed down, not refused
        for _ in range(5):  # successful sign-ins do not count (the address limit is 4)
            client.cookies.clear()
            assert (await _login(client, admin.email, PASSWORD, "192.0.2.10")).status_code == 303


async def test_forwarded_addresses_count_only_from_a_trusted_proxy(db, settings):
    """Without EVENTS_TRUSTED_PROXIES, X-Forwarded-For is ignored: changing it does not buy new attempts."""
    app = app_module.create_app(settings.with_(limit_login_account_address="2/15 minutes"), manage_orm=False)
    user, _ = await make_user("organiser")
    async with client_for(app) as client:
        statuses = [(await _login(client, user.email, "guess", f"203.0.113.{n}")).status_code for n in range(4)]
    assert statuses == [401, 401, 429, 429]
    trusted = behind_proxy(settings, limit_login_account_address="2/15 minutes")
    async with client_for(trusted) as client:
        statuses = [(await _login(client, user.email, "guess", f"198.51.100.{n}")).status_code for n in range(4)]
    assert statuses == [401, 401, 401, 401]


@both_databases
async def test_wrong_codes_are_counted_atomically(db, settings):
    """Twenty wrong codes at once from one address against a limit of five: exactly five are checked.
    The negative control counts as "read, then write" (the old RSVP throttle): all twenty get through."""
    reception = await make_reception()
    person = (await invite(reception, 1))[0]
    app = behind_proxy(settings, limit_rsvp_address="5/10 minutes")

    async def rush(client) -> list[int]:
        answers = await asyncio.gather(*[client.post("/rsvp", data={"code": f"WRONG{n:06d}"},
                                                     headers=via("203.0.113.50")) for n in range(20)])
        return sorted(answer.status_code for answer in answers)

    async with client_for(app) as client:
        assert await rush(client) == [404] * 5 + [429] * 15
        # another address is not affected, and a right code is never counted
        assert (await client.post("/rsvp", data={"code": person.code}, headers=via("192.0.2.1"))).status_code == 303
    await ThrottleCounter.all().delete()

    gate = asyncio.Barrier(20)

    class ReadThenWrite(DatabaseStorage):
        async def incr(self, key, expiry, amount=1):
            await super().incr(key, expiry, 0)  # the row exists
            seen = await self.get(key)
            if amount > 0:
                await gate.wait()  # every request has read before anyone writes
            await ThrottleCounter.filter(bucket=key).update(hits=max(seen + amount, 0))
            return seen + amount

    control = behind_proxy(settings, limit_rsvp_address="5/10 minutes")
    control.state.throttle._limiter = throttle_module.FixedWindowRateLimiter(ReadThenWrite())
    async with client_for(control) as client:
        assert (await rush(client)).count(404) == 20


@both_databases
async def test_a_repeated_registration_takes_no_second_seat_and_sends_no_second_mail(db, settings):
    event = await make_event(capacity=5)
    app = behind_proxy(settings)
    body = {"name": "Amina", "email": "amina@example.org"}
    async with client_for(app) as client:
        answers = await asyncio.gather(*[client.post(f"/api/v1/events/{event.id}/registrations", json=body,
                                                     headers=via("203.0.113.7")) for _ in range(6)])
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [201] + [409] * 5, statuses
        assert all(a.json()["type"] == "/problems/already-registered" for a in answers if a.status_code == 409)
        again = await client.post(f"/events/{event.id}/register", data={**body, "email": "AMINA@example.org"},
                                  headers=via("203.0.113.7"))
        assert again.status_code == 409 and "bereits" in again.text
    assert await Registration.filter(event_id=event.id).count() == 1
    assert await OutboxMessage.all().count() == 1


async def test_registrations_per_address_allow_a_family_but_not_a_flood(db, settings):
    event = await make_event(capacity=50)
    app = behind_proxy(settings, limit_registration_address="8/hour", limit_registration_email="2/hour")
    async with client_for(app) as client:
        family = [await client.post(f"/api/v1/events/{event.id}/registrations", headers=via("203.0.113.8"),
                                    json={"name": f"Person {n}", "email": f"p{n}@example.org"}) for n in range(9)]
        assert [r.status_code for r in family] == [201] * 8 + [429]
        neighbour = await client.post(f"/api/v1/events/{event.id}/registrations", headers=via("192.0.2.8"),
                                      json={"name": "Nachbarin", "email": "n@example.org"})
        assert neighbour.status_code == 201
        # one e-mail address from many addresses: its own limit
        other = await make_event(capacity=50, title="Zweites")
        third = await make_event(capacity=50, title="Drittes")
        answers = [await client.post(f"/api/v1/events/{e.id}/registrations", headers=via(f"198.51.100.{n}"),
                                     json={"name": "Opfer", "email": "victim@example.org"})
                   for n, e in enumerate((event, other, third))]
        assert [a.status_code for a in answers] == [201, 201, 429]
    assert await Registration.filter(email="victim@example.org").count() == 2


async def test_certificate_checks_are_throttled_per_address_and_switch_off(db, settings):
    app = behind_proxy(settings, limit_certificate_address="3/10 minutes")
    async with client_for(app) as client:
        statuses = [(await client.get(f"/certificates/TB-2026-AAAA-{n:04d}", headers=via("203.0.113.3"))).status_code
                    for n in range(4)]
        assert statuses == [404, 404, 404, 429]
        assert (await client.get("/certificates/TB-2026-AAAA-0000", headers=via("192.0.2.3"))).status_code == 404
    off = behind_proxy(settings.with_(rate_limits=False), limit_certificate_address="1/10 minutes")
    async with client_for(off) as client:
        statuses = {(await client.get(f"/certificates/TB-{n}", headers=via("203.0.113.4"))).status_code
                    for n in range(5)}
    assert statuses == {404}


def test_rate_limits_setting():
    from events_app.core.settings import load_settings

    assert load_settings({"EVENTS_RATE_LIMITS": "off", "EVENTS_SECRET_KEY": "x"}).rate_limits is False
    assert load_settings({"EVENTS_SECRET_KEY": "x"}).rate_limits is True
    assert load_settings({"EVENTS_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1", "EVENTS_SECRET_KEY": "x"}
                         ).trusted_proxies == ("10.0.0.0/8", "127.0.0.1")
    with pytest.raises(ValueError):
        Throttle(load_settings({"EVENTS_LIMIT_RSVP_ADDRESS": "lots", "EVENTS_SECRET_KEY": "x"}))


async def test_an_admin_password_reset_ends_sessions_and_revokes_tokens(client, db):
    """A reset by an admin ends every session and revokes API tokens and calendar addresses; the user's own
    password change keeps them (documented in the README), each revocable by the owner."""
    from events_app.backoffice import accounts
    from events_app.calendar import feeds
    from events_app.core.models import ApiToken, CalendarFeedToken
    from tests.fixtures_backoffice import sign_in

    organiser, token = await make_user("organiser", email="orga@stadt-giessen.de")
    feed = await feeds.create_feed_token(user_id=organiser.id)
    await accounts.start_session(user=organiser)
    api = await client.get("/api/v1/events/1/registrations", headers={"authorization": f"Bearer {token}"})
    assert api.status_code == 404  # the token works (no such event)
    assert (await client.get(feed.path())).status_code == 200
    admin = await sign_in(client, "admin")
    short = await client.post(f"/admin/users/{organiser.id}/password", data={"csrf_token": admin.csrf,
                                                                            "password": "short"})
    assert short.status_code == 422 and await LoginSession.filter(user_id=organiser.id).exists()
    reset = await client.post(f"/admin/users/{organiser.id}/password",
                              data={"csrf_token": admin.csrf, "password": "a brand new password"})
    assert reset.status_code == 303
    assert not await LoginSession.filter(user_id=organiser.id).exists()
    assert not await ApiToken.filter(user_id=organiser.id, revoked_at=None).exists()
    assert not await CalendarFeedToken.filter(user_id=organiser.id, revoked_at=None).exists()
    refused = await client.get("/api/v1/events/1/registrations", headers={"authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert (await client.get(feed.path())).status_code == 404
    assert await accounts.authenticate(email=organiser.email, password="a brand new password")
