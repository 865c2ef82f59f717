"""Global Village partners: the public application form, the partner's own page (withdraw), the API and the
back office (decisions, number of stands, stand numbers, the lists for the site plan)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from events_app.backoffice import exports
from events_app.core import audit, errors, i18n, urls
from events_app.core.models import PartnerApplication, PartnerStatus
from events_app.core.validation import parse_whole_number
from events_app.festival import partners
from events_app.web.admin_common import back, field_messages, page
from events_app.web.admin_auth import ORGANISERS, requires
from events_app.web.auth import api_user
from events_app.web.pages import localized
from events_app.web.requests import read_form, read_json
from events_app.web.templating import render
from events_app.core.validation import parse_id

#: Status names as the lists show them.
STATUS_LABELS = {
    PartnerStatus.PENDING: errors.N_("pending"),
    PartnerStatus.ACCEPTED: errors.N_("accepted"),
    PartnerStatus.WAITING: errors.N_("accepted, waiting for a stand"),
    PartnerStatus.DECLINED: errors.N_("declined"),
    PartnerStatus.WITHDRAWN: errors.N_("withdrawn"),
}


def _base_url(request: Request) -> str:
    return request.app.state.settings.base_url


def form_from(data: dict, language: str) -> partners.PartnerForm:
    """Form fields or JSON: needs as booleans (form: checkboxes need_<key>), languages as a list or comma text."""
    raw_languages = data.get("languages") or []
    if isinstance(raw_languages, str):
        raw_languages = raw_languages.split(",")
    if not isinstance(raw_languages, list):
        raise errors.ValidationFailed(fields={"languages": errors.N_("Please list the languages as text.")})
    needs = data.get("needs")
    if needs is None:
        needs = {key: data.get(f"need_{key}") in ("on", "1", "true") for key in partners.NEEDS}
        needs["other"] = data.get("need_other") or ""
    if not isinstance(needs, dict):
        raise errors.ValidationFailed(fields={"needs": errors.N_("Please give the needs as an object.")})
    answers = data.get("answers")
    if answers is None:
        answers = {key[2:]: value for key, value in data.items() if key.startswith("q_")}
    if not isinstance(answers, dict):
        raise errors.ValidationFailed(fields={"answers": errors.N_("Please give the answers as an object.")})
    return partners.PartnerForm(
        organisation=str(data.get("organisation") or ""), contact_name=str(data.get("contact_name") or ""),
        email=str(data.get("email") or ""), phone=str(data.get("phone") or ""),
        language=str(data.get("language") or language), presents=str(data.get("presents") or ""),
        languages=tuple(str(item) for item in raw_languages), needs=needs, answers=answers)


def partner_json(partner: PartnerApplication, *, base_url: str, private: bool, position: int | None = None) -> dict:
    body = {"id": partner.id, "status": partner.status.value}
    if private:
        body.update({"organisation": partner.organisation, "contact_name": partner.contact_name,
                     "email": partner.email, "phone": partner.phone, "language": partner.language,
                     "presents": partner.presents, "languages": partner.languages, "needs": partner.needs,
                     "answers": partner.answers, "stand_number": partner.stand_number, "reason": partner.reason,
                     "waiting_position": position, "created_at": partner.created_at.isoformat()})
    else:
        body["manage_url"] = urls.partner_page(base_url, partner.manage_token)
    return body


# --- public ---


async def _form_page(request: Request, event, *, form=None, field_errors=None, status_code=200) -> Response:
    return render(request, "partner_form.html", {
        "event": event, "questions": partners.partner_questions(event), "text": localized(event, request.state.language), "form": form or {},
        "errors": field_errors or {}, "needs": partners.NEEDS,
        "page_path": urls.partner_application_form("", event.id),
    }, status_code=status_code)


async def apply_page(request: Request) -> Response:
    event = await partners.festival(request.path_params["event_id"], public=True)
    return await _form_page(request, event)


async def apply_submit(request: Request) -> Response:
    event = await partners.festival(request.path_params["event_id"], public=True)
    form = await read_form(request)
    data = {key: form.get(key) for key in form.keys()}
    try:
        partner = await partners.apply(event_id=event.id, form=form_from(data, request.state.language))
    except errors.ValidationFailed as exc:
        return await _form_page(request, event, form=data, field_errors=field_messages(request, exc),
                                status_code=422)
    return RedirectResponse(urls.partner_page("", partner.manage_token, new="1"), status_code=303)


async def partner_page(request: Request, *, withdrawn_now: bool = False) -> Response:
    partner = await partners.find_by_partner_token(request.path_params["token"])
    positions = await partners.waiting_positions(partner.event_id)
    return render(request, "partner.html", {
        "partner": partner, "event": partner.event, "text": localized(partner.event, request.state.language),
        "status_label": STATUS_LABELS[partner.status], "position": positions.get(partner.id),
        "needs": partners.needs_text(partner, request.state.language),
        "new": request.query_params.get("new") == "1", "withdrawn_now": withdrawn_now,
    }, headers={"cache-control": "no-store"})


async def partner_withdraw(request: Request) -> Response:
    await partners.withdraw(token=request.path_params["token"])
    return await partner_page(request, withdrawn_now=True)


# --- API ---


async def api_apply(request: Request) -> Response:
    """POST /api/v1/events/{id}/partners: 201 {"id", "status": "pending", "manage_url"}."""
    data = await read_json(request)
    partner = await partners.apply(event_id=request.path_params["event_id"],
                                   form=form_from(data, request.state.language))
    return JSONResponse(partner_json(partner, base_url=_base_url(request), private=False), status_code=201)


async def api_list(request: Request) -> Response:
    user = await api_user(request)
    event = await partners.festival(request.path_params["event_id"], public=False)
    positions = await partners.waiting_positions(event.id)
    await audit.record("export.downloaded", user=user, event_id=event.id, format="json", layout="partners")
    return JSONResponse([partner_json(p, base_url=_base_url(request), private=True, position=positions.get(p.id))
                         for p in await partners.list_partners(event.id)])


async def api_decision(request: Request) -> Response:
    """POST /api/v1/partners/{id}/decision {"decision": "accept"|"decline"|"pending", "reason"}."""
    user = await api_user(request)
    data = await read_json(request)
    partner = await partners.decide(partner_id=request.path_params["partner_id"],
                                    decision=str(data.get("decision") or ""), reason=str(data.get("reason") or ""),
                                    by=user)
    positions = await partners.waiting_positions(partner.event_id)
    return JSONResponse(partner_json(partner, base_url=_base_url(request), private=True,
                                     position=positions.get(partner.id)))


async def partner_file(request: Request, event, fmt: str, user) -> Response:
    """partners.xlsx / partners.pdf: organisation, contact, needs, stand number; accepted first, then waiting."""
    if fmt not in ("xlsx", "pdf"):
        raise errors.NotFound()
    language = request.state.language
    t = lambda message: i18n.gettext(language, message)  # noqa: E731
    headings = [t(errors.N_("Stand")), t(errors.N_("Organisation")), t(errors.N_("Contact person")),
                t(errors.N_("E-mail address")), t(errors.N_("Phone number")), t(errors.N_("What they present")),
                t(errors.N_("Needs")), t(errors.N_("Status"))]
    order = {PartnerStatus.ACCEPTED: 0, PartnerStatus.WAITING: 1}
    listed = sorted((p for p in await partners.list_partners(event.id) if p.status in order),
                    key=lambda p: (order[p.status], p.stand_number == "", p.stand_number, p.queued_at or p.created_at, p.id))
    rows = [[exports.neutralise(cell) for cell in (
        p.stand_number, p.organisation, p.contact_name, p.email, p.phone, p.presents,
        partners.needs_text(p, language), t(STATUS_LABELS[p.status]))] for p in listed]
    table = exports.Table(event=event, layout="partners", headings=headings, language=language,
                          sheets=[exports.Sheet(title=t(errors.N_("Partners")), rows=rows)], total_people=len(rows))
    await audit.record("export.downloaded", user=user, event_id=event.id, format=fmt, layout="partners")
    if fmt == "xlsx":
        body = await exports.xlsx_bytes(table)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = await exports.pdf_bytes(table, settings=request.app.state.settings)
        media = "application/pdf"
    return Response(body, media_type=media, headers={
        "content-disposition": f'attachment; filename="{exports.filename(event, "partners", fmt)}"',
        "cache-control": "no-store"})


async def api_partner_file(request: Request) -> Response:
    user = await api_user(request)
    event = await partners.festival(request.path_params["event_id"], public=False)
    await event.fetch_related("sessions")
    return await partner_file(request, event, request.path_params["fmt"], user)


# --- back office ---


async def _admin_event(request: Request):
    """The festival of the URL; another kind of event has no partner pages (404, like any page that is not there)."""
    try:
        event = await partners.festival(request.path_params["event_id"], public=False)
    except errors.NotFestival:
        raise errors.NotFound() from None
    await event.fetch_related("sessions")
    return event


@requires(*ORGANISERS)
async def admin_page(request: Request, *, field_errors: dict | None = None, status_code: int = 200) -> Response:
    event = await _admin_event(request)
    listed = await partners.list_partners(event.id)
    return page(request, "admin/partners.html", {
        "event": event, "partners": listed, "positions": await partners.waiting_positions(event.id),
        "status_labels": STATUS_LABELS, "needs_text": lambda p: partners.needs_text(p, request.state.language),
        "errors": field_errors or {},
    }, status_code=status_code)


@requires(*ORGANISERS)
async def admin_decision(request: Request) -> Response:
    event = await _admin_event(request)
    form = await read_form(request)
    partner = await PartnerApplication.get_or_none(id=request.path_params["partner_id"], event_id=event.id)
    if partner is None:
        raise errors.PartnerNotFound()
    try:
        await partners.decide(partner_id=partner.id, decision=str(form.get("decision") or ""),
                              reason=str(form.get("reason") or ""), by=request.state.user)
    except errors.ValidationFailed as exc:
        return await admin_page.__wrapped__(request, field_errors=field_messages(request, exc), status_code=422)
    return back(f"/admin/events/{event.id}/partners", "partner_decided")


@requires(*ORGANISERS)
async def admin_stands(request: Request) -> Response:
    event = await _admin_event(request)
    form = await read_form(request)
    try:
        try:
            stands = parse_whole_number(form.get("stands") or "")
        except ValueError as exc:
            raise errors.ValidationFailed(fields={"stands": str(exc)}) from None
        if stands < 0:
            raise errors.ValidationFailed(fields={"stands": errors.N_("The number cannot be negative.")})
        await partners.set_stands(event_id=event.id, stands=stands, by=request.state.user)
    except errors.ValidationFailed as exc:
        return await admin_page.__wrapped__(request, field_errors=field_messages(request, exc), status_code=422)
    return back(f"/admin/events/{event.id}/partners", "stands_saved")


@requires(*ORGANISERS)
async def admin_numbers(request: Request) -> Response:
    event = await _admin_event(request)
    form = await read_form(request)
    numbers = {}
    for key in form.keys():
        if key.startswith("stand_") and (partner_id := parse_id(key[6:])) is not None:
            numbers[partner_id] = str(form.get(key) or "")
    await partners.assign_stand_numbers(event_id=event.id, numbers=numbers, by=request.state.user)
    return back(f"/admin/events/{event.id}/partners", "stand_saved")


@requires(*ORGANISERS)
async def admin_file(request: Request) -> Response:
    event = await _admin_event(request)
    return await partner_file(request, event, request.path_params["fmt"], request.state.user)
