"""Back-office dashboard and events: list, create, edit, duplicate, cancel, delete."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from events_app.backoffice import changes
from events_app.core import errors
from events_app.core.models import Audience, DoorAssignment, Event, EventKind, Role, User, Visibility
from events_app.web import admin_forms
from events_app.web.admin_auth import ORGANISERS, requires
from events_app.web.admin_common import back, field_messages, load_event, page
from events_app.web.requests import read_form


def _tz(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.timezone)


@requires(*ORGANISERS)
async def dashboard(request: Request) -> Response:
    return page(request, "admin/dashboard.html", {"upcoming": await changes.upcoming(),
                                                   **await changes.attention()})


@requires(*ORGANISERS)
async def event_list(request: Request) -> Response:
    listed = await Event.all().prefetch_related("sessions").order_by("-id")
    return page(request, "admin/events.html", {"summaries": await changes.summarise_all(list(listed))})


async def _event_form(request: Request, form: dict, *, event: Event | None = None, errors_: dict | None = None,
                      status_code: int = 200) -> Response:
    door_staff = await User.filter(role=Role.DOOR, active=True).order_by("email")
    return page(request, "admin/event_form.html", {
        "event": event, "form": form, "errors": errors_ or {}, "door_staff": door_staff,
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
    return await _event_form(request, admin_forms.event_to_form(event, tz=_tz(request), door_user_ids=list(door)),
                             event=event)


@requires(*ORGANISERS)
async def event_update(request: Request) -> Response:
    event = await load_event(request)
    data = admin_forms.form_dict(await read_form(request))
    try:
        values, sessions, questions, door = admin_forms.event_from_form(data, tz=_tz(request))
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
        weeks = int(str(form.get("shift_weeks") or "0"))
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
    return back(f"/admin/events/{event.id}", "event_cancelled")


@requires(*ORGANISERS)
async def event_delete(request: Request) -> Response:
    event = await load_event(request)
    await changes.delete_draft(event_id=event.id, by=request.state.user)
    return back("/admin/events", "deleted")
