"""Back office: who attended enough for a certificate, issuing and revoking them, the certificate texts
and images, a preview, and bulk downloads of the certificates issued.

Downloads here render only what was issued: issuing (and mailing) is the page's own POST button, so a
GET never changes anything. The API's bulk downloads keep their "all eligible" contract (see courses.py).
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from events_app.core import audit, errors
from events_app.courses import certificates
from events_app.seats import events
from events_app.core.models import CertificateTemplate, Event
from events_app.core.validation import parse_whole_number
from events_app.web.admin_common import back, field_messages, page
from events_app.web.admin_auth import ORGANISERS, requires
from events_app.web.job_pages import progress_page
from events_app.web.requests import read_form


MEDIA_TYPES = {"pdf": "application/pdf", "zip": "application/zip"}


def _url(event_id: int) -> str:
    return f"/admin/events/{event_id}/certificates"


async def _event(request: Request) -> Event:
    return await events.get_event(request.path_params["event_id"], public=False)


async def _overview(request: Request, event: Event, *, template_form: dict | None = None, errors_: dict | None = None,
                    revoke_serial: str = "", status_code: int = 200) -> Response:
    rows = await certificates.eligibility(event_id=event.id)
    template = await CertificateTemplate.get_or_none(event_id=event.id) or CertificateTemplate(event_id=event.id)
    return page(request, "admin/certificates.html", {
        "event": event, "rows": rows, "eligible_without": sum(1 for r in rows if r.eligible and not r.certificate),
        "issued": sum(1 for r in rows if r.certificate), "revoked": await certificates.revoked_of(event_id=event.id),
        "template": template, "form": template_form or {name: getattr(template, name)
                                                        for name in certificates.TEXT_FIELDS},
        "text_limits": certificates.TEXT_FIELDS, "max_image_kb": certificates.MAX_IMAGE_BYTES // 1000,
        "errors": errors_ or {}, "revoke_serial": revoke_serial}, status_code=status_code)


@requires(*ORGANISERS)
async def overview(request: Request) -> Response:
    return await _overview(request, await _event(request))


@requires(*ORGANISERS)
async def issue(request: Request) -> Response:
    """One person (registration=id) or everyone eligible; by mail when the box is ticked."""
    event = await _event(request)
    form = await read_form(request)
    send_mail = form.get("send_mail") == "yes"
    if form.get("registration"):
        try:
            registration_id = parse_whole_number(form.get("registration"))
        except ValueError:
            raise errors.RegistrationNotFound() from None
        await certificates.issue(registration_id=registration_id, event_id=event.id, send_mail=send_mail,
                                 by=request.state.user)
    else:
        await certificates.issue_all(event_id=event.id, send_mail=send_mail, by=request.state.user)
    return back(_url(event.id), "certificates_issued")


@requires(*ORGANISERS)
async def revoke(request: Request) -> Response:
    event = await _event(request)
    form = await read_form(request)
    serial = str(form.get("serial") or "")
    try:
        await certificates.revoke(serial=serial, reason=str(form.get("reason") or ""), by=request.state.user)
    except errors.ValidationFailed as exc:
        return await _overview(request, event, errors_=field_messages(request, exc),
                               revoke_serial=certificates.normalise_serial(serial), status_code=exc.status)
    return back(_url(event.id), "certificate_revoked")


async def _uploaded(form, name: str) -> bytes:
    """An uploaded file's bytes, read no further than the size limit allows (the domain refuses more)."""
    upload = form.get(name)
    if isinstance(upload, UploadFile) and upload.filename:
        return await upload.read(certificates.MAX_IMAGE_BYTES + 1)
    return b""


@requires(*ORGANISERS)
async def save_template(request: Request) -> Response:
    """The organiser's texts, and a logo or signature uploaded as PNG or JPEG (or removed)."""
    event = await _event(request)
    form = await read_form(request)
    values = {name: str(form.get(name) or "") for name in certificates.TEXT_FIELDS}
    uploads = {}
    for name in certificates.IMAGE_FIELDS:
        if form.get(f"remove_{name}") == "yes":
            values[name] = ""
        else:
            uploads[name] = await _uploaded(form, name)
    try:
        await certificates.save_template(event_id=event.id, values=values, uploads=uploads, by=request.state.user)
    except errors.ValidationFailed as exc:
        return await _overview(request, event, template_form=values, errors_=field_messages(request, exc),
                               status_code=exc.status)
    return back(_url(event.id) + "#template", "certificate_template_saved")


@requires(*ORGANISERS)
async def preview(request: Request) -> Response:
    """One certificate for a made-up person, to check the texts and images before issuing."""
    event = await _event(request)
    data = await certificates.render_sample(event_id=event.id, settings=request.app.state.settings)
    return Response(data, media_type="application/pdf", headers={
        "content-disposition": f'inline; filename="muster-{event.id}.pdf"', "cache-control": "private, no-store"})


async def _file(request: Request, event: Event, fmt: str, data: bytes) -> Response:
    """A bulk download, written to the audit log (the certificates name people)."""
    await audit.record("certificates.downloaded", user=request.state.user, event_id=event.id, format=fmt)
    name = f"teilnahmebescheinigungen-{event.id}.{fmt}"
    return Response(data, media_type=MEDIA_TYPES[fmt], headers={
        "content-disposition": f'attachment; filename="{name}"', "cache-control": "private, no-store"})


@requires(*ORGANISERS)
async def download(request: Request) -> Response:
    """The certificates issued so far as one PDF (to print) or as a ZIP of single files (to mail by hand)."""
    fmt = request.path_params["fmt"]
    if fmt not in MEDIA_TYPES:
        raise errors.NotFound()
    event = await _event(request)
    render = certificates.render_event if fmt == "pdf" else certificates.render_event_zip
    return await _file(request, event, fmt, await render(event_id=event.id, settings=request.app.state.settings))


@requires(*ORGANISERS)
async def start_bulk(request: Request) -> Response:
    """POST format=pdf|zip: render the issued certificates in the background and show the progress page."""
    event = await _event(request)
    form = await read_form(request)
    job_id = await certificates.start_bulk_job(event_id=event.id, settings=request.app.state.settings,
                                               fmt=str(form.get("format") or ""))
    return RedirectResponse(f"{_url(event.id)}/jobs/{job_id}", status_code=303)


@requires(*ORGANISERS)
async def bulk_progress(request: Request) -> Response:
    return progress_page(request, "admin/certificates_job.html", kind=certificates.JOB_KIND,
                         event=await _event(request))


@requires(*ORGANISERS)
async def bulk_file(request: Request) -> Response:
    event = await _event(request)
    found = await certificates.bulk_job_file(request.app.state.settings, event_id=event.id,
                                             job_id=request.path_params["job_id"])
    if found is None or found[1] != request.path_params["fmt"]:
        raise errors.NotFound()
    data, fmt = found
    return await _file(request, event, fmt, data)
