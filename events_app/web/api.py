"""JSON API under /api/v1, described at /api/v1/openapi.json."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from events_app.core import audit, errors, urls
from events_app.core.errors import N_
from events_app.seats import events, registration, signup
from events_app.core.i18n import LANGUAGES
from events_app.backoffice import changes
from events_app.consultations import bookings
from events_app.festival import partners
from events_app.core.models import Event, EventKind, EventSession, Question, Registration
from events_app.web.admin_exports import export_response
from events_app.web import page_cache
from events_app.web.auth import api_user
from events_app.web.forms import event_fields_from, read_applicant, whole_number
from events_app.web.openapi import OPENAPI
from events_app.web.requests import read_json, taking_turns, throttle_registration


def _time(value):
    return value.isoformat() if value else None


async def event_json(event: Event, *, base_url: str, retention_days: int) -> dict:
    """`retention_days` is the default period (EVENTS_RETENTION_DAYS), shown for events without their own."""
    sessions: list[EventSession] = list(event.sessions)
    first = events.first_start(event)
    return {
        "id": event.id,
        "kind": event.kind.value,
        "title": event.title,
        "description": event.description,
        "translations": event.translations,
        "location": "" if event.location_confidential else event.location,
        "location_confidential": event.location_confidential,
        "starts_at": _time(first),
        "ends_at": _time(max((s.ends_at for s in sessions), default=None)),
        "sessions": [{"id": s.id, "starts_at": _time(s.starts_at), "ends_at": _time(s.ends_at),
                      "status": s.status.value} for s in sessions],
        "capacity": event.capacity,
        "seats_taken": event.seats_taken,
        "seats_available": max(event.capacity - event.seats_taken, 0),
        "waitlist": event.waitlist,
        "waitlist_length": event.waiting,
        "offer_hours": event.offer_hours,
        "max_companions": event.max_companions,
        "phone_allowed": event.phone_allowed,
        "registration_opens_at": _time(event.registration_opens_at),
        "registration_closes_at": _time(event.registration_closes_at),
        "audience": event.audience.value,
        "visibility": event.visibility.value,
        "status": event.status.value,
        "certificate_min_attendance": event.certificate_min_attendance,
        "retention_days": event.retention_days if event.retention_days is not None else retention_days,
        "questions": [question_json(q) for q in event.questions],
        "url": urls.event_page(base_url, event.id),
    }


def question_json(question: Question) -> dict:
    """A question with its label and options per language (German in `label` and `choices`)."""
    texts = question.translations or {}
    return {"key": question.key, "label": question.label, "kind": question.kind, "choices": list(question.choices),
            "required": question.required, "builtin": question.builtin,
            "translations": {lang: text["label"] for lang, text in texts.items() if text.get("label")},
            "choice_translations": {lang: text["choices"] for lang, text in texts.items() if text.get("choices")}}


def _base_url(request: Request) -> str:
    return request.app.state.settings.base_url


def _event_json(event: Event, request: Request):
    settings = request.app.state.settings
    return event_json(event, base_url=settings.base_url, retention_days=settings.retention_days)


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


async def list_events(request: Request) -> Response:
    """Upcoming public events, soonest first, a page at a time: `limit` (1-100, default 100) and the
    `cursor` from the previous answer's `Link: <...>; rel="next"` header (absent on the last page)."""
    limit = whole_number(request.query_params.get("limit"), "limit", problems := {}, default=events.MAX_PAGE_SIZE)
    if not problems and not 1 <= limit <= events.MAX_PAGE_SIZE:
        problems["limit"] = N_("Enter a number from 1 to %(max)d.")
    if problems:
        raise errors.ValidationFailed(fields=problems, max=events.MAX_PAGE_SIZE)
    await page_cache.share(request)
    page = await events.upcoming_public_events(limit=limit, cursor=request.query_params.get("cursor"))
    headers = {}
    if page.next_cursor:
        following = urls.api_events(_base_url(request), limit=str(limit), cursor=page.next_cursor)
        headers["Link"] = f'<{following}>; rel="next"'
    return JSONResponse([await _event_json(e, request) for e in page.events], headers=headers)


async def get_event(request: Request) -> Response:
    await page_cache.share(request)
    event = await events.get_event(request.path_params["event_id"])
    return JSONResponse(await _event_json(event, request))


async def create_event(request: Request) -> Response:
    user = await api_user(request)
    values, sessions = event_fields_from(await read_json(request), creating=True,
                                         tz=request.app.state.settings.timezone)
    questions = values.pop("questions", [])
    event = await changes.create_event(values=values, sessions=sessions or [], questions=questions, by=user)
    event = await events.get_event(event.id, public=False)
    return JSONResponse(await _event_json(event, request), status_code=201)


async def patch_event(request: Request) -> Response:
    user = await api_user(request)
    event = await events.get_event(request.path_params["event_id"], public=False)
    data = await read_json(request)
    values, sessions = event_fields_from(data, creating=False, tz=request.app.state.settings.timezone)
    questions = values.pop("questions", None)
    if sessions and "sessions" not in data and "recurrence" not in data and len(event.sessions) == 1:
        # starts_at/ends_at on a one-date event move that date rather than adding one
        only = event.sessions[0]
        sessions = [events.SessionSpec(starts_at=sessions[0].starts_at, ends_at=sessions[0].ends_at, id=only.id)]
    await changes.update_event(event_id=event.id, values=values, sessions=sessions, questions=questions, by=user)
    event = await events.get_event(event.id, public=False)
    return JSONResponse(await _event_json(event, request))


async def cancel_event(request: Request) -> Response:
    user = await api_user(request)
    data = await read_json(request)
    event = await events.cancel_event(event_id=request.path_params["event_id"],
                                      reason=str(data.get("reason", ""))[:1000], by=user)
    if event.kind == EventKind.CONSULTATION:  # the appointments go with it, each person told
        await bookings.cancel_all(event_id=event.id, reason=str(data.get("reason", "")), by=user)
    if event.kind == EventKind.FESTIVAL:
        await partners.tell_event_cancelled(event_id=event.id, reason=str(data.get("reason", "")))
    event = await events.get_event(event.id, public=False)
    return JSONResponse(await _event_json(event, request))


def registration_json(reg: Registration, position: int | None, *, base_url: str, private: bool) -> dict:
    body = {
        "id": reg.id,
        "status": reg.status.value,
        "waitlist_position": position,
        "seats": reg.seats,
        "companions": reg.companions,
        "offer_expires_at": _time(reg.offer_expires_at),
    }
    if private:
        body.update({"name": reg.name, "email": reg.email, "phone": reg.phone, "language": reg.language,
                     "answers": reg.answers, "created_at": _time(reg.created_at)})
    else:
        body["manage_url"] = urls.manage_page(base_url, reg.manage_token)
    return body


@taking_turns
async def create_registration(request: Request) -> Response:
    event = await events.get_event_for_signup(request.path_params["event_id"])
    data = await read_json(request)
    applicant, problems = read_applicant(data, event, answers_key="answers")
    await throttle_registration(request, applicant.email)
    outcome = await signup.sign_up(event_id=event.id, event=event, applicant=applicant, languages=tuple(LANGUAGES),
                                   staff_domains=request.app.state.settings.staff_domains,
                                   women_confirmed=data.get("women_only") is True, input_problems=problems)
    return JSONResponse(registration_json(outcome.registration, outcome.waitlist_position,
                                          base_url=_base_url(request), private=False), status_code=201)


async def list_registrations(request: Request) -> Response:
    user = await api_user(request)
    event = await events.get_event(request.path_params["event_id"], public=False)
    positions = await registration.waitlist_positions(event.id)
    regs = await Registration.filter(event_id=event.id).order_by("id")
    await audit.record("export.downloaded", user=user, event_id=event.id, format="json", layout="registrations")
    return JSONResponse([registration_json(r, positions.get(r.id), base_url=_base_url(request), private=True)
                         for r in regs])


async def cancel_registration(request: Request) -> Response:
    reg = await registration.cancel(token=request.path_params["token"])
    return JSONResponse(registration_json(reg, None, base_url=_base_url(request), private=False))


async def accept_offer(request: Request) -> Response:
    reg = await registration.accept_offer(token=request.path_params["token"])
    return JSONResponse(registration_json(reg, None, base_url=_base_url(request), private=False))


# --- backoffice ---


async def export_event(request: Request) -> Response:
    """GET /api/v1/events/{id}/export.{csv|xlsx|pdf}: organisers and admins only (door staff get 403)."""
    user = await api_user(request)
    event = await Event.get_or_none(id=request.path_params["event_id"]).prefetch_related("sessions", "questions")
    if event is None:
        raise errors.EventNotFound()
    return await export_response(request, event, request.path_params["fmt"], user)
