"""Consultation hours: the public page of free slots, booking, the personal booking page, the API and the
back office (pattern form with preview, the desk list of a day, booking by phone, cancel and move)."""

from __future__ import annotations

from datetime import date
from itertools import groupby
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from events_app.calendar import ical
from events_app.consultations import bookings, slots
from events_app.core import errors, i18n, urls
from events_app.core.languages import choices, language_key, language_label
from events_app.core.models import BookingStatus, EventKind, EventStatus, Visibility
from events_app.seats import events
from events_app.core.timeutil import utcnow
from events_app.core.validation import parse_whole_number
from events_app.web.admin_common import back, field_messages, load_event, page
from events_app.web.admin_auth import ORGANISERS, requires
from events_app.web.auth import api_user
from events_app.web import page_cache, pages
from events_app.web.pages import localized
from events_app.web.requests import read_form, read_json
from events_app.web.templating import render
from events_app.core.timeutil import FIRST_YEAR, LAST_YEAR


#: How many coming free slots the desk offers to move a booking to or to book by phone.
MOVE_CHOICES = 200


def _timezone(request: Request) -> str:
    return request.app.state.settings.timezone


def _base_url(request: Request) -> str:
    return request.app.state.settings.base_url


def slot_json(view: slots.SlotView) -> dict:
    return {"id": view.slot.id, "starts_at": view.slot.starts_at.isoformat(),
            "ends_at": view.slot.ends_at.isoformat(), "free": view.free}


def by_local_day(items, timezone: str, start=lambda item: item.starts_at) -> list[tuple[date, list]]:
    zone = ZoneInfo(timezone)
    return [(day, list(group)) for day, group in groupby(items, key=lambda item: start(item).astimezone(zone).date())]


def assistance_from(data: dict) -> str:
    """The language an interpreter should speak, "" for none.

    The API says `interpreter_needed` (true/false) and `interpreter_language`; the forms have a select
    `interpreter` (a list code or "other") and the typed name `interpreter_other`.
    """
    if "interpreter_needed" in data or "interpreter_language" in data:
        if data.get("interpreter_needed") is False:
            return ""
        key = language_key(str(data.get("interpreter_language") or ""))
        if data.get("interpreter_needed") is True and not key:
            raise errors.ValidationFailed(fields={"interpreter_language": errors.N_(
                "Please say in which language you need an interpreter.")})
        return key
    key = language_key(str(data.get("interpreter") or ""), str(data.get("interpreter_other") or ""))
    if data.get("interpreter") == "other" and not key:
        raise errors.ValidationFailed(fields={"interpreter_other": errors.N_(
            "Please say in which language you need an interpreter.")})
    return key


def booker_from(data: dict, language: str) -> bookings.Booker:
    return bookings.Booker(name=str(data.get("name") or ""), email=str(data.get("email") or ""),
                           phone=str(data.get("phone") or ""), language=str(data.get("language") or language),
                           interpreter_language=assistance_from(data), note=str(data.get("note") or ""),
                           women_confirmed=data.get("women_only") in (True, "yes", "on"))


# --- public ---


async def event_page(request: Request) -> Response:
    """An event's public page: consultation hours show their free slots, every other kind its form.
    The form page may be kept by the page cache; the slots change with bookings, so that page is not."""
    await page_cache.share(request)
    event = await events.get_event(request.path_params["event_id"])
    if event.kind == EventKind.CONSULTATION:
        page_cache.withdraw(request)
        return await consultation_page(request, event)
    return await pages.show_event(request, event)


async def public_event(event_id: int):
    event = await slots.consultation_event(event_id)
    if event.visibility == Visibility.DRAFT:
        raise errors.EventNotFound()
    return event


async def consultation_page(request: Request, event, *, form: dict | None = None, field_errors: dict | None = None,
                            status_code: int = 200) -> Response:
    """The free slots by day; nothing about who booked the others."""
    free = [view.slot for view in await slots.list_slots(event_id=event.id, since=utcnow()) if view.free]
    return render(request, "consultation.html", {
        "event": event, "text": localized(event, request.state.language),
        "days": by_local_day(free, _timezone(request)), "form": form or {}, "errors": field_errors or {},
        "cancelled": event.status == EventStatus.CANCELLED, "assistance_choices": choices(request.state.language),
        "page_path": urls.event_page("", event.id),
    }, status_code=status_code)


async def book_form(request: Request) -> Response:
    event = await public_event(request.path_params["event_id"])
    form = await read_form(request)
    data = {key: form.get(key) for key in form.keys()}
    language = request.state.language
    try:
        slot_id = parse_whole_number(data.get("slot") or "")
    except ValueError:
        return await consultation_page(request, event, form=data, status_code=422, field_errors={
            "slot": i18n.gettext(language, errors.N_("Please choose a time."))})
    try:
        booking = await bookings.book(slot_id=slot_id, booker=booker_from(data, language),
                                      timezone=_timezone(request))
    except errors.ValidationFailed as exc:
        return await consultation_page(request, event, form=data, field_errors=field_messages(request, exc),
                                       status_code=422)
    except (errors.SlotTaken, errors.SlotPast, errors.OneSlotPerDay, errors.SlotNotFound) as exc:
        return await consultation_page(request, event, form=data, status_code=exc.status,
                                       field_errors={"slot": i18n.gettext(language, exc.title)})
    return RedirectResponse(urls.booking_page("", booking.manage_token, new="1"), status_code=303)


async def booking_page(request: Request, *, cancelled_now: bool = False) -> Response:
    booking = await bookings.find_by_booking_token(request.path_params["token"])
    return render(request, "booking.html", {
        "booking": booking, "event": booking.event, "text": localized(booking.event, request.state.language),
        "interpreter": language_label(booking.interpreter_language, request.state.language),
        "new": request.query_params.get("new") == "1", "cancelled_now": cancelled_now,
    }, headers={"cache-control": "no-store"})


async def booking_calendar(request: Request) -> Response:
    """The appointment as a calendar file, the same entry as in the mails (CANCELLED once cancelled)."""
    booking = await bookings.find_by_booking_token(request.path_params["token"])
    language = booking.language if booking.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    body = ical.appointment_ics(
        uid=ical.booking_uid(booking.id, _base_url(request)), title=localized(booking.event, language)["title"],
        starts_at=booking.slot.starts_at, ends_at=booking.slot.ends_at, location=booking.event.location,
        url=urls.booking_page(_base_url(request), booking.manage_token),
        changed=booking.cancelled_at or booking.created_at, sequence=booking.sequence,
        cancelled=booking.status == BookingStatus.CANCELLED, timezone=_timezone(request))
    return Response(body, media_type="text/calendar; charset=utf-8", headers={
        "content-disposition": 'attachment; filename="appointment.ics"', "cache-control": "no-store"})


async def booking_cancel(request: Request) -> Response:
    await bookings.cancel(token=request.path_params["token"])
    return await booking_page(request, cancelled_now=True)


# --- API ---


async def api_slots(request: Request) -> Response:
    """GET /api/v1/events/{id}/slots: the coming slots, each free or not (no names)."""
    event = await public_event(request.path_params["event_id"])
    return JSONResponse([slot_json(view) for view in await slots.list_slots(event_id=event.id, since=utcnow())])


async def api_create_slots(request: Request) -> Response:
    """POST /api/v1/events/{id}/slots {weekday, start, end, minutes, first, last, skip}: the slots created."""
    user = await api_user(request)
    pattern = slots.check_pattern(await read_json(request))
    created = await slots.create_slots(event_id=request.path_params["event_id"], pattern=pattern,
                                       timezone=_timezone(request), by=user)
    return JSONResponse([slot_json(slots.SlotView(slot=slot, free=True)) for slot in created], status_code=201)


async def api_book(request: Request) -> Response:
    """POST /api/v1/slots/{id}/bookings: 201 {id, manage_url}; a taken slot is 409 with the next free ones."""
    data = await read_json(request)
    booking = await bookings.book(slot_id=request.path_params["slot_id"],
                                  booker=booker_from(data, request.state.language), timezone=_timezone(request))
    return JSONResponse({"id": booking.id, "manage_url": urls.booking_page(_base_url(request), booking.manage_token)},
                        status_code=201)


# --- back office ---


def _pattern_form(data: dict) -> dict:
    return {key: data.get(key) or "" for key in ("weekday", "start", "end", "minutes", "first", "last", "skip")}


@requires(*ORGANISERS)
async def slots_page(request: Request) -> Response:
    event = await load_event(request)
    views = await slots.list_slots(event_id=event.id, since=utcnow())
    days = [(day, len(group), sum(1 for v in group if not v.free))
            for day, group in by_local_day(views, _timezone(request), start=lambda v: v.slot.starts_at)]
    return page(request, "admin/slots.html", {"event": event, "days": days, "preview": None,
                                              "form": {"minutes": "20"}})


@requires(*ORGANISERS)
async def slots_submit(request: Request) -> Response:
    """The pattern form: "preview" shows the slots it would make, "create" stores them."""
    event = await load_event(request)
    form = await read_form(request)
    data = _pattern_form({key: form.get(key) for key in form.keys()})
    try:
        pattern = slots.check_pattern(data)
        planned = slots.plan(pattern, timezone=_timezone(request))
    except errors.ValidationFailed as exc:
        return page(request, "admin/slots.html", {"event": event, "days": [], "preview": None, "form": data,
                                                  "errors": field_messages(request, exc)}, status_code=422)
    if form.get("action") == "create":
        await slots.create_slots(event_id=event.id, pattern=pattern, timezone=_timezone(request),
                                 by=request.state.user)
        return back(f"/admin/events/{event.id}/slots", "slots_created")
    preview = by_local_day(planned, _timezone(request), start=lambda pair: pair[0])
    return page(request, "admin/slots.html", {"event": event, "days": [], "preview": preview, "form": data,
                                              "preview_count": len(planned)})


def _day(request: Request) -> date:
    raw = request.query_params.get("date") or ""
    try:
        day = date.fromisoformat(raw) if raw else utcnow().astimezone(ZoneInfo(_timezone(request))).date()
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValueError("year out of range")
        return day
    except ValueError:
        raise errors.ValidationFailed(fields={"date": errors.N_("Please enter a date like 2026-03-03.")}) from None


async def _desk(request: Request, *, form: dict | None = None, field_errors: dict | None = None,
                status_code: int = 200) -> Response:
    event = await load_event(request)
    day = _day(request)
    booked = await bookings.day_list(event_id=event.id, day=day, timezone=_timezone(request))
    all_free = [v.slot for v in await slots.list_slots(event_id=event.id, since=utcnow()) if v.free]
    zone = ZoneInfo(_timezone(request))
    return page(request, "admin/slot_desk.html", {
        "event": event, "day": day, "bookings": booked, "free": all_free[:MOVE_CHOICES],
        "free_today": [s for s in all_free if s.starts_at.astimezone(zone).date() == day],
        "language_label": lambda key: language_label(key, request.state.language),
        "assistance_choices": choices(request.state.language), "form": form or {}, "errors": field_errors or {},
        "languages": i18n.LANGUAGES,
    }, status_code=status_code)


@requires(*ORGANISERS)
async def desk_page(request: Request) -> Response:
    """The day's bookings for the desk (GET ?date=YYYY-MM-DD)."""
    return await _desk(request)


@requires(*ORGANISERS)
async def desk_book(request: Request) -> Response:
    """Book for someone on the phone."""
    event = await load_event(request)
    form = await read_form(request)
    data = {key: form.get(key) for key in form.keys()}
    try:
        slot_id = parse_whole_number(data.get("slot") or "")
        await bookings.book(slot_id=slot_id, booker=booker_from(data, i18n.DEFAULT_LANGUAGE),
                            timezone=_timezone(request), by=request.state.user)
    except ValueError:
        return await _desk(request, form=data, status_code=422, field_errors={
            "slot": i18n.gettext(request.state.language, errors.N_("Please choose a time."))})
    except errors.ValidationFailed as exc:
        return await _desk(request, form=data, field_errors=field_messages(request, exc), status_code=422)
    return back(f"/admin/events/{event.id}/slots/desk?date={_day(request).isoformat()}", "slot_booked")


@requires(*ORGANISERS)
async def desk_cancel(request: Request) -> Response:
    event = await load_event(request)
    form = await read_form(request)
    await bookings.cancel(booking_id=request.path_params["booking_id"], by=request.state.user,
                          reason=str(form.get("reason") or ""))
    return back(f"/admin/events/{event.id}/slots/desk?date={_day(request).isoformat()}", "slot_cancelled")


@requires(*ORGANISERS)
async def desk_move(request: Request) -> Response:
    event = await load_event(request)
    form = await read_form(request)
    try:
        slot_id = parse_whole_number(form.get("slot") or "")
    except ValueError as exc:
        raise errors.ValidationFailed(fields={"slot": str(exc)}) from None
    await bookings.move(booking_id=request.path_params["booking_id"], slot_id=slot_id, by=request.state.user,
                        timezone=_timezone(request))
    return back(f"/admin/events/{event.id}/slots/desk?date={_day(request).isoformat()}", "slot_moved")
