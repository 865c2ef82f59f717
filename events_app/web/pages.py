"""Public HTML pages: the event list, an event with its form, the registration's manage page."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from events_app.courses import certificates
from events_app.core import errors, legal, qr, urls
from events_app.core.shared_reads import SharedReads
from events_app.seats import events, personal, registration, signup
from events_app.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, gettext
from events_app.core.models import Audience, EventStatus, Invitation, RegistrationStatus
from events_app.core.timeutil import utcnow
from events_app.mail import delivery
from events_app.seats.registration import Applicant
from events_app.core.contact import may_see_meeting_point
from events_app.newsletter import subscriptions
from events_app.newsletter.subscriptions import SUBSCRIBABLE_KINDS
from events_app.security import contact
from events_app.web import page_cache
from events_app.web.forms import answers_from, read_applicant, whole_number
from events_app.web.requests import read_form, taking_turns, throttle_registration
from events_app.web.templating import render

log = logging.getLogger(__name__)
#: A database that takes longer than this to count the backlog counts as down for /health.
HEALTH_TIMEOUT_SECONDS = 5.0
#: Monitors and load balancers may ask many at once: they share the database's answer.
_backlog_reads = SharedReads()

def localized(event, language: str) -> dict:
    """Title and description in the reader's language, falling back to German.

    `title_lang` / `description_lang` say which language the text really is in, so the page can
    mark a German fallback with lang="de" (screen readers then switch voice).
    """
    texts = (event.translations or {}).get(language, {})
    title, description, location = texts.get("title"), texts.get("description"), texts.get("location")
    return {"title": title or event.title, "description": description or event.description,
            "location": location or event.location,
            "title_lang": language if title else DEFAULT_LANGUAGE,
            "description_lang": language if description else DEFAULT_LANGUAGE,
            "location_lang": language if location else DEFAULT_LANGUAGE}


#: Events per page of the home page.
HOME_PAGE_SIZE = 20


async def home(request: Request) -> Response:
    await page_cache.share(request)
    page = await events.upcoming_public_events(limit=HOME_PAGE_SIZE, cursor=request.query_params.get("cursor"))
    following = urls.event_list("", cursor=page.next_cursor) if page.next_cursor else None
    return render(request, "home.html", {"events": page.events, "localized": localized, "next_page": following,
                                         "first_page": urls.event_list("") if "cursor" in request.query_params
                                         else None, "subscribable_kinds": SUBSCRIBABLE_KINDS})


async def _event_page(request: Request, event, *, form=None, field_errors=None, status_code=200,
                      page_path: str | None = None) -> Response:
    counts = {"free": max(event.capacity - event.seats_taken, 0)}
    return render(request, "event.html", {
        "event": event, "text": localized(event, request.state.language), "counts": counts,
        "form": form or {}, "errors": field_errors or {}, "localized": localized,
        "by_invitation": event.audience == Audience.INVITATION,
        "cancelled": event.status == EventStatus.CANCELLED, "page_path": page_path,
        "subscribable_kinds": SUBSCRIBABLE_KINDS,
    }, status_code=status_code)


async def show_event(request: Request, event) -> Response:
    """An event's page with its registration form (the route is `consultations.event_page`)."""
    return await _event_page(request, event)


@taking_turns
async def register_form(request: Request) -> Response:
    """POST of the registration form. Errors come back next to the fields, keeping what was typed."""
    event = await events.get_event_for_signup(request.path_params["event_id"])
    form = await read_form(request)
    data = {key: form.get(key) for key in form.keys()}
    data.setdefault("language", request.state.language)
    try:
        applicant, problems = read_applicant(data, event)
        await throttle_registration(request, applicant.email)
        outcome = await signup.sign_up(event_id=event.id, event=event, applicant=applicant, languages=tuple(LANGUAGES),
                                       staff_domains=request.app.state.settings.staff_domains,
                                       women_confirmed=bool(data.get("women_only")), input_problems=problems)
    except errors.ValidationFailed as exc:
        lang = request.state.language
        messages = {k: gettext(lang, v, **exc.params) for k, v in exc.fields.items()}
        event = await events.get_event(event.id)  # the page shows the dates too
        return await _event_page(request, event, form=data, field_errors=messages, status_code=422,
                                 page_path=urls.event_page("", event.id))
    except errors.AlreadyRegistered as exc:
        messages = {"email": gettext(request.state.language, exc.title)}
        event = await events.get_event(event.id)  # the page shows the dates too
        return await _event_page(request, event, form=data, field_errors=messages, status_code=exc.status,
                                 page_path=urls.event_page("", event.id))
    return RedirectResponse(urls.manage_page("", outcome.registration.manage_token, new="1"), status_code=303)


async def _manage(request: Request, token: str, *, form: dict | None = None, field_errors: dict | None = None,
                  status_code: int = 200, asking_cancel: bool = False) -> Response:
    """The person's own page: status, what can be changed, the check-in code, dates and the office."""
    outcome = await registration.find_by_manage_token(token)
    reg = outcome.registration
    event = await events.get_event(reg.event_id, public=False)
    settings = request.app.state.settings
    code = request.query_params.get("contact")
    if code and event.location_confidential:
        await contact.confirm_by_code(registration=reg, code=code, secret_key=settings.secret_key)
    now = utcnow()
    holds_seat = reg.status == RegistrationStatus.CONFIRMED and event.status != EventStatus.CANCELLED
    invitation = await Invitation.get_or_none(registration_id=reg.id)
    open_now = event.status != EventStatus.CANCELLED and not (
        event.registration_closes_at and event.registration_closes_at <= now)
    return render(request, "manage.html", {
        "show_location": may_see_meeting_point(event, reg),
        "registration": reg, "event": event, "text": localized(event, request.state.language),
        "position": outcome.waitlist_position, "new": request.query_params.get("new") == "1",
        "message": request.query_params.get("done"),
        "certificate": await certificates.valid_certificate_for(registration_id=reg.id),
        "checkin_qr": qr.png_data_uri(urls.checkin_link(settings.base_url, reg), scale=6, border=4)
        if holds_seat else "",
        "can_change": open_now and reg.status in personal.CHANGEABLE,
        "can_undo": open_now and personal.can_undo(reg, now),
        "rsvp_url": urls.rsvp_page("", invitation.token) if invitation else "",
        "asking_cancel": asking_cancel,
        "form": form or {"companions": reg.companions, "language": reg.language, "phone": reg.phone,
                         **{f"q_{k}": v for k, v in (reg.answers or {}).items()}},
        "errors": field_errors or {},
        "retention_days": event.retention_days if event.retention_days is not None
        else request.app.state.settings.retention_days,
        "follow_up": subscriptions.waited_without_seat(reg, event),
    }, status_code=status_code)


async def manage_page(request: Request) -> Response:
    return await _manage(request, request.path_params["token"])


async def manage_change(request: Request) -> Response:
    """POST from the personal page: companions, language, phone and answers in one step."""
    token = request.path_params["token"]
    form = await read_form(request)
    data = {key: form.get(key) for key in form.keys()}
    outcome = await registration.find_by_manage_token(token)
    event = await events.get_event(outcome.registration.event_id, public=False)
    problems: dict[str, str] = {}
    answers = answers_from(data, list(event.questions), problems, prefix="q_") if event.questions else None
    companions = None
    if "companions" in data:
        companions = whole_number(data.get("companions") or 0, "companions", problems)
    language = request.state.language
    try:
        if problems:
            raise errors.ValidationFailed(fields=problems, max=event.max_companions)
        await personal.change(token=token, changes=personal.Changes(
            companions=companions, language=str(data["language"]) if "language" in data else None,
            phone=str(data["phone"]) if "phone" in data else None, answers=answers))
    except (errors.ValidationFailed, errors.MoreSeatsUnavailable) as exc:
        fields = exc.fields or {"companions": exc.title}
        messages = {k: gettext(language, v, **exc.params) for k, v in fields.items()}
        return await _manage(request, token, form=data, field_errors=messages, status_code=exc.status)
    return RedirectResponse(urls.manage_page("", token, done="changed"), status_code=303)


async def manage_cancel_ask(request: Request) -> Response:
    """GET: "Do you really want to give up your place?" before anything happens."""
    return await _manage(request, request.path_params["token"], asking_cancel=True)


async def manage_cancel(request: Request) -> Response:
    """POST: cancels only when confirmed (`confirm=1`); otherwise it asks first, like the GET."""
    token = request.path_params["token"]
    form = await read_form(request)
    if form.get("confirm") != "1":
        return await _manage(request, token, asking_cancel=True)
    await registration.cancel(token=token)
    return RedirectResponse(urls.manage_page("", token, done="cancelled"), status_code=303)


async def manage_undo(request: Request) -> Response:
    """POST: take back the cancellation while the seat is still free."""
    token = request.path_params["token"]
    await read_form(request)
    await personal.undo_cancel(token=token)
    return RedirectResponse(urls.manage_page("", token, done="restored"), status_code=303)


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
    """For monitoring: the database answers, and how far mail delivery is behind (one aggregate query).

    503 when the database cannot be reached. `oldest_due_age_seconds` is how long the message that
    has been due longest has waited; it grows when no worker runs or the SMTP server is down.
    """
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            backlog = await _backlog_reads.read(delivery.backlog)
    except Exception as exc:  # whatever the driver raises, or no answer in time: the answer is the same
        log.warning("health check: database unreachable: %s", exc)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok",
                         "outbox": {"due": backlog.due,
                                    "oldest_due_age_seconds": round(backlog.oldest_due_seconds(utcnow()), 1)}})
