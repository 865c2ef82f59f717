"""Back-office sign-in at the web edge: the session cookie, CSRF checks and roles per route (the sign-in
throttles are in admin_signin.py and events_app/security/throttle.py)."""

from __future__ import annotations

import functools
import hmac
import secrets
from typing import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from events_app.backoffice import accounts
from events_app.core import errors
from events_app.core.models import Role
from events_app.web.requests import read_form

SESSION_COOKIE = "bo_session"
LOGIN_CSRF_COOKIE = "bo_login_csrf"
ORGANISERS = (Role.ADMIN, Role.ORGANISER)
EVERYONE = (Role.ADMIN, Role.ORGANISER, Role.DOOR)
ADMINS = (Role.ADMIN,)


def cookie_options(request: Request) -> dict:
    """HttpOnly, SameSite=Lax, and Secure whenever the site is served over https."""
    secure = request.app.state.settings.base_url.startswith("https://")
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/"}


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


#: Back-office forms may be long: the invitation import has a checkbox per row of the list.
MAX_FORM_FIELDS = 6_000


def requires(*roles: Role) -> Callable:
    """Decorate a back-office handler: no session -> the login page (303); wrong role -> 403;
    an unsafe method without the session's CSRF token -> 403. Sets request.state.user / .login."""

    def decorate(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def wrapped(request: Request) -> Response:
            login = await accounts.session_for(request.cookies.get(SESSION_COOKIE, ""))
            if login is None:
                if request.method not in ("GET", "HEAD"):  # a form posted after the session ended
                    return RedirectResponse("/admin/login?next=%2Fadmin", status_code=303)
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/admin/login?next={quote(target, safe='')}", status_code=303)
            if login.user.role not in roles:
                raise errors.PermissionDenied()
            if request.method not in ("GET", "HEAD"):
                form = await read_form(request, max_fields=MAX_FORM_FIELDS)
                if not same_token(form.get("csrf_token"), login.csrf_token):
                    raise errors.CsrfFailed()
            request.state.user = login.user
            request.state.login = login
            return await handler(request)

        wrapped.allowed_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorate
