"""Back-office registrations of one event: the list with filters and waiting list, adding by hand,
contact changes, cancel, promote, move back, resend, and a message to a group."""

from __future__ import annotations

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from events_app.backoffice import changes
from events_app.core import audit, errors, qr, urls
from events_app.core.i18n import LANGUAGES, gettext
from events_app.core.models import Event, Registration, RegistrationStatus
from events_app.seats import registration
from events_app.web import admin_forms
from events_app.web.admin_auth import ORGANISERS, requires
from events_app.web.admin_common import back, field_messages, load_event, page
from events_app.web.forms import applicant_from
from events_app.web.requests import read_form
from events_app.core.validation import parse_id
from events_app.security import contact


@requires(*ORGANISERS)
async def event_detail(request: Request) -> Response:
    event = await load_event(request)
    q = request.query_params
    status = q.get("status", "") if q.get("status", "") in {s.value for s in RegistrationStatus} else ""
    language = q.get("language", "") if q.get("language", "") in LANGUAGES else ""
    answer_key = q.get("answer_key", "") if q.get("answer_key", "") in {x.key for x in event.questions} else ""
    found = await changes.find_registrations(event_id=event.id, status=status, language=language,
                                                search=q.get("q", "")[:100], answer_key=answer_key,
                                                answer_value=q.get("answer_value", "")[:100])
    per_page = 100
    page_number = max(1, parse_id(q.get("page", "1")) or 1)
    pages = max(1, -(-len(found) // per_page))
    page_number = min(page_number, pages)
    shown = found[(page_number - 1) * per_page:page_number * per_page]
    positions = await registration.waitlist_positions(event.id)
    waiting = sorted((r for r in await Registration.filter(event_id=event.id, status=RegistrationStatus.WAITLISTED)),
                     key=lambda r: positions.get(r.id, 0))
    return page(request, "admin/event_detail.html", {
        "event": event, "summary": await changes.summarise(event), "registrations": shown, "found": len(found),
        "page_number": page_number, "pages": pages,
        "positions": positions, "waiting": waiting, "statuses": list(RegistrationStatus),
        "filters": {"status": status, "language": language, "q": q.get("q", ""), "answer_key": answer_key,
                    "answer_value": q.get("answer_value", "")},
        "confirm_promote": q.get("confirm_promote", "") if parse_id(q.get("confirm_promote", "")) is not None else "",
        "history": await audit.recent(event_id=event.id, limit=30),
    })


def _registration_id(request: Request) -> int:
    return request.path_params["registration_id"]


@requires(*ORGANISERS)
async def registration_new(request: Request) -> Response:
    event = await load_event(request)
    return page(request, "admin/registration_new.html", {"event": event, "form": {"language": "de"}})


@requires(*ORGANISERS)
async def registration_add(request: Request) -> Response:
    event = await load_event(request)
    data = admin_forms.form_dict(await read_form(request))
    try:
        applicant = applicant_from(data, event)
        outcome = await changes.add_by_hand(event_id=event.id, applicant=applicant, languages=tuple(LANGUAGES),
                                               by=request.state.user)
    except errors.ValidationFailed as exc:
        return page(request, "admin/registration_new.html", {"event": event, "form": data,
                                                             "errors": field_messages(request, exc)}, status_code=422)
    return back(f"/admin/events/{event.id}", "added_waiting" if outcome.waitlist_position else "added")


async def _registration_view(request: Request, event: Event, *, form: dict | None = None,
                             errors_: dict | None = None, status_code: int = 200) -> Response:
    """The registration's page: facts, contact form, check-in code, its mails and history."""
    found = await Registration.get_or_none(id=_registration_id(request), event_id=event.id)
    if found is None:
        raise errors.RegistrationNotFound()
    history = await audit.recent(event_id=event.id, limit=500)
    history = [h for h in history if h.detail.get("registration_id") == found.id]
    link = urls.checkin_link(request.app.state.settings.base_url, found)
    return page(request, "admin/registration.html", {
        "event": event, "registration": found, "errors": errors_ or {},
        "form": form or {k: getattr(found, k) for k in ("name", "email", "phone", "language")},
        "history": history, "mails": await changes.registration_mails(registration_id=found.id),
        "checkin_link": link, "checkin_qr": Markup(qr.svg(link))}, status_code=status_code)


@requires(*ORGANISERS)
async def registration_page(request: Request) -> Response:
    return await _registration_view(request, await load_event(request))


@requires(*ORGANISERS)
async def registration_contact(request: Request) -> Response:
    event = await load_event(request)
    data = admin_forms.form_dict(await read_form(request))
    try:
        await changes.update_contact(event_id=event.id, registration_id=_registration_id(request),
                                        name=data.get("name", ""), email=data.get("email", ""),
                                        phone=data.get("phone", ""), language=data.get("language", ""),
                                        languages=tuple(LANGUAGES), by=request.state.user)
    except errors.ValidationFailed as exc:
        return await _registration_view(request, event, form=data, errors_=field_messages(request, exc),
                                        status_code=422)
    return back(f"/admin/events/{event.id}/registrations/{_registration_id(request)}", "saved")


@requires(*ORGANISERS)
async def registration_verify_contact(request: Request) -> Response:
    """The organiser reached the person (phone-only registrations): their page shows the meeting point."""
    event = await load_event(request)
    await contact.confirm_by_organiser(registration_id=_registration_id(request), event_id=event.id,
                                       by=request.state.user)
    return back(f"/admin/events/{event.id}/registrations/{_registration_id(request)}", "saved")


@requires(*ORGANISERS)
async def registration_cancel(request: Request) -> Response:
    event = await load_event(request)
    form = await read_form(request)
    if form.get("confirm") != "yes":  # cancelling cannot be undone: the seat may go to someone else at once
        raise errors.ValidationFailed(fields={"confirm": errors.N_("Please confirm the cancellation.")})
    await changes.cancel_registration(event_id=event.id, registration_id=_registration_id(request),
                                         reason=str(form.get("reason") or ""), by=request.state.user)
    return back(f"/admin/events/{event.id}", "cancelled")


@requires(*ORGANISERS)
async def registration_promote(request: Request) -> Response:
    event = await load_event(request)
    form = await read_form(request)
    beyond = form.get("beyond_capacity") == "yes"
    try:
        await changes.promote(event_id=event.id, registration_id=_registration_id(request), by=request.state.user,
                                 beyond_capacity=beyond)
    except errors.NotEnoughSeats:
        return back(f"/admin/events/{event.id}?confirm_promote={_registration_id(request)}#confirm-promote")
    return back(f"/admin/events/{event.id}", "promoted")


@requires(*ORGANISERS)
async def registration_waitlist(request: Request) -> Response:
    """Asks first (who, how many seats, that the seat goes to the next person); moves on `confirm=yes`."""
    event = await load_event(request)
    form = await read_form(request)
    if form.get("confirm") != "yes":
        person = await Registration.get_or_none(id=_registration_id(request), event_id=event.id)
        if person is None:
            raise errors.RegistrationNotFound()
        language = request.state.language
        return page(request, "admin/confirm.html", {
            "event": event, "action": f"/admin/events/{event.id}/registrations/{person.id}/waitlist", "count": 1,
            "question": gettext(language, errors.N_(
                "Move %(name)s back to the end of the waiting list? This affects 1 person with %(seats)d seats; "
                "the seats go to whoever waits longest."), name=person.name, seats=person.seats),
            "button": gettext(language, errors.N_("Yes, back to the waiting list")),
            "confirm_value": "yes", "details": [], "back_url": f"/admin/events/{event.id}#reg-{person.id}"})
    outcome = await changes.move_to_waitlist(event_id=event.id, registration_id=_registration_id(request),
                                                by=request.state.user)
    return back(f"/admin/events/{event.id}", "moved_back" if outcome.waitlist_position else "moved_back_promoted")


@requires(*ORGANISERS)
async def registration_resend(request: Request) -> Response:
    event = await load_event(request)
    message = await changes.resend_mail(event_id=event.id, registration_id=_registration_id(request),
                                           by=request.state.user)
    return back(f"/admin/events/{event.id}", "resent" if message else "no_email")


@requires(*ORGANISERS)
async def message_page(request: Request) -> Response:
    event = await load_event(request)
    counts = await registration.seat_counts(event.id)
    confirmed = await Registration.filter(event_id=event.id, status=RegistrationStatus.CONFIRMED).count()
    return page(request, "admin/message.html", {"event": event, "form": {"group": "confirmed"},
                                                "confirmed": confirmed, "waiting": counts["waitlisted"]})


@requires(*ORGANISERS)
async def message_send(request: Request) -> Response:
    """The first POST shows how many people the message reaches; the confirmed one (`confirm=1`) sends."""
    event = await load_event(request)
    data = admin_forms.form_dict(await read_form(request))
    if data.get("confirm") != "1":
        try:
            subject, body = changes.check_message(group=data.get("group", ""), subject=data.get("subject", ""),
                                                  body=data.get("body", ""))
        except errors.ValidationFailed as exc:
            return page(request, "admin/message.html", {"event": event, "form": data, "confirmed": None,
                                                        "waiting": None, "errors": field_messages(request, exc)},
                        status_code=422)
        reach = await changes.message_audience(event_id=event.id, group=data["group"])
        language = request.state.language
        details = [gettext(language, errors.N_("Subject: %(subject)s"), subject=subject)]
        if reach.phone_only:
            details.append(gettext(language, errors.N_("%(count)d more people have no e-mail address: please phone them."),
                                   count=reach.phone_only))
        return page(request, "admin/confirm.html", {
            "event": event, "action": f"/admin/events/{event.id}/message", "count": reach.by_mail,
            "question": gettext(language, errors.N_("This message goes to %(count)d people by e-mail. Send it?"),
                                count=reach.by_mail),
            "button": gettext(language, errors.N_("Yes, send %(count)d mails"), count=reach.by_mail),
            "hidden": {"group": data["group"], "subject": subject, "body": body}, "details": details,
            "back_url": f"/admin/events/{event.id}/message"})
    try:
        queued = await changes.message_group(event_id=event.id, group=data.get("group", ""),
                                                subject=data.get("subject", ""), body=data.get("body", ""),
                                                by=request.state.user)
    except errors.ValidationFailed as exc:
        return page(request, "admin/message.html", {"event": event, "form": data, "confirmed": None, "waiting": None,
                                                    "errors": field_messages(request, exc)}, status_code=422)
    return back(f"/admin/events/{event.id}?sent={queued}", "message_queued")


def _chosen_ids(form) -> list[int]:
    return sorted({number for v in form.getlist("ids") if (number := parse_id(v)) is not None})


@requires(*ORGANISERS)
async def registrations_bulk(request: Request) -> Response:
    """Many registrations at once: the first POST shows what will happen to how many people, the second
    (with `confirm`) does it. Export and message lead on to their own pages with the chosen people."""
    event = await load_event(request)
    form = await read_form(request, max_fields=1100)
    ids = _chosen_ids(form)
    action = str(form.get("action") or "")
    chosen = await Registration.filter(event_id=event.id, id__in=ids).order_by("name", "id") if ids else []
    problems = {}
    if action not in changes.BULK_ACTIONS:
        problems["action"] = errors.N_("Please choose what to do.")
    if not chosen:
        problems["ids"] = errors.N_("Please tick at least one registration in the list.")
    if problems:
        return back(f"/admin/events/{event.id}", "bulk_nothing_chosen" if "ids" in problems else "bulk_no_action")
    ids = [r.id for r in chosen]
    if form.get("confirm") != "yes":
        return page(request, "admin/bulk_confirm.html", {"event": event, "chosen": chosen, "action": action,
                                                         "ids": ids, "form": {}})
    if action == "confirm":
        outcome = await changes.confirm_many(event_id=event.id, registration_ids=ids, by=request.state.user)
    elif action == "waitlist":
        outcome = await changes.waitlist_many(event_id=event.id, registration_ids=ids, by=request.state.user)
    elif action == "message":
        try:
            done = await changes.message_group(event_id=event.id, group="selected", registration_ids=ids,
                                               subject=str(form.get("subject") or ""), body=str(form.get("body") or ""),
                                               by=request.state.user)
        except errors.ValidationFailed as exc:
            return page(request, "admin/bulk_confirm.html", {
                "event": event, "chosen": chosen, "action": action, "ids": ids,
                "form": {"subject": form.get("subject") or "", "body": form.get("body") or ""},
                "errors": field_messages(request, exc)}, status_code=422)
        outcome = changes.BulkOutcome(done=done, skipped=len(ids) - done)
    else:
        return page(request, "admin/bulk_confirm.html", {"event": event, "chosen": chosen, "action": action,
                                                         "ids": ids, "form": {}})
    return back(f"/admin/events/{event.id}?done_count={outcome.done}&skipped_count={outcome.skipped}", f"bulk_{action}")
