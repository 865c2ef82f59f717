"""Signing in and out: cookies, CSRF, lockout after failures, throttling, expiry, password change."""

from __future__ import annotations

from datetime import timedelta

import httpx

from events_app.backoffice import accounts
from events_app.core.models import AuditEntry, Event, LoginSession, User
from events_app.core.timeutil import utcnow
from events_app.security.throttle import Throttle
from events_app.web.admin_auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tests.fixtures_backoffice import PASSWORD, login_form_token, sign_in
from tests.helpers import both_databases, make_user


async def _login(client, email: str, password: str):
    csrf = await login_form_token(client)
    return await client.post("/admin/login", data={"email": email, "password": password, "csrf_token": csrf})


async def test_sign_in_sets_a_safe_cookie_and_lands_on_the_dashboard(client, db):
    user, _ = await make_user("organiser")
    response = await _login(client, user.email, PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Secure" not in cookie
    stored = await LoginSession.get(user_id=user.id)
    assert stored.token_hash not in cookie  # only the hash is stored
    assert (await client.get("/admin")).status_code == 200
    assert await AuditEntry.filter(action="user.signed_in", user_id=user.id).exists()


async def test_cookie_is_secure_behind_https(db, settings):
    from events_app.app import create_app

    app = create_app(settings.with_(base_url="https://events.giessen.de"), manage_orm=False)
    user, _ = await make_user("organiser")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as client:
        response = await _login(client, user.email, PASSWORD)
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "Secure" in cookie and "HttpOnly" in cookie


async def test_door_staff_land_on_check_in_and_next_is_followed_only_inside_admin(client, db):
    door, _ = await make_user("door")
    csrf = await login_form_token(client)
    response = await client.post("/admin/login", data={"email": door.email, "password": PASSWORD, "csrf_token": csrf,
                                                       "next": "//evil.example/admin"})
    assert response.headers["location"] == "/admin/checkin"


@both_databases
async def test_wrong_passwords_are_refused_and_never_lock_the_owner_out(client, db):
    """Wrong passwords are 401, then that address waits (429); the account itself is never locked
    (more in tests/test_security_throttle.py)."""
    user, _ = await make_user("organiser")
    for attempt in range(5):
        response = await _login(client, user.email, "wrong password")
        assert response.status_code == 401
        assert SESSION_COOKIE not in response.cookies
    waiting = await _login(client, user.email, PASSWORD)  # this address must wait, even with the password
    assert waiting.status_code == 429
    assert not await LoginSession.filter(user_id=user.id).exists()
    assert (await User.get(id=user.id)).locked_until is None


async def test_unknown_address_gets_the_same_answer(client, db):
    response = await _login(client, "nobody@stadt-giessen.de", PASSWORD)
    assert response.status_code == 401


async def test_login_without_the_form_token_is_refused(client, db):
    user, _ = await make_user("organiser")
    await client.get("/admin/login")
    response = await client.post("/admin/login", data={"email": user.email, "password": PASSWORD,
                                                       "csrf_token": "forged"})
    assert response.status_code == 403
    client.cookies.delete(LOGIN_CSRF_COOKIE)
    response = await client.post("/admin/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert not await LoginSession.filter(user_id=user.id).exists()


async def test_forms_without_the_session_token_are_refused(client, db):
    await sign_in(client, "organiser")
    form = {"title": "Ohne Token", "kind": "workshop", "capacity": "10", "audience": "public", "visibility": "draft",
            "session_rows": "1", "s0_date": "2030-03-02", "s0_start": "10:00", "s0_end": "12:00"}
    missing = await client.post("/admin/events/new", data=form)
    forged = await client.post("/admin/events/new", data={**form, "csrf_token": "x" * 43})
    assert missing.status_code == forged.status_code == 403
    assert await Event.all().count() == 0


async def test_a_session_of_another_user_does_not_lend_its_token(client, db, app):
    first = await sign_in(client, "organiser")
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with other:
        await sign_in(other, "admin")
        response = await other.post("/admin/tokens", data={"csrf_token": first.csrf})
    assert response.status_code == 403


async def test_too_many_attempts_from_one_address_are_throttled(client, db, app):
    app.state.throttle = Throttle(app.state.settings.with_(limit_login_address="3/10 minutes"))
    user, _ = await make_user("organiser", email="a@stadt-giessen.de")
    other, _ = await make_user("admin", email="b@stadt-giessen.de")
    for _ in range(3):
        await _login(client, user.email, "wrong")
    response = await _login(client, other.email, PASSWORD)
    assert response.status_code == 429
    assert not await LoginSession.filter(user_id=other.id).exists()


async def test_logout_ends_the_session_on_the_server(client, db):
    me = await sign_in(client, "organiser")
    cookie = client.cookies.get(SESSION_COOKIE)
    response = await client.post("/admin/logout", data={"csrf_token": me.csrf})
    assert response.status_code == 303
    assert not await LoginSession.filter(user_id=me.user.id).exists()
    client.cookies.set(SESSION_COOKIE, cookie)  # a copied cookie is worthless now
    assert (await client.get("/admin")).status_code == 303


async def test_expired_session_sends_back_to_login(client, db):
    me = await sign_in(client, "organiser")
    await LoginSession.filter(user_id=me.user.id).update(expires_at=utcnow() - timedelta(minutes=1))
    response = await client.get("/admin/events")
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")


async def test_password_change_checks_the_old_one_and_ends_other_sessions(client, db, app):
    me = await sign_in(client, "organiser")
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    csrf = await login_form_token(other)
    await other.post("/admin/login", data={"email": me.user.email, "password": PASSWORD, "csrf_token": csrf})
    assert (await other.get("/admin")).status_code == 200
    wrong = await client.post("/admin/account/password", data={"csrf_token": me.csrf, "current": "nope",
                                                                "new": "a new long password", "repeat": "a new long password"})
    assert wrong.status_code == 422
    short = await client.post("/admin/account/password", data={"csrf_token": me.csrf, "current": PASSWORD,
                                                                "new": "short", "repeat": "short"})
    assert short.status_code == 422
    differ = await client.post("/admin/account/password", data={"csrf_token": me.csrf, "current": PASSWORD,
                                                                 "new": "a new long password", "repeat": "another one!"})
    assert differ.status_code == 422
    done = await client.post("/admin/account/password", data={"csrf_token": me.csrf, "current": PASSWORD,
                                                               "new": "a new long password", "repeat": "a new long password"})
    assert done.status_code == 303
    assert (await client.get("/admin")).status_code == 200
    assert (await other.get("/admin")).status_code == 303
    await other.aclose()
    fresh = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with fresh:
        assert (await _login(fresh, me.user.email, PASSWORD)).status_code == 401
        assert (await _login(fresh, me.user.email, "a new long password")).status_code == 303


async def test_admin_creates_users_and_unlocks_them(client, db):
    me = await sign_in(client, "admin")
    created = await client.post("/admin/users", data={"csrf_token": me.csrf, "email": "tuer@stadt-giessen.de",
                                                      "role": "door", "password": "long enough pw", "name": "Tür"})
    assert created.status_code == 303
    door = await User.get(email="tuer@stadt-giessen.de")
    assert door.role.value == "door"
    duplicate = await client.post("/admin/users", data={"csrf_token": me.csrf, "email": "tuer@stadt-giessen.de",
                                                        "role": "door", "password": "long enough pw"})
    assert duplicate.status_code == 422
    bad_role = await client.post("/admin/users", data={"csrf_token": me.csrf, "email": "x@stadt-giessen.de",
                                                       "role": "king", "password": "long enough pw"})
    assert bad_role.status_code == 422
    await User.filter(id=door.id).update(locked_until=utcnow() + timedelta(minutes=10), failed_logins=3)
    await client.post(f"/admin/users/{door.id}/unlock", data={"csrf_token": me.csrf})
    door = await User.get(id=door.id)
    assert door.locked_until is None and door.failed_logins == 0


async def test_api_tokens_are_listed_and_revocable(client, db):
    me = await sign_in(client, "organiser")
    page = await client.post("/admin/tokens", data={"csrf_token": me.csrf, "label": "Export-Skript"})
    assert page.status_code == 200
    import re

    token = re.search(r'class="token">(ev_[^<]+)<', page.text).group(1)
    assert (await accounts.user_for_token(token)).id == me.user.id
    listing = await client.get("/admin/tokens")
    assert "Export-Skript" in listing.text
    from events_app.core.models import ApiToken

    record = await ApiToken.get(label="Export-Skript")
    assert (await client.post(f"/admin/tokens/{record.id}/revoke", data={"csrf_token": me.csrf})).status_code == 303
    assert await accounts.user_for_token(token) is None
    someone, _ = await make_user("admin", email="chef@stadt-giessen.de")
    theirs = await ApiToken.filter(user_id=someone.id).first()
    # an organiser cannot revoke another person's token
    assert (await client.post(f"/admin/tokens/{theirs.id}/revoke", data={"csrf_token": me.csrf})).status_code == 404


async def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(client, db, app):
    me = await sign_in(client, "admin")
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with other:
        organiser = await sign_in(other, "organiser")
        response = await client.post(f"/admin/users/{organiser.user.id}/active", data={"csrf_token": me.csrf,
                                                                                       "active": "no"})
        assert response.status_code == 303
        assert (await other.get("/admin")).status_code == 303
        assert (await _login(other, organiser.user.email, PASSWORD)).status_code == 401
        myself = await client.post(f"/admin/users/{me.user.id}/active", data={"csrf_token": me.csrf, "active": "no"})
        assert myself.status_code == 422 and (await User.get(id=me.user.id)).active
        await client.post(f"/admin/users/{organiser.user.id}/active", data={"csrf_token": me.csrf, "active": "yes"})
        assert (await _login(other, organiser.user.email, PASSWORD)).status_code == 303


async def test_sign_in_returns_to_the_page_asked_for(client, db):
    user, _ = await make_user("organiser")
    asked = await client.get("/admin/events?x=1")
    assert asked.headers["location"] == "/admin/login?next=%2Fadmin%2Fevents%3Fx%3D1"
    form_page = await client.get(asked.headers["location"])
    assert 'name="next" value="/admin/events?x=1"' in form_page.text
    csrf = await login_form_token(client)
    again = await login_form_token(client)  # a second tab shows the same token, so both stay usable
    assert csrf == again
    response = await client.post("/admin/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf,
                                                       "next": "/admin/events?x=1"})
    assert response.headers["location"] == "/admin/events?x=1"


async def test_admin_changes_roles_but_not_their_own(client, db):
    me = await sign_in(client, "admin")
    door, _ = await make_user("door")
    done = await client.post(f"/admin/users/{door.id}/role", data={"csrf_token": me.csrf, "role": "organiser"})
    assert done.status_code == 303 and (await User.get(id=door.id)).role.value == "organiser"
    own = await client.post(f"/admin/users/{me.user.id}/role", data={"csrf_token": me.csrf, "role": "door"})
    assert own.status_code == 422 and (await User.get(id=me.user.id)).role.value == "admin"
    bad = await client.post(f"/admin/users/{door.id}/role", data={"csrf_token": me.csrf, "role": "king"})
    assert bad.status_code == 422
    assert (await client.post("/admin/users/999/role", data={"csrf_token": me.csrf, "role": "door"})).status_code == 404
    assert await AuditEntry.filter(action="user.role_changed").count() == 1
