"""Back-office dashboard and events: list, create, edit, duplicate, cancel, delete."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from events_app.backoffice import changes
from events_app.consultations import bookings
from events_app.festival import partners
from events_app.core import errors
from events_app.core.models import Audience, DoorAssignment, Event, EventKind, Role, User, Visibility
from events_app.web import admin_forms
from events_app.web.admin_auth import ORGANISERS, requires
from events_app.web.admin_common import back, field_messages, load_event, page
from events_app.web.requests import read_form
from events_app.core.validation import parse_id, parse_whole_number


def _tz(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.timezone)


@requires(*ORGANISERS)
async def dashboard(request: Request) -> Response:
    return page(request, "admin/dashboard.html", {"upcoming": await changes.upcoming(),
                                                   **await changes.attention()})


@requires(*ORGANISERS)
async def event_list(request: Request) -> Response:
    q = request.query_params
    filters = {"q": q.get("q", "")[:100], "kind": q.get("kind", ""), "state": q.get("state", ""),
               "when": q.get("when", "upcoming") if q.get("when") in changes.EVENT_WHEN else "upcoming",
               "sort": q.get("sort", "date") if q.get("sort") in changes.EVENT_SORTS else "date"}
    page_number = min(parse_id(q.get("page", "")) or 1, 99_999)
    listed, found = await changes.find_events(search=filters["q"], kind=filters["kind"], state=filters["state"],
                                              when=filters["when"], sort=filters["sort"], page=page_number)
    pages = max(1, -(-found // changes.EVENTS_PER_PAGE))
    return page(request, "admin/events.html", {"summaries": listed, "found": found, "filters": filters,
                                               "kinds": list(EventKind), "page_number": min(page_number, pages),
                                               "pages": pages})


async def _event_form(request: Request, form: dict, *, event: Event | None = None, errors_: dict | None = None,
                      status_code: int = 200, previewed: bool = False) -> Response:
    door_staff = await User.filter(role=Role.DOOR, active=True).order_by("email")
    return page(request, "admin/event_form.html", {
        "event": event, "form": form, "errors": errors_ or {}, "door_staff": door_staff, "previewed": previewed,
        "kinds": list(EventKind), "audiences": list(Audience), "visibilities": list(Visibility),
        "question_kinds": changes.QUESTION_KINDS,
    }, status_code=status_code)


@requires(*ORGANISERS)
async def event_new(request: Request) -> Response:
    return await _event_form(request, admin_forms.blank_event_form())


@requires(*ORGANISERS)
async def event_create(request: Request) -> Response:
    data = admin_forms.form_dict(await read_form(request))
    try:
        values, sessions, questions, door = admin_forms.event_from_form(data, tz=_tz(request))
        if data.get("preview"):
            return await _event_form(request, admin_forms.with_sessions(data, sessions, tz=_tz(request)),
                                     previewed=True)
        event = await changes.create_event(values=values, sessions=sessions, questions=questions,
                                              door_user_ids=door, by=request.state.user)
    except errors.ValidationFailed as exc:
        return await _event_form(request, admin_forms.grow_rows(data), errors_=field_messages(request, exc),
                                 status_code=422)
    return back(f"/admin/events/{event.id}", "created")


@requires(*ORGANISERS)
async def event_edit(request: Request) -> Response:
    event = await load_event(request)
    door = await DoorAssignment.filter(event_id=event.id).values_list("user_id", flat=True)
    return await _event_form(request, admin_forms.event_to_form(event, tz=_tz(request), door_user_ids=list(door),
                                                                 language=request.state.language),
                             event=event)


@requires(*ORGANISERS)
async def event_update(request: Request) -> Response:
    event = await load_event(request)
    data = admin_forms.form_dict(await read_form(request))
    try:
        values, sessions, questions, door = admin_forms.event_from_form(data, tz=_tz(request))
        if data.get("preview"):
            return await _event_form(request, admin_forms.with_sessions(data, sessions, tz=_tz(request)),
                                     event=event, previewed=True)
        await changes.update_event(event_id=event.id, values=values, sessions=sessions, questions=questions,
                                      door_user_ids=door, by=request.state.user)
    except errors.ValidationFailed as exc:
        return await _event_form(request, admin_forms.grow_rows(data), event=event,
                                 errors_=field_messages(request, exc), status_code=422)
    return back(f"/admin/events/{event.id}", "saved")


@requires(*ORGANISERS)
async def event_duplicate(request: Request) -> Response:
    event = await load_event(request)
    form = await read_form(request)
    try:
        weeks = parse_whole_number(form.get("shift_weeks") or "0")
    except ValueError:
        raise errors.ValidationFailed(fields={"shift_weeks": errors.N_("Please enter a whole number.")}) from None
    if not -520 <= weeks <= 520:
        raise errors.ValidationFailed(fields={"shift_weeks": errors.N_("Please enter a whole number.")})
    copy = await changes.duplicate_event(event_id=event.id, shift_days=7 * weeks, by=request.state.user)
    return back(f"/admin/events/{copy.id}/edit", "duplicated")


@requires(*ORGANISERS)
async def event_cancel(request: Request) -> Response:
    event = await load_event(request)
    form = await read_form(request)
    if form.get("confirm") != "yes":
        raise errors.ValidationFailed(fields={"confirm": errors.N_("Please confirm that the event is cancelled.")})
    await changes.cancel_event(event_id=event.id, reason=str(form.get("reason") or ""), by=request.state.user)
    if event.kind == EventKind.CONSULTATION:  # the appointments go with it, each person told
        await bookings.cancel_all(event_id=event.id, reason=str(form.get("reason") or ""), by=request.state.user)
    if event.kind == EventKind.FESTIVAL:
        await partners.tell_event_cancelled(event_id=event.id, reason=str(form.get("reason") or ""))
    return back(f"/admin/events/{event.id}", "event_cancelled")


@requires(*ORGANISERS)
async def event_delete(request: Request) -> Response:
    event = await load_event(request)
    await changes.delete_draft(event_id=event.id, by=request.state.user)
    return back("/admin/events", "deleted")
