"""Back office: who attended enough for a certificate, issuing and revoking them, bulk downloads."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from events_app import audit, certificates, errors, events
from events_app.models import Role
from events_app.web.admin import back, page
from events_app.web.admin_auth import requires
from events_app.web.requests import read_form

ORGANISERS = (Role.ADMIN, Role.ORGANISER)


def _url(event_id: int) -> str:
    return f"/admin/events/{event_id}/certificates"


@requires(*ORGANISERS)
async def overview(request: Request) -> Response:
    event = await events.get_event(request.path_params["event_id"], public=False)
    rows = await certificates.eligibility(event_id=event.id)
    return page(request, "admin/certificates.html", {
        "event": event, "rows": rows, "eligible_without": sum(1 for r in rows if r.eligible and not r.certificate)})


@requires(*ORGANISERS)
async def issue(request: Request) -> Response:
    """One person (registration=id) or everyone eligible; by mail when the box is ticked."""
    event = await events.get_event(request.path_params["event_id"], public=False)
    form = await read_form(request)
    send_mail = form.get("send_mail") == "yes"
    if form.get("registration"):
        registration_id = str(form.get("registration"))
        if not registration_id.isdigit():
            raise errors.RegistrationNotFound()
        await certificates.issue(registration_id=int(registration_id), send_mail=send_mail)
        issued = 1
    else:
        issued = len(await certificates.issue_all(event_id=event.id, send_mail=send_mail))
    await audit.record("certificates.issued", user=request.state.user, event_id=event.id, count=issued,
                       by_mail=send_mail)
    return back(_url(event.id), "certificates_issued")


@requires(*ORGANISERS)
async def revoke(request: Request) -> Response:
    event = await events.get_event(request.path_params["event_id"], public=False)
    form = await read_form(request)
    await certificates.revoke(serial=str(form.get("serial") or ""), reason=str(form.get("reason") or "")[:500],
                              user_id=request.state.user.id)
    return back(_url(event.id), "certificate_revoked")


@requires(*ORGANISERS)
async def download(request: Request) -> Response:
    """All valid certificates as one PDF (to print) or as a ZIP of single files (to mail by hand)."""
    if request.path_params["fmt"] not in ("pdf", "zip"):
        raise errors.NotFound()
    event = await events.get_event(request.path_params["event_id"], public=False)
    settings = request.app.state.settings
    if request.path_params["fmt"] == "zip":
        data, media = await certificates.render_event_zip(event_id=event.id, settings=settings), "application/zip"
    else:
        data, media = await certificates.render_event(event_id=event.id, settings=settings), "application/pdf"
    await audit.record("certificates.downloaded", user=request.state.user, event_id=event.id)
    name = f"teilnahmebescheinigungen-{event.id}.{request.path_params['fmt']}"
    return Response(data, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"',
                                                     "cache-control": "private, no-store"})
