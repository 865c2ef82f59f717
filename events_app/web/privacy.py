"""People's rights: the admins' access and erasure pages (/admin/privacy), the API
(/api/v1/personal-data), and a person deleting their own registration from their page (/r/{token}/delete)."""

from __future__ import annotations

import json
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from events_app.core import audit, errors
from events_app.core.models import Role
from events_app.core.pdf import render_pdf
from events_app.core.rendering import render_string
from events_app.core.timeutil import utcnow
from events_app.privacy import rights
from events_app.seats import registration
from events_app.web.admin_common import field_messages, page
from events_app.web.admin_auth import ADMINS, requires
from events_app.web.auth import api_user
from events_app.web.requests import read_form, read_json
from events_app.web.templating import render

ADMIN_ONLY = (Role.ADMIN,)


def _subject(values) -> rights.Subject:
    return rights.subject_from(email=values.get("email"), phone=values.get("phone"))


async def _exported(request: Request, subject: rights.Subject, user, fmt: str) -> dict:
    data = await rights.personal_data(subject)
    await audit.record("personal_data.exported", user=user, subject_sha256=subject.hash(), format=fmt)
    return data


# --- API ---


async def api_personal_data(request: Request) -> Response:
    user = await api_user(request, ADMIN_ONLY)
    subject = _subject(request.query_params)
    return JSONResponse(await _exported(request, subject, user, "json"), headers={"cache-control": "no-store"})


async def api_erase(request: Request) -> Response:
    user = await api_user(request, ADMIN_ONLY)
    data = await read_json(request)
    for name in ("email", "phone"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise errors.ValidationFailed(fields={name: errors.N_("Please enter text.")})
    subject = _subject(data)
    removed = await rights.erase(request.app.state.settings, subject, by=user)
    return JSONResponse({"erased": True, "removed": removed})


# --- back office ---


@requires(*ADMINS)
async def privacy_page(request: Request) -> Response:
    """Search by e-mail or phone; shows what is stored, with the downloads and the erase button."""
    params = request.query_params
    if not params.get("email") and not params.get("phone"):
        return page(request, "admin/privacy.html", {"form": {}})
    try:
        subject = _subject(params)
    except errors.ValidationFailed as exc:
        return page(request, "admin/privacy.html", {"form": dict(params), "errors": field_messages(request, exc)},
                    status_code=422)
    found = await rights.personal_data(subject)
    return page(request, "admin/privacy.html", {"form": dict(params), "found": found, "subject": subject,
                                                "query": _query_of(subject)})


def _query_of(subject: rights.Subject) -> str:
    from urllib.parse import urlencode

    return urlencode({"email": subject.email} if subject.email else {"phone": subject.phone_digits})


@requires(*ADMINS)
async def privacy_download(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    if fmt not in ("json", "pdf"):
        raise errors.NotFound()
    subject = _subject(request.query_params)
    data = await _exported(request, subject, request.state.user, fmt)
    headers = {"content-disposition": f'attachment; filename="personal-data.{fmt}"', "cache-control": "no-store"}
    if fmt == "json":
        return Response(json.dumps(data, ensure_ascii=False, indent=2), media_type="application/json",
                        headers=headers)
    settings = request.app.state.settings
    html = render_string("pdf/personal_data.html", language=request.state.language, settings=settings, data=data,
                         generated_at=utcnow(), parse=datetime.fromisoformat)
    return Response(await render_pdf(html), media_type="application/pdf", headers=headers)


@requires(*ADMINS)
async def privacy_erase(request: Request) -> Response:
    """First POST shows what will be erased and asks to confirm; the confirmed POST erases."""
    form = await read_form(request)
    subject = _subject(form)
    if form.get("confirm") != "yes":
        found = await rights.personal_data(subject)
        return page(request, "admin/privacy_confirm.html", {"found": found, "subject": subject,
                                                            "form": {"email": subject.email,
                                                                     "phone": subject.phone_digits}})
    removed = await rights.erase(request.app.state.settings, subject, by=request.state.user)
    return page(request, "admin/privacy_erased.html", {"removed": removed, "subject": subject})


# --- the person's own page ---


async def own_delete_page(request: Request) -> Response:
    """The confirmation step before a person deletes their registration."""
    outcome = await registration.find_by_manage_token(request.path_params["token"])
    return render(request, "delete_own.html", {"registration": outcome.registration,
                                               "token": request.path_params["token"]})


async def own_delete(request: Request) -> Response:
    await read_form(request)
    await rights.erase_own_registration(request.app.state.settings, token=request.path_params["token"])
    return render(request, "deleted_own.html", {})
