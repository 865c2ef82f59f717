"""Back-office accounts (admins only), API tokens (each organiser's own), the audit log and the
read-only settings page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from events_app.backoffice import accounts
from events_app.core import audit, errors
from events_app.core.models import Role, User
from events_app.core.settings import describe
from events_app.web import admin_forms
from events_app.web.admin_auth import ADMINS, ORGANISERS, requires
from events_app.web.admin_common import back, field_messages, page
from events_app.web.requests import read_form


@requires(*ADMINS)
async def users_page(request: Request, *, form: dict | None = None, errors_: dict | None = None,
                     status_code: int = 200) -> Response:
    users = await User.all().order_by("email")
    return page(request, "admin/users.html", {"users": users, "roles": list(Role), "form": form or {"role": "organiser"},
                                              "errors": errors_ or {}}, status_code=status_code)


@requires(*ADMINS)
async def user_create(request: Request) -> Response:
    data = admin_forms.form_dict(await read_form(request))
    try:
        try:
            role = Role(data.get("role"))
        except ValueError:
            raise errors.ValidationFailed(fields={"role": errors.N_("This value is not one of the allowed options.")}) from None
        user = await accounts.create_user(email=data.get("email", ""), role=role, password=data.get("password", ""),
                                          name=data.get("name", "").strip()[:200])
    except errors.ValidationFailed as exc:
        data.pop("password", None)
        return await users_page.__wrapped__(request, form=data, errors_=field_messages(request, exc), status_code=422)
    await audit.record("user.created", user=request.state.user, new_user_id=user.id, role=role.value)
    return back("/admin/users", "user_created")


@requires(*ADMINS)
async def user_password(request: Request) -> Response:
    """An admin sets a new password: sessions end, API tokens and calendar addresses are revoked."""
    form = await read_form(request)
    target = request.path_params["user_id"]
    await accounts.reset_password(user_id=target, new=str(form.get("password") or ""))  # too short: the 422 page
    await audit.record("user.password_reset", user=request.state.user, target_user_id=target)
    return back("/admin/users", "password_reset")


@requires(*ADMINS)
async def user_unlock(request: Request) -> Response:
    await accounts.unlock(user_id=request.path_params["user_id"])
    await audit.record("user.unlocked", user=request.state.user, target_user_id=request.path_params["user_id"])
    return back("/admin/users", "unlocked")


@requires(*ADMINS)
async def user_active(request: Request) -> Response:
    form = await read_form(request)
    active = form.get("active") == "yes"
    user = await accounts.set_active(user_id=request.path_params["user_id"], active=active, by=request.state.user)
    await audit.record("user.activated" if active else "user.deactivated", user=request.state.user,
                       target_user_id=user.id)
    return back("/admin/users", "saved")


@requires(*ADMINS)
async def user_role(request: Request) -> Response:
    form = await read_form(request)
    try:
        role = Role(form.get("role"))
    except ValueError:
        raise errors.ValidationFailed(fields={"role": errors.N_("This value is not one of the allowed options.")}) from None
    user = await accounts.set_role(user_id=request.path_params["user_id"], role=role, by=request.state.user)
    await audit.record("user.role_changed", user=request.state.user, target_user_id=user.id, role=role.value)
    return back("/admin/users", "saved")


@requires(*ORGANISERS)
async def tokens_page(request: Request) -> Response:
    return page(request, "admin/tokens.html", {"tokens": await accounts.tokens_of(user=request.state.user)})


@requires(*ORGANISERS)
async def token_create(request: Request) -> Response:
    form = await read_form(request)
    user = request.state.user
    token = await accounts.create_api_token(email=user.email, label=str(form.get("label") or "")[:100])
    await audit.record("token.created", user=user)
    return page(request, "admin/tokens.html", {"tokens": await accounts.tokens_of(user=user), "new_token": token})


@requires(*ORGANISERS)
async def token_revoke(request: Request) -> Response:
    record = await accounts.revoke_token(token_id=request.path_params["token_id"], by=request.state.user)
    await audit.record("token.revoked", user=request.state.user, token_id=record.id)
    return back("/admin/tokens", "revoked")


@requires(*ADMINS)
async def audit_page(request: Request) -> Response:
    return page(request, "admin/audit.html", {"entries": await audit.recent(limit=300)})


@requires(*ADMINS)
async def settings_page(request: Request) -> Response:
    """Read-only: settings come from environment variables, so changing them is the operator's job."""
    return page(request, "admin/settings.html", {"rows": describe(request.app.state.settings)})
