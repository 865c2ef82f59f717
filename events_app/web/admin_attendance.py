"""Back office: attendance per date. A tick list saves one date in one form, and a grid of people × dates
shows what was recorded and who has earned a certificate. Door staff use it at their assigned events only,
as the door page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from events_app.core.timeutil import utcnow
from events_app.courses import attendance, certificates, checkin
from events_app.core import errors
from events_app.core.models import SessionStatus
from events_app.core.validation import parse_whole_number
from events_app.web.admin_common import back, page
from events_app.web.admin_auth import EVERYONE, MAX_FORM_FIELDS, requires
from events_app.web.admin_checkin import door_event
from events_app.web.requests import read_form


def _ids(values: list, field: str) -> list[int]:
    try:
        return [parse_whole_number(value) for value in values]
    except ValueError as exc:
        raise errors.ValidationFailed(fields={field: str(exc)}) from None


@requires(*EVERYONE)
async def attendance_page(request: Request) -> Response:
    """The tick list of the date asked for (else today's, the next or the last) above the grid of all dates."""
    event = await door_event(request)
    asked = request.query_params.get("session")
    now = utcnow()
    begun = [s for s in event.sessions if s.status == SessionStatus.SCHEDULED and s.starts_at <= now]
    if asked is not None:
        [session_id] = _ids([asked], "session")
    elif begun:  # attendance is ticked during or after a date: the latest one that has begun
        session_id = max(begun, key=lambda s: s.starts_at).id
    else:
        session_id = await checkin.session_of(event.id, None, timezone=request.app.state.settings.timezone)
    ticks = await attendance.tick_list(event_id=event.id, session_id=session_id)
    sessions = sorted((s for s in event.sessions if s.status == SessionStatus.SCHEDULED), key=lambda s: s.starts_at)
    return page(request, "admin/attendance.html", {
        "event": event, "sessions": sessions, "session": next(s for s in sessions if s.id == session_id),
        "ticks": ticks, "now": now, "grid": await certificates.eligibility(event_id=event.id),
        "marks": await attendance.marks(event_id=event.id),
    })


@requires(*EVERYONE)
async def attendance_save(request: Request) -> Response:
    """Everyone listed on the form is present if ticked, else absent; one transaction, one audit entry."""
    event = await door_event(request)
    form = await read_form(request, max_fields=MAX_FORM_FIELDS)
    [session_id] = _ids([form.get("session")], "session")
    listed = _ids(form.getlist("registration"), "registration")
    ticked = _ids(form.getlist("present"), "present")
    present = dict.fromkeys(listed, False) | dict.fromkeys(ticked, True)
    await attendance.save_tick_list(event_id=event.id, session_id=session_id, present=present,
                                    user_id=request.state.user.id)
    return back(f"/admin/events/{event.id}/attendance?session={session_id}", "attendance_saved")
