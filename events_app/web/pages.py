"""Public HTML pages: the event list, an event with its form, the registration's manage page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from events_app.courses import certificates
from events_app.core import errors, legal, urls
from events_app.seats import events, registration, signup
from events_app.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, gettext
from events_app.core.models import Audience, EventStatus
from events_app.seats.registration import Applicant
from events_app.web.forms import applicant_from
from events_app.web.requests import read_form
from events_app.web.templating import render


def localized(event, language: str) -> dict:
    """Title and description in the reader's language, falling back to German.

    `title_lang` / `description_lang` say which language the text really is in, so the page can
    mark a German fallback with lang="de" (screen readers then switch voice).
    """
    texts = (event.translations or {}).get(language, {})
    title, description = texts.get("title"), texts.get("description")
    return {"title": title or event.title, "description": description or event.description,
            "title_lang": language if title else DEFAULT_LANGUAGE,
            "description_lang": language if description else DEFAULT_LANGUAGE}


#: Events per page of the home page.
HOME_PAGE_SIZE = 20


async def home(request: Request) -> Response:
    page = await events.upcoming_public_events(limit=HOME_PAGE_SIZE, cursor=request.query_params.get("cursor"))
    following = urls.event_list("", cursor=page.next_cursor) if page.next_cursor else None
    return render(request, "home.html", {"events": page.events, "localized": localized, "next_page": following,
                                         "first_page": urls.event_list("") if "cursor" in request.query_params
                                         else None})


async def _event_page(request: Request, event, *, form=None, field_errors=None, status_code=200,
                      page_path: str | None = None) -> Response:
    counts = {"free": max(event.capacity - event.seats_taken, 0)}
    return render(request, "event.html", {
        "event": event, "text": localized(event, request.state.language), "counts": counts,
        "form": form or {}, "errors": field_errors or {}, "localized": localized,
        "by_invitation": event.audience == Audience.INVITATION,
        "cancelled": event.status == EventStatus.CANCELLED, "page_path": page_path,
        "question_label": lambda question: signup.question_label(question, request.state.language),
    }, status_code=status_code)


async def event_page(request: Request) -> Response:
    event = await events.get_event(request.path_params["event_id"])
    return await _event_page(request, event)


async def register_form(request: Request) -> Response:
    """POST of the registration form. Errors come back next to the fields, keeping what was typed."""
    event = await events.get_event_for_signup(request.path_params["event_id"])
    form = await read_form(request)
    data = {key: form.get(key) for key in form.keys()}
    data.setdefault("language", request.state.language)
    if data.get("language") not in LANGUAGES:
        data["language"] = request.state.language
    try:
        applicant = applicant_from(data, event)
        outcome = await signup.sign_up(event_id=event.id, event=event, applicant=applicant, languages=tuple(LANGUAGES),
                                       staff_domains=request.app.state.settings.staff_domains,
                                       women_confirmed=bool(data.get("women_only")))
    except errors.ValidationFailed as exc:
        lang = request.state.language
        fields, params = _every_problem(data, event, exc)
        messages = {k: gettext(lang, v, **params) for k, v in fields.items()}
        event = await events.get_event(event.id)  # the page shows the dates too
        return await _event_page(request, event, form=data, field_errors=messages, status_code=422,
                                 page_path=urls.event_page("", event.id))
    return RedirectResponse(urls.manage_page("", outcome.registration.manage_token, new="1"), status_code=303)


def _every_problem(data: dict, event, first: errors.ValidationFailed) -> tuple[dict, dict]:
    """All field problems at once, in form order: a bad answer must not hide a missing name.

    The form layer stops at the answers; the contact fields are checked by the registration
    engine. When the answers failed, the contact fields are checked here too.
    """
    fields, params = dict(first.fields), dict(first.params)
    try:
        companions = int(str(data.get("companions") or 0).strip())
    except ValueError:
        companions = 0
    contact = Applicant(name=str(data.get("name") or ""), email=str(data.get("email") or ""),
                        phone=str(data.get("phone") or ""), language=str(data.get("language") or ""),
                        companions=companions)
    try:
        registration.check_applicant(event, contact, languages=tuple(LANGUAGES))
    except errors.ValidationFailed as contact_problems:
        fields = {**contact_problems.fields, **fields}
        params = {**contact_problems.params, **params}
    return fields, params


async def manage_page(request: Request) -> Response:
    outcome = await registration.find_by_manage_token(request.path_params["token"])
    reg = outcome.registration
    event = await events.get_event(reg.event_id, public=False)
    return render(request, "manage.html", {
        "registration": reg, "event": event, "text": localized(event, request.state.language),
        "position": outcome.waitlist_position, "new": request.query_params.get("new") == "1",
        "message": request.query_params.get("done"),
        "certificate": await certificates.valid_certificate_for(registration_id=reg.id),
    })


async def manage_cancel(request: Request) -> Response:
    token = request.path_params["token"]
    await read_form(request)
    await registration.cancel(token=token)
    return RedirectResponse(urls.manage_page("", token, done="cancelled"), status_code=303)


async def manage_accept(request: Request) -> Response:
    token = request.path_params["token"]
    await read_form(request)
    await registration.accept_offer(token=token)
    return RedirectResponse(urls.manage_page("", token, done="accepted"), status_code=303)


async def accessibility_statement(request: Request) -> Response:
    """Erklärung zur Barrierefreiheit: fixed wording translated, facts from EVENTS_LEGAL_* settings."""
    return render(request, "accessibility.html", {"legal": legal.current()})


async def privacy_notice(request: Request) -> Response:
    """Datenschutzhinweise for registrants: controller, purposes, legal bases, retention, rights."""
    return render(request, "privacy.html", {"legal": legal.current()})


async def health(request: Request) -> Response:
    return Response("ok", media_type="text/plain")
