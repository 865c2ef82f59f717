"""Who is calling: API tokens (Authorization: Bearer ...) and the roles allowed per route."""

from __future__ import annotations

from starlette.requests import Request

from events_app.backoffice import accounts
from events_app.core import errors
from events_app.core.models import Role, User

ORGANISERS = (Role.ADMIN, Role.ORGANISER)
DOOR_STAFF = (Role.ADMIN, Role.ORGANISER, Role.DOOR)


async def api_user(request: Request, roles: tuple[Role, ...] = ORGANISERS) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.AuthenticationRequired()
    user = await accounts.user_for_token(token.strip())
    if user is None:
        raise errors.AuthenticationRequired()
    if user.role not in roles:
        raise errors.PermissionDenied()
    return user
