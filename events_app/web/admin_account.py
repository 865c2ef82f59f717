"""The signed-in person's own account: password and private calendar feeds."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from events_app.backoffice import accounts
from events_app.calendar import feeds
from events_app.core import audit, errors
from events_app.web.admin_auth import EVERYONE, SESSION_COOKIE, requires
from events_app.web.admin_common import back, field_messages, page
from events_app.web.requests import read_form


async def _account(request: Request, context: dict | None = None, *, status_code: int = 200) -> Response:
    tokens = await feeds.list_feed_tokens(user_id=request.state.user.id)
    return page(request, "admin/account.html", {"feed_tokens": tokens, **(context or {})}, status_code=status_code)


@requires(*EVERYONE)
async def account_page(request: Request) -> Response:
    return await _account(request)


@requires(*EVERYONE)
async def feed_create(request: Request) -> Response:
    """A private calendar address; its secret is shown on this answer only (only its hash is kept)."""
    created = await feeds.create_feed_token(user_id=request.state.user.id)
    await audit.record("feed.created", user=request.state.user, token_id=created.record.id)
    return await _account(request, {"new_feed_path": created.path(), "done": "feed_created"})


@requires(*EVERYONE)
async def feed_revoke(request: Request) -> Response:
    await feeds.revoke_feed_token(token_id=request.path_params["token_id"], user_id=request.state.user.id)
    await audit.record("feed.revoked", user=request.state.user, token_id=request.path_params["token_id"])
    return back("/admin/account", "feed_revoked")


@requires(*EVERYONE)
async def change_password(request: Request) -> Response:
    form = await read_form(request)
    user = request.state.user
    try:
        if form.get("new") != form.get("repeat"):
            raise errors.ValidationFailed(fields={"repeat": errors.N_("The two new passwords differ.")})
        await accounts.change_password(user_id=user.id, current=str(form.get("current") or ""),
                                       new=str(form.get("new") or ""))
    except errors.ValidationFailed as exc:
        return await _account(request, {"errors": field_messages(request, exc)}, status_code=422)
    await accounts.end_other_sessions(user_id=user.id, keep_token=request.cookies.get(SESSION_COOKIE, ""))
    await audit.record("user.password_changed", user=user)
    return back("/admin/account", "password_changed")
