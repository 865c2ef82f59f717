"""Back office: an event's own mail texts per kind and language, with a preview of the mail as sent."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from events_app.core import errors
from events_app.core.i18n import LANGUAGES
from events_app.mail import texts
from events_app.web.admin_auth import ORGANISERS, requires
from events_app.web.admin_common import back, field_messages, load_event, page
from events_app.web.requests import read_form


def _form_of(stored: dict) -> dict:
    return {f"{part}_{kind}_{language}": getattr(text, part)
            for (kind, language), text in stored.items() for part in ("subject", "body")}


async def _page(request: Request, *, form: dict | None = None, field_errors: dict | None = None,
                status_code: int = 200) -> Response:
    event = await load_event(request)
    stored = await texts.texts_of(event.id)
    return page(request, "admin/mail_texts.html", {
        "event": event, "kinds": texts.EDITABLE_KINDS, "form": form if form is not None else _form_of(stored),
        "errors": field_errors or {}, "own": {key for key in stored}}, status_code=status_code)


@requires(*ORGANISERS)
async def mail_texts_page(request: Request) -> Response:
    return await _page(request)


@requires(*ORGANISERS)
async def mail_texts_save(request: Request) -> Response:
    event = await load_event(request)
    form = await read_form(request, max_fields=2 * len(texts.EDITABLE_KINDS) * len(LANGUAGES) + 10)
    data = {key: str(form.get(key) or "") for key in form.keys()}
    values = {(kind, language): (data.get(f"subject_{kind}_{language}", ""), data.get(f"body_{kind}_{language}", ""))
              for kind in texts.EDITABLE_KINDS for language in LANGUAGES}
    try:
        await texts.save_texts(event_id=event.id, values=values, by=request.state.user)
    except errors.ValidationFailed as exc:
        return await _page(request, form=data, field_errors=field_messages(request, exc), status_code=422)
    return back(f"/admin/events/{event.id}/mail-texts", "saved")


@requires(*ORGANISERS)
async def mail_text_preview(request: Request) -> Response:
    """The mail's HTML as the person's mail program shows it, or its plain text with ?part=text."""
    event = await load_event(request)
    kind, language = request.query_params.get("kind", ""), request.query_params.get("language", "")
    subject, text, html = await texts.preview(event_id=event.id, kind=kind, language=language,
                                              settings=request.app.state.settings)
    if request.query_params.get("part") == "text":
        return page(request, "admin/mail_text_preview.html", {"event": event, "subject": subject, "text": text,
                                                               "kind": kind, "preview_language": language})
    return HTMLResponse(html, headers={"cache-control": "no-store"})
