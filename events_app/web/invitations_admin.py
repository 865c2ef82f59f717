"""Back office for receptions: upload the invitee list, preview and correct the column mapping, import,
edit the letter text, send invitation mails and reminders, download letters and the door list; and the
token-protected API for the same data.

`require_staff` is the one place that decides who may use these pages. For now it accepts an API token
(Authorization: Bearer) or a user that a session middleware has put on `request.state.user`; when the
back office's login is merged, only that function needs to change.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from events_app.core import audit, errors
from events_app.seats import events
from events_app.receptions import list_files, invitee_import, invitations, letters
from events_app.core.errors import N_
from events_app.core.i18n import gettext
from events_app.core.wording import format_code
from events_app.core.models import Role, User
from events_app.web.auth import ORGANISERS, api_user
from events_app.web.requests import check_form, read_form
from events_app.web.rsvp import invitation_json
from events_app.web.admin_common import page
from events_app.web.admin_auth import requires
from events_app.web.job_pages import progress_page
from events_app.core.validation import clean_text, parse_id

_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


async def require_staff(request: Request, roles: tuple[Role, ...] = ORGANISERS) -> User:
    """The signed-in organiser: a session user if one is set, else a valid API token."""
    user = getattr(request.state, "user", None)
    if user is not None:
        if user.role not in roles:
            raise errors.PermissionDenied()
        return user
    return await api_user(request, roles)


#: The preview form has a checkbox per row: a list of 5,000 invitees is 5,000 fields.
MAX_LIST_FIELDS = 5_100


async def _read_list_form(request: Request):
    """Like `read_form` (same size limit) but allowing a field per row of the list."""
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLarge()
    form = await request.form(max_files=1, max_fields=MAX_LIST_FIELDS)
    check_form(form)
    return form


def _uploads_dir(request: Request) -> Path:
    path = Path(request.app.state.settings.var_dir) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


#: Uploaded lists hold personal data: one not imported within a day is deleted.
UPLOAD_KEEP_SECONDS = 24 * 3600


def _keep_upload(request: Request, data: bytes, filename: str) -> str:
    """Keep the uploaded file between preview and import (the organiser may correct the mapping)."""
    cutoff = time.time() - UPLOAD_KEEP_SECONDS
    for old in _uploads_dir(request).iterdir():
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    upload_id = secrets.token_urlsafe(24)
    (_uploads_dir(request) / f"{upload_id}.bin").write_bytes(data)
    (_uploads_dir(request) / f"{upload_id}.name").write_text(clean_text(filename, max_length=200))
    return upload_id


def _load_upload(request: Request, upload_id: str) -> tuple[bytes, str]:
    if not _UPLOAD_ID.match(upload_id or ""):
        raise errors.ValidationFailed(fields={"file": N_("Please upload the file again.")})
    path = _uploads_dir(request) / f"{upload_id}.bin"
    if not path.exists():
        raise errors.ValidationFailed(fields={"file": N_("Please upload the file again.")})
    return path.read_bytes(), (_uploads_dir(request) / f"{upload_id}.name").read_text()


def _forget_upload(request: Request, upload_id: str) -> None:
    for suffix in (".bin", ".name"):
        (_uploads_dir(request) / f"{upload_id}{suffix}").unlink(missing_ok=True)


async def _overview(request: Request, event_id: int, *, message: str | None = None, field_errors=None,
                    to_contact: list[invitations.Call] | None = None, status_code: int = 200) -> Response:
    event = await events.get_event(event_id, public=False)
    return page(request, "admin/invitations.html", {
        "event": event, "counts": await invitations.counts(event_id),
        "invitations": await invitations.list_invitations(event_id),
        "letter": await invitations.get_letter(event_id, settings=request.app.state.settings),
        "format_code": format_code,
        "suggested_deadline": invitations.suggested_deadline(event, request.app.state.settings.timezone),
        "message": message, "errors": field_errors or {}, "form": {},
        "to_contact": await invitations.call_list(event_id) if to_contact is None else to_contact,
    }, status_code=status_code)


@requires(Role.ADMIN, Role.ORGANISER)
async def overview(request: Request) -> Response:
    await require_staff(request)
    done = request.query_params.get("done")
    return await _overview(request, request.path_params["event_id"], message=done)


def _field_messages(request: Request, exc: errors.DomainError) -> dict[str, str]:
    language = request.state.language
    fields = exc.fields or {"file": exc.title}
    return {name: gettext(language, message, **exc.params) for name, message in fields.items()}


async def _preview_page(request: Request, event_id: int, upload_id: str, table: list_files.Table,
                        mapping: dict, accepted: set[int] | None = None, field_errors=None,
                        status_code: int = 200) -> Response:
    preview = await invitee_import.build_preview(event_id=event_id, table=table, mapping=mapping)
    event = await events.get_event(event_id, public=False)
    return page(request, "admin/invitations_preview.html", {
        "event": event, "preview": preview, "upload_id": upload_id, "fields": invitee_import.FIELDS,
        "accepted": preview.default_lines if accepted is None else accepted, "summary": preview.summary(),
        "errors": field_errors or {}, "form": {},
    }, status_code=status_code)


@requires(Role.ADMIN, Role.ORGANISER)
async def preview_upload(request: Request) -> Response:
    """POST multipart `file` (new upload) or `upload_id` + `map_<field>` (corrected mapping)."""
    await require_staff(request)
    event_id = request.path_params["event_id"]
    form = await _read_list_form(request)
    upload = form.get("file")
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read()
            table = await list_files.read_upload(data, upload.filename)
            upload_id = _keep_upload(request, data, upload.filename)
            mapping = invitee_import.guess_mapping(table.headers)
        else:
            upload_id = str(form.get("upload_id") or "")
            data, filename = _load_upload(request, upload_id)
            table = await list_files.read_upload(data, filename)
            mapping = invitee_import.mapping_from_choices(table.headers, _mapping_choices(form))
    except (errors.UnreadableFile, errors.ValidationFailed) as exc:
        return await _overview(request, event_id, field_errors=_field_messages(request, exc), status_code=exc.status)
    accepted = {line for v in form.getlist("accept") if (line := parse_id(v)) is not None} if "upload_id" in form else None
    return await _preview_page(request, event_id, upload_id, table, mapping, accepted)


def _mapping_choices(form) -> dict[str, str]:
    return {name: str(form.get(f"map_{name}")) for name in invitee_import.FIELDS if f"map_{name}" in form}


@requires(Role.ADMIN, Role.ORGANISER)
async def import_upload(request: Request) -> Response:
    """Store the rows the organiser ticked, all or none."""
    user = await require_staff(request)
    event_id = request.path_params["event_id"]
    form = await _read_list_form(request)
    upload_id = str(form.get("upload_id") or "")
    try:
        data, filename = _load_upload(request, upload_id)
    except errors.ValidationFailed as exc:
        return await _overview(request, event_id, field_errors=_field_messages(request, exc), status_code=exc.status)
    table = await list_files.read_upload(data, filename)
    mapping = invitee_import.mapping_from_choices(table.headers, _mapping_choices(form))
    accepted = {line for v in form.getlist("accept") if (line := parse_id(v)) is not None}
    try:
        result = await invitee_import.import_invitations(event_id=event_id, table=table, mapping=mapping,
                                                      accept_lines=accepted, by_user_id=user.id, source=filename)
    except errors.ValidationFailed as exc:
        return await _preview_page(request, event_id, upload_id, table, mapping, accepted,
                                   field_errors=_field_messages(request, exc), status_code=exc.status)
    _forget_upload(request, upload_id)
    return RedirectResponse(f"/admin/events/{event_id}/invitations?done=imported-{result.created}", status_code=303)


@requires(Role.ADMIN, Role.ORGANISER)
async def save_letter(request: Request) -> Response:
    """The letter texts, the signer and an optional scanned signature (multipart upload)."""
    await require_staff(request)
    event_id = request.path_params["event_id"]
    form = await _read_list_form(request)
    upload = form.get("signature_image")
    image = await upload.read() if isinstance(upload, UploadFile) and upload.filename else None
    try:
        await invitations.save_letter(
            event_id=event_id, signature_upload=image, remove_signature=form.get("remove_signature") == "1",
            **{name: str(form.get(name) or "") for name in (
                "sender", "subject", "body", "closing", "signer_name", "signer_role")})
    except errors.ValidationFailed as exc:
        return await _overview(request, event_id, field_errors=_field_messages(request, exc), status_code=exc.status)
    return RedirectResponse(f"/admin/events/{event_id}/invitations?done=letter", status_code=303)


@requires(Role.ADMIN, Role.ORGANISER)
async def set_deadline(request: Request) -> Response:
    """The organiser confirms the answer deadline (a date; answers are taken until 23:59 that day)."""
    user = await require_staff(request)
    event_id = request.path_params["event_id"]
    form = await read_form(request)
    settings = request.app.state.settings
    try:
        day = date.fromisoformat(str(form.get("deadline") or "").strip())
        deadline = datetime(day.year, day.month, day.day, 23, 59, tzinfo=ZoneInfo(settings.timezone))
    except ValueError:
        exc = errors.ValidationFailed(fields={"deadline": N_("Please enter a valid date.")})
        return await _overview(request, event_id, field_errors=_field_messages(request, exc), status_code=exc.status)
    try:
        await invitations.set_answer_deadline(event_id=event_id, deadline=deadline, by=user)
    except errors.ValidationFailed as exc:
        return await _overview(request, event_id, field_errors=_field_messages(request, exc), status_code=exc.status)
    back_to = "letters" if form.get("then") == "letters" else ""
    return RedirectResponse(f"/admin/events/{event_id}/invitations?done=deadline" + (
        "#letters" if back_to else ""), status_code=303)


def _confirm_page(request: Request, event, *, action: str, question: str, count: int, button: str,
                  hidden: dict | None = None, status_code: int = 200, details: list[str] | None = None) -> Response:
    """The step before a bulk action: what will happen and to how many people, with a way back."""
    return page(request, "admin/confirm.html", {
        "event": event, "action": action, "question": question, "count": count, "button": button,
        "hidden": hidden or {}, "details": details or [], "back_url": f"/admin/events/{event.id}/invitations",
    }, status_code=status_code)


@requires(Role.ADMIN, Role.ORGANISER)
async def send_mails(request: Request) -> Response:
    """Asks first ("13 people will get the invitation mail"), sends on the confirmed second POST."""
    await require_staff(request)
    form = await read_form(request)
    event_id = request.path_params["event_id"]
    if form.get("confirm") != "1":
        event = await events.get_event(event_id, public=False)
        count = await invitations.invitation_mails_due(event_id=event_id)
        language = request.state.language
        return _confirm_page(
            request, event, action=f"/admin/events/{event_id}/invitations/send", count=count,
            question=gettext(language, N_("%(count)d invitees will get the invitation mail now. Send it?"), count=count),
            button=gettext(language, N_("Yes, send %(count)d mails"), count=count))
    sent = await invitations.send_invitation_mails(event_id=event_id)
    return RedirectResponse(f"/admin/events/{event_id}/invitations?done=mailed-{sent}", status_code=303)


@requires(Role.ADMIN, Role.ORGANISER)
async def send_reminders(request: Request) -> Response:
    """Reminds by mail and shows who must be phoned or written to."""
    await require_staff(request)
    form = await read_form(request)
    event_id = request.path_params["event_id"]
    if form.get("confirm") != "1":
        event = await events.get_event(event_id, public=False)
        count = await invitations.reminders_due(event_id=event_id)
        language = request.state.language
        return _confirm_page(
            request, event, action=f"/admin/events/{event_id}/invitations/remind", count=count,
            question=gettext(language, N_("%(count)d invitees who have not answered will get a reminder mail now. "
                                          "Send it?"), count=count),
            button=gettext(language, N_("Yes, send %(count)d mails"), count=count))
    result = await invitations.send_reminders(event_id=event_id)
    return await _overview(request, event_id, message=f"reminded-{result.mailed}", to_contact=result.to_contact)


@requires(Role.ADMIN, Role.ORGANISER)
async def mark_told(request: Request) -> Response:
    """The organiser has phoned or written to an invitee without e-mail about what changed."""
    user = await require_staff(request)
    event_id = request.path_params["event_id"]
    form = await read_form(request)
    await invitations.mark_told(event_id=event_id, invitation_id=request.path_params["invitation_id"],
                                news=str(form.get("news") or ""), by=user)
    return RedirectResponse(f"/admin/events/{event_id}/invitations?done=told#to-contact", status_code=303)


def _pdf(content: bytes, filename: str) -> Response:
    return Response(content, media_type="application/pdf",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


async def _letters_pdf(request: Request, user: User) -> Response:
    """Letters for everyone without an e-mail address; `?all=1` for everyone."""
    event_id = request.path_params["event_id"]
    await events.get_event(event_id, public=False)
    content = await letters.letters_pdf(event_id=event_id, settings=request.app.state.settings, by=user,
                                        everyone=request.query_params.get("all") == "1")
    return _pdf(content, f"einladungen-{event_id}.pdf")


@requires(Role.ADMIN, Role.ORGANISER)
async def door_list_pdf(request: Request) -> Response:
    user = await require_staff(request)
    event_id = request.path_params["event_id"]
    content = await letters.door_list_pdf(event_id=event_id, settings=request.app.state.settings, by=user,
                                          language=request.state.language)
    return _pdf(content, f"einlassliste-{event_id}.pdf")


async def api_list(request: Request) -> Response:
    """GET /api/v1/events/{id}/invitations: every invitation with code, state and companions."""
    user = await api_user(request)
    event = await events.get_event(request.path_params["event_id"], public=False)
    base_url = request.app.state.settings.base_url
    listed = await invitations.list_invitations(event.id)
    await audit.record("export.downloaded", user=user, event_id=event.id, format="json", layout="invitations")
    return JSONResponse([invitation_json(i, private=True, base_url=base_url) for i in listed])


async def api_letters_pdf(request: Request) -> Response:
    return await _letters_pdf(request, await api_user(request))


@requires(Role.ADMIN, Role.ORGANISER)
async def letters_pdf(request: Request) -> Response:
    return await _letters_pdf(request, await require_staff(request))


@requires(Role.ADMIN, Role.ORGANISER)
async def start_letters(request: Request) -> Response:
    """POST: first the plan (how many letters, the deadline they print, who has no address, a preview of
    the first letter); with `confirm=1` the letters are laid out in the background (progress page)."""
    await require_staff(request)
    event_id = request.path_params["event_id"]
    form = await read_form(request)
    settings = request.app.state.settings
    everyone = form.get("everyone") == "1"
    if form.get("confirm") != "1":
        found = await letters.plan(event_id=event_id, settings=settings, everyone=everyone)
        return page(request, "admin/letters_confirm.html", {
            "event": found.event, "plan": found, "everyone": everyone, "format_code": format_code})
    try:
        job_id = await letters.start_letters_job(event_id=event_id, settings=settings, everyone=everyone)
    except errors.ValidationFailed as exc:
        return await _overview(request, event_id, field_errors=_field_messages(request, exc), status_code=exc.status)
    return RedirectResponse(f"/admin/events/{event_id}/invitations/letters/{job_id}", status_code=303)


@requires(Role.ADMIN, Role.ORGANISER)
async def letters_preview(request: Request) -> Response:
    """The first letter of the batch as it will be printed (`?all=1`: of the batch for everyone)."""
    await require_staff(request)
    event_id = request.path_params["event_id"]
    content = await letters.preview_pdf(event_id=event_id, settings=request.app.state.settings,
                                        everyone=request.query_params.get("all") == "1")
    return Response(content, media_type="application/pdf",
                    headers={"content-disposition": f'inline; filename="einladung-vorschau-{event_id}.pdf"'})


@requires(Role.ADMIN, Role.ORGANISER)
async def letters_progress(request: Request) -> Response:
    await require_staff(request)
    event = await events.get_event(request.path_params["event_id"], public=False)
    return progress_page(request, "admin/letters_job.html", kind=letters.JOB_KIND, event=event)


@requires(Role.ADMIN, Role.ORGANISER)
async def letters_job_pdf(request: Request) -> Response:
    user = await require_staff(request)
    event_id = request.path_params["event_id"]
    content = await letters.job_pdf(request.app.state.settings, event_id=event_id,
                                    job_id=request.path_params["job_id"], by=user)
    if content is None:
        raise errors.NotFound()
    return _pdf(content, f"einladungen-{event_id}.pdf")
