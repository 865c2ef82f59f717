"""Back office: the door's check-in page, phone first (search, scan, arrived, undo)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from events_app.courses import checkin
from events_app.core import errors
from events_app.backoffice import exports
from events_app.core.models import Event, Registration, RegistrationStatus
from events_app.web.admin_common import back, load_event, page
from events_app.web.admin_auth import EVERYONE, requires
from events_app.web.requests import read_form
from events_app.core.validation import parse_id

@requires(*EVERYONE)
async def checkin_events(request: Request) -> Response:
    today, others = await checkin.events_for(request.state.user, timezone=request.app.state.settings.timezone)
    return page(request, "admin/checkin_events.html", {"today": today, "others": others})


async def door_event(request: Request) -> Event:
    """The event of the URL, if the signed-in user may record arrivals and attendance there."""
    event = await load_event(request)
    if not await checkin.may_check_in(request.state.user, event.id):
        raise errors.PermissionDenied()
    return event


def _int_or_none(value) -> int | None:
    return parse_id(value) if value is not None else None


@requires(*EVERYONE)
async def checkin_page(request: Request) -> Response:
    event = await door_event(request)
    q = request.query_params
    session_id = await checkin.session_of(event.id, _int_or_none(q.get("session")),
                                          timezone=request.app.state.settings.timezone)
    scanned = None
    if q.get("token"):
        scanned = await checkin.by_token(event_id=event.id, token=q["token"])
    search = q.get("q", "").strip()[:100]
    people = sorted(await Registration.filter(event_id=event.id, status=RegistrationStatus.CONFIRMED),
                    key=lambda r: (exports.name_key(r.name), r.id))
    if search:  # "ayse yilmaz" finds "Ayşe Yılmaz": door staff type on any phone keyboard
        wanted = exports.name_key(search)
        people = [r for r in people if wanted in exports.name_key(r.name)]
    return page(request, "admin/checkin.html", {
        "event": event, "people": people, "scanned": scanned, "search": search, "session_id": session_id,
        "arrived": await checkin.arrivals(event.id, session_id), "counts": await checkin.counts(event.id, session_id),
        "sessions": [s for s in event.sessions if s.status.value == "scheduled"],
    })


def _checkin_back(event_id: int, form, done: str) -> RedirectResponse:
    params = {k: str(form.get(k)) for k in ("q", "session") if form.get(k)}
    return back(f"/admin/checkin/{event_id}" + (f"?{urlencode(params)}" if params else ""), done)


async def _checkin_target(request: Request):
    """The event, the posted form, the registration and the date (today's, if none chosen) to act on."""
    event = await door_event(request)
    form = await read_form(request)
    registration_id = _int_or_none(form.get("registration_id"))
    if registration_id is None:
        raise errors.RegistrationNotFound()
    session_id = await checkin.session_of(event.id, _int_or_none(form.get("session")),
                                          timezone=request.app.state.settings.timezone)
    return event, form, registration_id, session_id


@requires(*EVERYONE)
async def checkin_arrive(request: Request) -> Response:
    event, form, registration_id, session_id = await _checkin_target(request)
    await checkin.check_in(event_id=event.id, registration_id=registration_id, session_id=session_id,
                           companions=_int_or_none(form.get("companions")) or 0, by=request.state.user)
    return _checkin_back(event.id, form, "arrived")


@requires(*EVERYONE)
async def checkin_undo(request: Request) -> Response:
    event, form, registration_id, session_id = await _checkin_target(request)
    await checkin.undo(event_id=event.id, registration_id=registration_id, session_id=session_id,
                       by=request.state.user)
    return _checkin_back(event.id, form, "undone")
