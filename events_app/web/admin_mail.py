"""Back office: the mails written to files when no SMTP server is set up, and sending a failed mail again."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from events_app.backoffice import changes
from events_app.mail.files import list_mail_files, mail_file, read_mail_file
from events_app.web.admin_common import back, page, safe_next
from events_app.web.admin_auth import ADMINS, ORGANISERS, requires
from events_app.web.requests import read_form


@requires(*ADMINS)
async def mail_files_page(request: Request) -> Response:
    written, total = await list_mail_files(request.app.state.settings)
    return page(request, "admin/mail_files.html", {"files": written, "total": total})


@requires(*ADMINS)
async def mail_file_page(request: Request) -> Response:
    shown = await read_mail_file(request.app.state.settings, request.path_params["name"])
    return page(request, "admin/mail_file.html", {"mail": shown})


@requires(*ADMINS)
async def mail_file_download(request: Request) -> Response:
    path = mail_file(request.app.state.settings, request.path_params["name"])
    return FileResponse(path, media_type="message/rfc822", filename=path.name, headers={"cache-control": "no-store"})


@requires(*ORGANISERS)
async def mail_requeue(request: Request) -> Response:
    """Send a failed mail again; back to the page the button was on (the dashboard or a registration)."""
    form = await read_form(request)
    await changes.requeue_mail(message_id=request.path_params["message_id"], by=request.state.user)
    return back(safe_next(str(form.get("next") or "")) or "/admin", "requeued")
