"""Web handlers for staff workshops, course series and certificates: e-mail verification, attendance,
certificate downloads, the public verification page and the HR training record."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from events_app.courses import attendance, certificates, checkin, training, training_export
from events_app.core import audit, errors, urls
from events_app.seats import events, registration, signup
from events_app.core.errors import N_
from events_app.core.models import Registration
from events_app.web.auth import DOOR_STAFF, api_user
from events_app.web.requests import client_address, read_form, read_json, throttle
from events_app.web.templating import render
from events_app.core.validation import is_id


def _settings(request: Request):
    return request.app.state.settings


def _pdf(data: bytes, filename: str, *, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(data, media_type="application/pdf",
                    headers={"content-disposition": f'{disposition}; filename="{filename}"',
                             "cache-control": "private, no-store"})


# --- staff sign-up: verify the address ---


async def verify_page(request: Request) -> Response:
    """GET shows a button; only the POST confirms, so mail scanners that open links confirm nothing."""
    outcome = await registration.find_by_manage_token(request.path_params["token"])
    return render(request, "verify_email.html", {"registration": outcome.registration,
                                                 "code": request.query_params.get("code", "")})


async def verify_submit(request: Request) -> Response:
    token = request.path_params["token"]
    form = await read_form(request)
    await signup.verify_email(token=token, code=str(form.get("code") or ""), secret_key=_settings(request).secret_key)
    return RedirectResponse(urls.manage_page("", token, done="verified"), status_code=303)


# --- certificates: the person's own, and the public verification page ---


async def my_certificate(request: Request) -> Response:
    certificate = await certificates.certificate_for_token(token=request.path_params["token"])
    data = await certificates.render_one(certificate=certificate, settings=_settings(request))
    return _pdf(data, f"{certificate.serial}.pdf")


async def verification_page(request: Request) -> Response:
    """Public check of a serial; unknown serials count against the client address, so serials cannot be
    tried in bulk."""
    limits, address = throttle(request), client_address(request)
    await limits.hit("certificate_address", address)
    result = await certificates.verify(serial=request.path_params["serial"])
    status = 404 if result.validity == certificates.Validity.UNKNOWN else 200
    if status == 200:
        await limits.give_back("certificate_address", address)
    return render(request, "certificate_verify.html", {
        "result": result, "serial": certificates.normalise_serial(request.path_params["serial"]),
    }, status_code=status, headers={"cache-control": "no-store", "x-robots-tag": "noindex"})


# --- API ---


def _bool(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise errors.ValidationFailed(fields={field: N_("Please give true or false.")})
    return value


async def record_attendance(request: Request) -> Response:
    """Door staff only at the events they are assigned to, as on the door page."""
    user = await api_user(request, DOOR_STAFF)
    registration = await Registration.get_or_none(id=request.path_params["registration_id"])
    if registration is None:
        raise errors.RegistrationNotFound()
    if not await checkin.may_check_in(user, registration.event_id):
        raise errors.PermissionDenied()
    data = await read_json(request)
    session_id = data.get("session")
    if not is_id(session_id):
        raise errors.ValidationFailed(fields={"session": N_("Please give the id of the date.")})
    present = _bool(data.get("present"), "present")
    row = await attendance.record(registration_id=registration.id, session_id=session_id,
                                  present=present, user_id=user.id)
    return JSONResponse({"registration": row.registration_id, "session": row.session_id, "present": row.present,
                         "recorded_at": row.recorded_at.isoformat(), "recorded_by": user.id})


def _certificate_json(certificate, base_url: str) -> dict | None:
    if certificate is None:
        return None
    return {"serial": certificate.serial, "issued_at": certificate.issued_at.isoformat(),
            "verify_url": urls.certificate_check(base_url, certificate.serial)}


async def certificate_list(request: Request) -> Response:
    """Who is eligible and who has a certificate (organisers)."""
    await api_user(request)
    entries = await certificates.eligibility(event_id=request.path_params["event_id"])
    base_url = _settings(request).base_url
    return JSONResponse([{
        "registration": e.registration.id, "name": e.registration.name, "attended": e.summary.attended,
        "dates": e.summary.countable, "eligible": e.eligible,
        "certificate": _certificate_json(e.certificate, base_url),
    } for e in entries])


async def issue_certificates(request: Request) -> Response:
    """POST {"registration": id?, "send_mail": bool}: one person or everyone eligible."""
    user = await api_user(request)
    data = await read_json(request)
    send_mail = _bool(data.get("send_mail", False), "send_mail")
    event = await events.get_event(request.path_params["event_id"], public=False)
    base_url = _settings(request).base_url
    if "registration" in data:
        registration_id = data["registration"]
        if not is_id(registration_id):
            raise errors.ValidationFailed(fields={"registration": N_("Please give the id of the registration.")})
        issued = [await certificates.issue(registration_id=registration_id, event_id=event.id, send_mail=send_mail,
                                           by=user)]
    else:
        issued = await certificates.issue_all(event_id=event.id, send_mail=send_mail, by=user)
    return JSONResponse([_certificate_json(c, base_url) for c in issued], status_code=201)


async def revoke_certificate(request: Request) -> Response:
    user = await api_user(request)
    data = await read_json(request)
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise errors.ValidationFailed(fields={"reason": N_("Please enter text.")})
    certificate = await certificates.revoke(serial=request.path_params["serial"], reason=reason, by=user)
    return JSONResponse({"serial": certificate.serial, "revoked_at": certificate.revoked_at.isoformat(),
                         "revoked_reason": certificate.revoked_reason})


async def certificate_template(request: Request) -> Response:
    """PUT the organiser's texts: title, body ({name} {event} {dates} {hours}), signer, images."""
    user = await api_user(request)
    data = await read_json(request)
    known = (*certificates.TEXT_FIELDS, *certificates.IMAGE_FIELDS)
    bad = {k: N_("Unknown field.") for k in data if k not in known}
    bad.update({k: N_("Please enter text.") for k, v in data.items() if k not in bad and not isinstance(v, str)})
    if bad:
        raise errors.ValidationFailed(fields=bad)
    template = await certificates.save_template(event_id=request.path_params["event_id"], values=data, by=user)
    return JSONResponse({name: getattr(template, name) for name in certificates.TEXT_FIELDS})


async def _bulk_download(request: Request, fmt: str) -> tuple[int, bytes]:
    """The API's bulk downloads promise "all eligible": missing certificates are issued first (without
    mail) and recorded in the audit log as `certificates.issued` under the token's user, as a POST would
    be. The back office instead offers issuing as its own button and downloads only what was issued."""
    user = await api_user(request)
    event = await events.get_event(request.path_params["event_id"], public=False)
    await certificates.issue_all(event_id=event.id, by=user)
    render = certificates.render_event if fmt == "pdf" else certificates.render_event_zip
    data = await render(event_id=event.id, settings=_settings(request))
    await audit.record("certificates.downloaded", user=user, event_id=event.id, format=fmt)
    return event.id, data


async def event_certificates_pdf(request: Request) -> Response:
    """GET: every eligible person's certificate as one PDF (issuing missing ones, see `_bulk_download`)."""
    event_id, data = await _bulk_download(request, "pdf")
    return _pdf(data, f"certificates-{event_id}.pdf")


async def event_certificates_zip(request: Request) -> Response:
    """GET: every eligible person's certificate as a ZIP of single PDFs (issuing missing ones, see `_bulk_download`)."""
    event_id, data = await _bulk_download(request, "zip")
    return Response(data, media_type="application/zip", headers={
        "content-disposition": f'attachment; filename="certificates-{event_id}.zip"', "cache-control": "private, no-store"})


async def training_record_file(request: Request, *, fmt: str, user) -> Response:
    """The training record of ?year= (default this year; ?email= for one person) as CSV or XLSX, for the
    API and the back office alike; every download is audited."""
    if fmt not in ("csv", "xlsx"):
        raise errors.NotFound()
    timezone, language = _settings(request).timezone, request.state.language
    year = training.year_from(request.query_params.get("year"), timezone=timezone)
    email = request.query_params.get("email") or None  # one person's record
    rows = await training.record_for_year(year=year, timezone=timezone, email=email)
    await audit.record("training_record.downloaded", user=user, year=year, format=fmt, one_person=bool(email))
    headers = {"content-disposition": f'attachment; filename="training-record-{year}.{fmt}"',
               "cache-control": "private, no-store"}
    if fmt == "csv":
        return Response(training_export.to_csv(rows, timezone=timezone, language=language),
                        media_type="text/csv; charset=utf-8", headers=headers)
    return Response(training_export.to_xlsx(rows, year=year, timezone=timezone, language=language),
                    media_type=training_export.XLSX_TYPE, headers=headers)


async def training_record(request: Request) -> Response:
    """HR's export: GET /api/v1/training-record.{csv,xlsx}?year=2026[&email=one.person@giessen.de]."""
    user = await api_user(request)
    return await training_record_file(request, fmt=request.path_params["format"], user=user)
