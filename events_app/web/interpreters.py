"""The interpreter pool in the back office, an event's language needs with their assignments, and the API."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from events_app.core import errors
from events_app.core.languages import ASSISTANCE_LANGUAGES, choices, language_label
from events_app.core.validation import parse_whole_number
from events_app.interpreters import pool
from events_app.web.admin_common import back, field_messages, load_event, page
from events_app.web.admin_auth import ORGANISERS, requires
from events_app.web.auth import api_user
from events_app.web.requests import read_form


def _timezone(request: Request) -> str:
    return request.app.state.settings.timezone


def need_json(need: pool.Need) -> dict:
    interpreter = need.assignment.interpreter if need.assignment else None
    return {"language": need.language, "day": need.day or None, "people": need.people,
            "interpreter": {"id": interpreter.id, "name": interpreter.name} if interpreter else None}


async def api_language_needs(request: Request) -> Response:
    """GET /api/v1/events/{id}/language-needs: [{language, people, interpreter}] (and the day for consultations)."""
    await api_user(request)
    needs = await pool.language_needs(event_id=request.path_params["event_id"], timezone=_timezone(request))
    return JSONResponse([need_json(need) for need in needs])


async def _pool_page(request: Request, *, form: dict | None = None, field_errors: dict | None = None,
                     status_code: int = 200) -> Response:
    language = request.state.language
    return page(request, "admin/interpreters.html", {
        "interpreters": await pool.list_interpreters(), "assistance_choices": choices(language),
        "label": lambda key: language_label(key, language), "form": form or {}, "errors": field_errors or {},
    }, status_code=status_code)


@requires(*ORGANISERS)
async def pool_page(request: Request) -> Response:
    return await _pool_page(request)


async def _read_interpreter(request: Request) -> tuple[dict, pool.InterpreterForm]:
    """The posted form as the template shows it again (ticked languages as a list) and as the pool takes it."""
    form = await read_form(request)
    data = {key: form.get(key) for key in form.keys()}
    data["languages"] = [str(item) for item in form.getlist("languages")]
    languages = [*data["languages"], *str(form.get("languages_other") or "").split(",")]
    return data, pool.InterpreterForm(
        name=str(data.get("name") or ""), email=str(data.get("email") or ""), phone=str(data.get("phone") or ""),
        languages=tuple(languages), note=str(data.get("note") or ""))


@requires(*ORGANISERS)
async def pool_add(request: Request) -> Response:
    data, entry = await _read_interpreter(request)
    try:
        await pool.add_interpreter(by=request.state.user, form=entry)
    except errors.ValidationFailed as exc:
        return await _pool_page(request, form=data, field_errors=field_messages(request, exc), status_code=422)
    return back("/admin/interpreters", "interpreter_saved")


def _entry_form(interpreter) -> dict:
    """The stored entry as the edit form shows it: languages from the list ticked, the others as text."""
    return {"name": interpreter.name, "email": interpreter.email, "phone": interpreter.phone,
            "note": interpreter.note,
            "languages": [key for key in interpreter.languages if key in ASSISTANCE_LANGUAGES],
            "languages_other": ", ".join(key for key in interpreter.languages if key not in ASSISTANCE_LANGUAGES)}


async def _edit_page(request: Request, interpreter, *, form: dict, field_errors: dict | None = None,
                     status_code: int = 200) -> Response:
    return page(request, "admin/interpreter_edit.html", {
        "interpreter": interpreter, "assistance_choices": choices(request.state.language), "form": form,
        "errors": field_errors or {}}, status_code=status_code)


@requires(*ORGANISERS)
async def pool_edit_page(request: Request) -> Response:
    interpreter = await pool.get_interpreter(interpreter_id=request.path_params["interpreter_id"])
    return await _edit_page(request, interpreter, form=_entry_form(interpreter))


@requires(*ORGANISERS)
async def pool_edit(request: Request) -> Response:
    interpreter_id = request.path_params["interpreter_id"]
    data, entry = await _read_interpreter(request)
    try:
        await pool.change_interpreter(interpreter_id=interpreter_id, form=entry, by=request.state.user)
    except errors.ValidationFailed as exc:
        interpreter = await pool.get_interpreter(interpreter_id=interpreter_id)
        return await _edit_page(request, interpreter, form=data, field_errors=field_messages(request, exc),
                                status_code=422)
    return back("/admin/interpreters", "interpreter_saved")


@requires(*ORGANISERS)
async def pool_remove(request: Request) -> Response:
    await pool.remove_interpreter(interpreter_id=request.path_params["interpreter_id"], by=request.state.user)
    return back("/admin/interpreters", "interpreter_removed")


async def _needs_page(request: Request, *, field_errors: dict | None = None, status_code: int = 200) -> Response:
    event = await load_event(request)
    language = request.state.language
    needs = await pool.language_needs(event_id=event.id, timezone=_timezone(request))
    interpreters = await pool.list_interpreters()
    return page(request, "admin/language_needs.html", {
        "event": event, "needs": needs, "label": lambda key: language_label(key, language),
        "speakers": lambda key: [i for i in interpreters if key in i.languages], "interpreters": interpreters,
        "errors": field_errors or {},
    }, status_code=status_code)


@requires(*ORGANISERS)
async def needs_page(request: Request) -> Response:
    return await _needs_page(request)


@requires(*ORGANISERS)
async def needs_assign(request: Request) -> Response:
    event = await load_event(request)
    form = await read_form(request)
    try:
        try:
            interpreter_id = parse_whole_number(form.get("interpreter") or "")
        except ValueError as exc:
            raise errors.ValidationFailed(fields={"interpreter": str(exc)}) from None
        await pool.assign(event_id=event.id, language=str(form.get("language") or ""),
                          day=pool.parse_day(str(form.get("day") or "")), interpreter_id=interpreter_id,
                          share_names=form.get("share_names") == "on", by=request.state.user,
                          timezone=_timezone(request))
    except errors.ValidationFailed as exc:
        return await _needs_page(request, field_errors=field_messages(request, exc), status_code=422)
    return back(f"/admin/events/{event.id}/language-needs", "interpreter_assigned")
