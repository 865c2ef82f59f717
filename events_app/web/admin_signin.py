"""Back-office sign-in and sign-out."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from events_app.backoffice import accounts
from events_app.core import audit, errors
from events_app.core.i18n import gettext
from events_app.core.models import Role, User
from events_app.web.admin_auth import EVERYONE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, cookie_options, new_login_csrf, requires, same_token
from events_app.web.admin_common import back, page, safe_next
from events_app.web.requests import client_address, read_form, throttle


def home_for(user: User) -> str:
    return "/admin/checkin" if user.role == Role.DOOR else "/admin"


async def login_page(request: Request, *, error: str = "", status_code: int = 200, email: str = "") -> Response:
    login = await accounts.session_for(request.cookies.get(SESSION_COOKIE, ""))
    if login is not None and not error:
        return back(safe_next(request.query_params.get("next")) or home_for(login.user))
    existing = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    token = existing if 20 <= len(existing) <= 64 else new_login_csrf()  # a second open tab keeps working
    response = page(request, "admin/login.html", {"login_csrf": token, "error": error, "email": email,
                                                  "next": request.query_params.get("next", "")},
                    status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, **cookie_options(request))
    return response


async def login_submit(request: Request) -> Response:
    form = await read_form(request)
    if not same_token(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise errors.CsrfFailed()
    email = str(form.get("email") or "")[:254]
    try:
        user = await _authenticate_throttled(request, email, str(form.get("password") or ""))
    except (errors.LoginFailed, errors.TooManyAttempts) as exc:
        return await login_page(request, error=gettext(request.state.language, exc.title), status_code=exc.status,
                                email=email)
    token, _ = await accounts.start_session(user=user)
    await audit.record("user.signed_in", user=user)
    response = back(safe_next(str(form.get("next") or "")) or home_for(user))
    response.set_cookie(SESSION_COOKIE, token, max_age=accounts.SESSION_HOURS * 3600, **cookie_options(request))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


#: How a slowed-down attempt waits (a name of its own, so tests can watch it).
pause = asyncio.sleep


async def _authenticate_throttled(request: Request, email: str, password: str) -> User:
    """Sign-in behind three throttles that count failures only (a success gives its attempt back):
    per client address, per account from that address (then that address must wait), and per account
    from everywhere, which only slows attempts down, so the owner signs in from their own address even
    while someone guesses elsewhere."""
    limits, address, account = throttle(request), client_address(request), email.strip().lower()
    await limits.hit("login_address", address)
    await limits.hit("login_account_address", account, address)
    if await limits.over("login_account", account):
        await pause(request.app.state.settings.login_slowdown_seconds)
    try:
        user = await accounts.authenticate(email=account, password=password)
    except errors.LoginFailed:
        await limits.count("login_account", account)
        raise
    await limits.give_back("login_address", address)
    await limits.give_back("login_account_address", account, address)
    return user


@requires(*EVERYONE)
async def logout(request: Request) -> Response:
    await accounts.end_session(request.cookies.get(SESSION_COOKIE, ""))
    await audit.record("user.signed_out", user=request.state.user)
    response = back("/admin/login", "signed_out")
    options = cookie_options(request)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=options["secure"], httponly=True, samesite="lax")
    return response
