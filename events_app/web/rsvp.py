"""Answering an invitation: `/rsvp` (type the code from the letter), `/rsvp/{token}` (link or QR code),
`/rsvp/{token}/accept-seat` (take a seat offered after waiting) and `POST /api/v1/invitations/{code}/rsvp`.
The code or token is the credential."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from events_app.core import errors, urls
from events_app.seats import events
from events_app.seats.registration import find_by_manage_token
from events_app.receptions import invitations
from events_app.core.errors import N_
from events_app.core.i18n import LANGUAGES, gettext
from events_app.core.wording import format_code
from events_app.core.models import Invitation
from events_app.core.timeutil import utcnow
from events_app.web.requests import client_address, read_form, read_json, throttle
from events_app.web.templating import render
from events_app.core.validation import parse_whole_number


async def find_invitation(request: Request, code: str) -> Invitation:
    """The invitation for a typed code, behind two throttles of wrong codes: per client address and in
    total. The attempt is counted first (so parallel guesses cannot slip through between count and check)
    and given back when the code was right."""
    limits, address = throttle(request), client_address(request)
    await limits.hit("rsvp_address", address)
    try:
        await limits.hit("rsvp_global")
    except errors.TooManyAttempts:
        await limits.give_back("rsvp_address", address)
        raise
    invitation = await invitations.find_by_code(code=code)
    await limits.give_back("rsvp_address", address)
    await limits.give_back("rsvp_global")
    return invitation


def reply_from(data, problems: dict) -> invitations.Reply:
    """Form fields or JSON -> Reply: answer accept|decline, companions, language, needs."""
    answer = str(data.get("answer") or "").strip().lower()
    if answer not in ("accept", "decline"):
        problems["answer"] = N_("Please say whether you will come.")
    raw = data.get("companions")
    companions = 0
    if raw not in (None, ""):
        try:
            companions = parse_whole_number(raw)
        except ValueError:
            problems["companions"] = N_("Please enter a whole number.")
    language = str(data.get("language") or "de")
    needs = data.get("needs") if isinstance(data.get("needs"), dict) else {
        name: data.get(name) for name in invitations.NEEDS}
    phone = data.get("phone")
    return invitations.Reply(accept=answer == "accept", companions=companions, language=language,
                             needs={k: str(v) for k, v in needs.items() if isinstance(v, (str, int)) and v},
                             phone=str(phone) if isinstance(phone, (str, int)) else None)


async def _page(request: Request, invitation: Invitation, *, form=None, field_errors=None, status_code=200,
                message: str | None = None) -> Response:
    event = await events.get_event(invitation.event_id, public=False)
    registration = None
    if invitation.registration_id:
        manage_token = (await invitation.registration).manage_token
        registration = (await find_by_manage_token(manage_token)).registration  # due offers expired first
    return render(request, "rsvp.html", {
        "invitation": invitation, "event": event, "registration": registration,
        "form": form or {"companions": invitation.companions, **(invitation.needs or {}), "phone": invitation.phone,
                         "language": invitation.language if invitation.answered_at else request.state.language},
        "errors": field_errors or {}, "message": message,
        "closed": bool(event.registration_closes_at and event.registration_closes_at <= utcnow()),
        "code": format_code(invitation.code),
        "manage_url": urls.manage_page("", registration.manage_token) if registration else "",
    }, status_code=status_code)


async def code_form(request: Request) -> Response:
    return render(request, "rsvp_code.html", {"form": {}, "errors": {}})


async def code_submit(request: Request) -> Response:
    """The typed code leads to the invitation's page; a wrong one gets a friendly message, then a pause."""
    form = await read_form(request)
    typed = str(form.get("code") or "")
    language = request.state.language
    try:
        invitation = await find_invitation(request, typed)
    except errors.InvitationNotFound as exc:
        return render(request, "rsvp_code.html", {"form": {"code": typed[:40]},
                                                  "errors": {"code": gettext(language, exc.title)}}, status_code=404)
    except errors.TooManyAttempts as exc:
        return render(request, "rsvp_code.html", {"form": {"code": typed[:40]}, "throttled": True,
                                                  "errors": {"code": gettext(language, exc.title)}}, status_code=429)
    return RedirectResponse(urls.rsvp_page("", invitation.token), status_code=303)


async def invitation_page(request: Request) -> Response:
    invitation = await invitations.find_by_invitation_token(request.path_params["token"])
    return await _page(request, invitation, message=request.query_params.get("done"))


async def invitation_answer(request: Request) -> Response:
    invitation = await invitations.find_by_invitation_token(request.path_params["token"])
    form = await read_form(request)
    data = {key: form.get(key) for key in form.keys()}
    if data.get("language") not in LANGUAGES:
        data["language"] = request.state.language
    language = request.state.language
    problems: dict[str, str] = {}
    try:
        reply = reply_from(data, problems)
        if problems:
            raise errors.ValidationFailed(fields=problems, max=invitation.max_companions)
        await invitations.answer(invitation_id=invitation.id, reply=reply)
    except (errors.ValidationFailed, errors.MoreSeatsUnavailable) as exc:
        fields = exc.fields or {"companions": exc.title}
        messages = {k: gettext(language, v, **exc.params) for k, v in fields.items()}
        return await _page(request, invitation, form=data, field_errors=messages, status_code=exc.status)
    return RedirectResponse(urls.rsvp_page("", invitation.token, done="accepted" if reply.accept else "declined"),
                            status_code=303)


async def accept_seat(request: Request) -> Response:
    """POST: the invitee takes the seat offered to them (an expired or missing offer is a 409 page)."""
    invitation = await invitations.find_by_invitation_token(request.path_params["token"])
    await read_form(request)
    await invitations.accept_seat(invitation_id=invitation.id)
    return RedirectResponse(urls.rsvp_page("", invitation.token, done="accepted"), status_code=303)


def invitation_json(invitation: Invitation, *, private: bool, base_url: str) -> dict:
    registration = invitation.registration if invitation.registration_id else None
    body = {
        "id": invitation.id,
        "event_id": invitation.event_id,
        "state": invitation.state.value,
        "companions": invitation.companions,
        "max_companions": invitation.max_companions,
        "language": invitation.language,
        "registration_status": registration.status.value if registration else None,
        "offer_expires_at": (registration.offer_expires_at.isoformat()
                             if registration and registration.offer_expires_at else None),
        "answered_at": invitation.answered_at.isoformat() if invitation.answered_at else None,
    }
    if private:
        body.update({
            "code": invitation.code, "file_number": invitation.file_number, "salutation": invitation.salutation,
            "first_name": invitation.first_name, "last_name": invitation.last_name,
            "birth_date": invitation.birth_date.isoformat() if invitation.birth_date else None,
            "street": invitation.street, "postcode": invitation.postcode, "city": invitation.city,
            "email": invitation.email, "phone": invitation.phone, "needs": invitation.needs,
            "rsvp_url": urls.rsvp_page(base_url, invitation.token),
            "mailed_at": invitation.mailed_at.isoformat() if invitation.mailed_at else None,
            "reminded_at": invitation.reminded_at.isoformat() if invitation.reminded_at else None,
        })
    return body


async def api_rsvp(request: Request) -> Response:
    """POST /api/v1/invitations/{code}/rsvp {answer, companions, language}: throttled like the form."""
    invitation = await find_invitation(request, request.path_params["code"])
    problems: dict[str, str] = {}
    reply = reply_from(await read_json(request), problems)
    if problems:
        raise errors.ValidationFailed(fields=problems)
    invitation = await invitations.answer(invitation_id=invitation.id, reply=reply)
    await invitation.fetch_related("registration")
    return JSONResponse(invitation_json(invitation, private=False, base_url=request.app.state.settings.base_url))
