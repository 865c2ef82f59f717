"""Back-office HTML pages under /admin: sign-in, dashboard, events, registrations, exports, check-in,
users, tokens, audit log and settings. Handlers parse, call one domain function, render or redirect
(POST -> 303)."""

from __future__ import annotations

from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from events_app.backoffice import accounts, changes, exports
from events_app.core import audit, errors, qr
from events_app.courses import checkin
from events_app.calendar import feeds
from events_app.seats import registration
from events_app.core.settings import describe
from events_app.core.i18n import LANGUAGES, gettext
from events_app.core.models import Audience, DoorAssignment, Event, EventKind, Registration, RegistrationStatus, Role, User, Visibility
from events_app.web import admin_forms
from events_app.web.admin_auth import ADMINS, EVERYONE, LOGIN_CSRF_COOKIE, ORGANISERS, SESSION_COOKIE, client_key, cookie_options, new_login_csrf, requires, same_token, throttle
from events_app.web.forms import applicant_from
from events_app.web.requests import read_form
from events_app.web.templating import render
from events_app.core.validation import parse_id, parse_whole_number

S = RegistrationStatus


def page(request: Request, template: str, context: dict | None = None, *, status_code: int = 200) -> Response:
    login = getattr(request.state, "login", None)
    full = {"user": getattr(request.state, "user", None), "csrf_token": login.csrf_token if login else "",
            "done": request.query_params.get("done", ""), "errors": {}, "form": {}, **(context or {})}
    return render(request, template, full, status_code=status_code,
                  headers={"cache-control": "no-store"})


def back(url: str, done: str = "") -> RedirectResponse:
    if done:
        url += ("&" if "?" in url else "?") + urlencode({"done": done})
    return RedirectResponse(url, status_code=303)


def field_messages(request: Request, exc: errors.ValidationFailed) -> dict[str, str]:
    return {k: gettext(request.state.language, v, **exc.params) for k, v in exc.fields.items()}


def _tz(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.timezone)


def _home_for(user: User) -> str:
    return "/admin/checkin" if user.role == Role.DOOR else "/admin"


def safe_next(target: str | None) -> str | None:
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return None


async def load_event(request: Request) -> Event:
    """The event of the URL with its dates and questions, drafts included."""
    event = await Event.get_or_none(id=request.path_params["event_id"]).prefetch_related("sessions", "questions")
    if event is None:
        raise errors.EventNotFound()
    return event


# ---------------------------------------------------------------- sign-in

async def login_page(request: Request, *, error: str = "", status_code: int = 200, email: str = "") -> Response:
    login = await accounts.session_for(request.cookies.get(SESSION_COOKIE, ""))
    if login is not None and not error:
        return back(safe_next(request.query_params.get("next")) or _home_for(login.user))
    existing = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    token = existing if 20 <= len(existing) <= 64 else new_login_csrf()  # a second open tab keeps working
    response = page(request, "admin/login.html", {"login_csrf": token, "error": error, "email": email,
                                                  "next": request.query_params.get("next", "")},
                    status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, **cookie_options(request))
    return response


async def login_submit(request: Request) -> Response:
    form = await read_form(request)
    if not same_token(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise errors.CsrfFailed()
    email = str(form.get("email") or "")
    try:
        throttle(request).hit(client_key(request))
        user = await accounts.authenticate(email=email, password=str(form.get("password") or ""))
    except (errors.LoginFailed, errors.TooManyAttempts) as exc:
        return await login_page(request, error=gettext(request.state.language, exc.title), status_code=exc.status,
                                email=email)
    token, _ = await accounts.start_session(user=user)
    await audit.record("user.signed_in", user=user)
    response = back(safe_next(str(form.get("next") or "")) or _home_for(user))
    response.set_cookie(SESSION_COOKIE, token, max_age=accounts.SESSION_HOURS * 3600, **cookie_options(request))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@requires(*EVERYONE)
async def logout(request: Request) -> Response:
    await accounts.end_session(request.cookies.get(SESSION_COOKIE, ""))
    await audit.record("user.signed_out", user=request.state.user)
    response = back("/admin/login", "signed_out")
    options = cookie_options(request)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=options["secure"], httponly=True, samesite="lax")
    return response


async def _account(request: Request, context: dict | None = None, *, status_code: int = 200) -> Response:
    tokens = await feeds.list_feed_tokens(user_id=request.state.user.id)
    return page(request, "admin/account.html", {"feed_tokens": tokens, **(context or {})}, status_code=status_code)


@requires(*EVERYONE)
async def account_page(request: Request) -> Response:
    return await _account(request)


@requires(*EVERYONE)
async def feed_create(request: Request) -> Response:
    """A private calendar address; its secret is shown on this answer only (only its hash is kept)."""
    created = await feeds.create_feed_token(user_id=request.state.user.id)
    await audit.record("feed.created", user=request.state.user, token_id=created.record.id)
    return await _account(request, {"new_feed_path": created.path(), "done": "feed_created"})


@requires(*EVERYONE)
async def feed_revoke(request: Request) -> Response:
    await feeds.revoke_feed_token(token_id=request.path_params["token_id"], user_id=request.state.user.id)
    await audit.record("feed.revoked", user=request.state.user, token_id=request.path_params["token_id"])
    return back("/admin/account", "feed_revoked")


@requires(*EVERYONE)
async def change_password(request: Request) -> Response:
    form = await read_form(request)
    user = request.state.user
    try:
        if form.get("new") != form.get("repeat"):
            raise errors.ValidationFailed(fields={"repeat": errors.N_("The two new passwords differ.")})
        await accounts.change_password(user_id=user.id, current=str(form.get("current") or ""),
                                       new=str(form.get("new") or ""))
    except errors.ValidationFailed as exc:
        return await _account(request, {"errors": field_messages(request, exc)}, status_code=422)
    await accounts.end_other_sessions(user_id=user.id, keep_token=request.cookies.get(SESSION_COOKIE, ""))
    await audit.record("user.password_changed", user=user)
    return back("/admin/account", "password_changed")


# ---------------------------------------------------------------- dashboard and events

@requires(*ORGANISERS)
async def dashboard(request: Request) -> Response:
    return page(request, "admin/dashboard.html", {"upcoming": await changes.upcoming(),
                                                   **await changes.attention()})


@requires(*ORGANISERS)
async def event_list(request: Request) -> Response:
    listed = await Event.all().prefetch_related("sessions").order_by("-id")
    return page(request, "admin/events.html", {"summaries": [await changes.summarise(e) for e in listed]})


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
    return back(f"/admin/events/{event.id}", "event_cancelled")


@requires(*ORGANISERS)
async def event_delete(request: Request) -> Response:
    event = await load_event(request)
    await changes.delete_draft(event_id=event.id, by=request.state.user)
    return back("/admin/events", "deleted")


# ---------------------------------------------------------------- registrations

@requires(*ORGANISERS)
async def event_detail(request: Request) -> Response:
    event = await load_event(request)
    q = request.query_params
    status = q.get("status", "") if q.get("status", "") in {s.value for s in S} else ""
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
    waiting = sorted((r for r in await Registration.filter(event_id=event.id, status=S.WAITLISTED)),
                     key=lambda r: positions.get(r.id, 0))
    return page(request, "admin/event_detail.html", {
        "event": event, "summary": await changes.summarise(event), "registrations": shown, "found": len(found),
        "page_number": page_number, "pages": pages,
        "positions": positions, "waiting": waiting, "statuses": list(S),
        "filters": {"status": status, "language": language, "q": q.get("q", ""), "answer_key": answer_key,
                    "answer_value": q.get("answer_value", "")},
        "confirm_promote": q.get("confirm_promote", "") if q.get("confirm_promote", "").isdigit() else "",
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
    link = checkin.checkin_link(base_url=request.app.state.settings.base_url, registration=found)
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
    event = await load_event(request)
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
    confirmed = await Registration.filter(event_id=event.id, status=S.CONFIRMED).count()
    return page(request, "admin/message.html", {"event": event, "form": {"group": "confirmed"},
                                                "confirmed": confirmed, "waiting": counts["waitlisted"]})


@requires(*ORGANISERS)
async def message_send(request: Request) -> Response:
    event = await load_event(request)
    data = admin_forms.form_dict(await read_form(request))
    try:
        queued = await changes.message_group(event_id=event.id, group=data.get("group", ""),
                                                subject=data.get("subject", ""), body=data.get("body", ""),
                                                by=request.state.user)
    except errors.ValidationFailed as exc:
        return page(request, "admin/message.html", {"event": event, "form": data, "confirmed": None, "waiting": None,
                                                    "errors": field_messages(request, exc)}, status_code=422)
    return back(f"/admin/events/{event.id}?sent={queued}", "message_queued")


# ---------------------------------------------------------------- exports

@requires(*ORGANISERS)
async def export_page(request: Request) -> Response:
    event = await load_event(request)
    return page(request, "admin/export.html", {"event": event, "columns": exports.available_columns(event),
                                               "defaults": exports.default_columns(event),
                                               "field_columns": exports.FIELD_COLUMNS})


async def export_response(request: Request, event: Event, fmt: str, user: User) -> Response:
    """One file for the admin page and the API alike; every download is audited."""
    if fmt not in exports.FORMATS:
        raise errors.NotFound()
    layout = request.query_params.get("layout", "attendees")
    if layout not in exports.LAYOUTS:
        raise errors.ValidationFailed(fields={"layout": errors.N_("This value is not one of the allowed options.")})
    requested = [c for value in request.query_params.getlist("columns") for c in value.split(",") if c]
    columns = exports.chosen_columns(event, requested)
    language = request.state.language
    settings = request.app.state.settings
    await audit.record("export.downloaded", user=user, event_id=event.id, format=fmt, layout=layout, columns=columns)
    name = exports.filename(event, layout, fmt)
    disposition = {"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"}
    if fmt == "csv":
        return StreamingResponse(exports.stream_csv(event, layout=layout, columns=columns, language=language,
                                                    timezone=settings.timezone),
                                 media_type="text/csv; charset=utf-8", headers=disposition)
    table = await exports.build_table(event, layout=layout, columns=columns, language=language,
                                      timezone=settings.timezone, sheet_per_status=(fmt == "xlsx"))
    if fmt == "xlsx":
        return Response(await exports.xlsx_bytes(table), headers=disposition,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(await exports.pdf_bytes(table, settings=settings), media_type="application/pdf",
                    headers=disposition)


@requires(*ORGANISERS)
async def export_download(request: Request) -> Response:
    return await export_response(request, await load_event(request), request.path_params["fmt"], request.state.user)


# ---------------------------------------------------------------- users, tokens, audit

@requires(*ADMINS)
async def users_page(request: Request, *, form: dict | None = None, errors_: dict | None = None,
                     status_code: int = 200) -> Response:
    users = await User.all().order_by("email")
    return page(request, "admin/users.html", {"users": users, "roles": list(Role), "form": form or {"role": "organiser"},
                                              "errors": errors_ or {}}, status_code=status_code)


@requires(*ADMINS)
async def user_create(request: Request) -> Response:
    data = admin_forms.form_dict(await read_form(request))
    try:
        try:
            role = Role(data.get("role"))
        except ValueError:
            raise errors.ValidationFailed(fields={"role": errors.N_("This value is not one of the allowed options.")}) from None
        user = await accounts.create_user(email=data.get("email", ""), role=role, password=data.get("password", ""),
                                          name=data.get("name", "").strip()[:200])
    except errors.ValidationFailed as exc:
        data.pop("password", None)
        return await users_page.__wrapped__(request, form=data, errors_=field_messages(request, exc), status_code=422)
    await audit.record("user.created", user=request.state.user, new_user_id=user.id, role=role.value)
    return back("/admin/users", "user_created")


@requires(*ADMINS)
async def user_unlock(request: Request) -> Response:
    await accounts.unlock(user_id=request.path_params["user_id"])
    await audit.record("user.unlocked", user=request.state.user, target_user_id=request.path_params["user_id"])
    return back("/admin/users", "unlocked")


@requires(*ADMINS)
async def user_active(request: Request) -> Response:
    form = await read_form(request)
    active = form.get("active") == "yes"
    user = await accounts.set_active(user_id=request.path_params["user_id"], active=active, by=request.state.user)
    await audit.record("user.activated" if active else "user.deactivated", user=request.state.user,
                       target_user_id=user.id)
    return back("/admin/users", "saved")


@requires(*ADMINS)
async def user_role(request: Request) -> Response:
    form = await read_form(request)
    try:
        role = Role(form.get("role"))
    except ValueError:
        raise errors.ValidationFailed(fields={"role": errors.N_("This value is not one of the allowed options.")}) from None
    user = await accounts.set_role(user_id=request.path_params["user_id"], role=role, by=request.state.user)
    await audit.record("user.role_changed", user=request.state.user, target_user_id=user.id, role=role.value)
    return back("/admin/users", "saved")


@requires(*ORGANISERS)
async def tokens_page(request: Request) -> Response:
    return page(request, "admin/tokens.html", {"tokens": await accounts.tokens_of(user=request.state.user)})


@requires(*ORGANISERS)
async def token_create(request: Request) -> Response:
    form = await read_form(request)
    user = request.state.user
    token = await accounts.create_api_token(email=user.email, label=str(form.get("label") or "")[:100])
    await audit.record("token.created", user=user)
    return page(request, "admin/tokens.html", {"tokens": await accounts.tokens_of(user=user), "new_token": token})


@requires(*ORGANISERS)
async def token_revoke(request: Request) -> Response:
    record = await accounts.revoke_token(token_id=request.path_params["token_id"], by=request.state.user)
    await audit.record("token.revoked", user=request.state.user, token_id=record.id)
    return back("/admin/tokens", "revoked")


@requires(*ADMINS)
async def audit_page(request: Request) -> Response:
    return page(request, "admin/audit.html", {"entries": await audit.recent(limit=300)})


@requires(*ADMINS)
async def settings_page(request: Request) -> Response:
    """Read-only: settings come from environment variables, so changing them is the operator's job."""
    return page(request, "admin/settings.html", {"rows": describe(request.app.state.settings)})

