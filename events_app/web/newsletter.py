"""Subscribing, confirming and leaving (public), and the newsletter in the back office."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from events_app.core import errors, urls
from events_app.core.i18n import LANGUAGES, gettext
from events_app.core.models import User
from events_app.mail.content import render_parts
from events_app.newsletter import sending, subscriptions
from events_app.newsletter.export import subscribers_csv as build_subscribers_csv
from events_app.web.admin_auth import ADMINS, ORGANISERS, requires
from events_app.web.admin_common import back, field_messages, page
from events_app.web.requests import read_body, read_form, read_json
from events_app.web.templating import render

#: The body of an RFC 8058 one-click unsubscribe, sent by mail programs without showing a page.
ONE_CLICK = b"List-Unsubscribe=One-Click"


def _staff_domains(request: Request) -> tuple[str, ...]:
    return tuple(request.app.state.settings.staff_domains)


def _subscribe_page(request: Request, *, form: dict | None = None, field_errors: dict | None = None,
                    status_code: int = 200) -> Response:
    return render(request, "subscribe.html", {
        "kinds": subscriptions.SUBSCRIBABLE_KINDS, "form": form or {}, "errors": field_errors or {},
        "page_path": "/subscribe"}, status_code=status_code)


async def subscribe_page(request: Request) -> Response:
    kind = request.query_params.get("kind")
    form = {"kinds": [kind] if kind in subscriptions.SUBSCRIBABLE_KINDS else [], "newsletter": kind is None}
    return _subscribe_page(request, form=form)


async def subscribe_form(request: Request) -> Response:
    """The form on the home page, every event page and /subscribe: the same answer for every address."""
    form = await read_form(request)
    data = {"email": str(form.get("email") or ""), "kinds": [k for k in form.getlist("kinds") if isinstance(k, str)],
            "newsletter": form.get("newsletter") in ("1", "on", "yes"),
            "language": str(form.get("language") or request.state.language)}
    try:
        checked = subscriptions.check_request(email=data["email"], kinds=data["kinds"], newsletter=data["newsletter"],
                                              language=data["language"], staff_domains=_staff_domains(request))
    except errors.ValidationFailed as exc:
        messages = {k: gettext(request.state.language, v, **exc.params) for k, v in exc.fields.items()}
        return _subscribe_page(request, form=data, field_errors=messages, status_code=422)
    await subscriptions.request_subscription(request=checked, source="form")
    return render(request, "subscribe_sent.html", {"email": checked.email})


async def api_subscribe(request: Request) -> Response:
    """POST /api/v1/subscriptions: 202 whether or not the address is known."""
    data = await read_json(request)
    checked = subscriptions.check_request(email=data.get("email"), kinds=data.get("kinds", []),
                                          newsletter=data.get("newsletter", False), language=data.get("language"),
                                          staff_domains=_staff_domains(request))
    await subscriptions.request_subscription(request=checked, source="api")
    return JSONResponse({"status": "accepted", "detail": gettext(
        request.state.language, "If this address can receive mail, a confirmation link is on its way. "
        "Nothing else is sent until it is followed.")}, status_code=202)


async def confirm_page(request: Request) -> Response:
    """GET shows a button and changes nothing: mail scanners that open links do not confirm."""
    subscription = await subscriptions.find_by_subscription_token(request.path_params["token"])
    asked = subscription.pending or {}
    return render(request, "subscription_confirm.html", {
        "subscription": subscription, "asked": asked, "already": not asked and subscription.confirmed_at is not None,
        "token": request.path_params["token"]})


async def confirm_submit(request: Request) -> Response:
    await read_form(request)
    subscription = await subscriptions.confirm(token=request.path_params["token"])
    return render(request, "subscription_confirmed.html", {"subscription": subscription})


async def unsubscribe_page(request: Request) -> Response:
    subscription = await subscriptions.find_by_subscription_token(request.path_params["token"])
    return render(request, "unsubscribe.html", {"subscription": subscription, "token": request.path_params["token"]})


async def unsubscribe_submit(request: Request) -> Response:
    """The one-click POST of a mail program (RFC 8058), or the page's form keeping some kinds."""
    token = request.path_params["token"]
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = await read_body(request)
        if body.strip() == ONE_CLICK:
            await subscriptions.unsubscribe(token=token)
            return PlainTextResponse(gettext(request.state.language, "You are unsubscribed. Your address was deleted."))
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=20)
    else:
        form = await read_form(request)
        fields = {key: form.getlist(key) for key in form.keys()}
    keep = [k for k in fields.get("keep", []) if k in subscriptions.SUBSCRIBABLE_KINDS]
    deleted = await subscriptions.unsubscribe(token=token, keep_kinds=keep,
                                              keep_newsletter="newsletter" in fields.get("keep", []))
    return render(request, "unsubscribed.html", {"deleted": deleted, "token": token})


async def follow_up(request: Request) -> Response:
    """From the personal page: hear about the next date after waiting in vain (opt-in)."""
    await read_form(request)
    token = request.path_params["token"]
    await subscriptions.subscribe_after_waiting(manage_token=token)
    return back(urls.manage_page("", token), "subscribed")


# --- back office ---------------------------------------------------------------------------------


def _texts_from(data: dict) -> dict:
    return {language: {"subject": data.get(f"subject_{language}", ""), "body": data.get(f"body_{language}", "")}
            for language in LANGUAGES}


@requires(*ORGANISERS)
async def newsletter_overview(request: Request, *, form: dict | None = None, field_errors: dict | None = None,
                              status_code: int = 200) -> Response:
    return page(request, "admin/newsletter.html", {
        "counts": await subscriptions.counts(), "kinds": subscriptions.SUBSCRIBABLE_KINDS,
        "newsletters": await sending.list_newsletters(), "form": form or {}, "errors": field_errors or {},
        "languages": LANGUAGES}, status_code=status_code)


@requires(*ORGANISERS)
async def newsletter_save(request: Request) -> Response:
    form = await read_form(request, max_fields=40)
    data = {key: str(form.get(key) or "") for key in form.keys()}
    newsletter_id = request.path_params.get("newsletter_id")
    try:
        newsletter = await sending.save_newsletter(texts=_texts_from(data), by=request.state.user,
                                                   newsletter_id=newsletter_id)
    except errors.ValidationFailed as exc:
        if newsletter_id is None:
            return await newsletter_overview.__wrapped__(request, form=data, field_errors=field_messages(request, exc),
                                                         status_code=422)
        return await _newsletter_page(request, newsletter_id, form=data, field_errors=field_messages(request, exc),
                                      status_code=422)
    return back(f"/admin/newsletter/{newsletter.id}", "saved")


async def _newsletter_page(request: Request, newsletter_id: int, *, form: dict | None = None,
                           field_errors: dict | None = None, status_code: int = 200) -> Response:
    newsletter = await sending.get_newsletter(newsletter_id)
    shown = form or {f"{part}_{language}": text.get(part, "") for language, text in newsletter.texts.items()
                     for part in ("subject", "body")}
    previews = {}
    for language in newsletter.texts:
        subject, text, _html = render_parts("newsletter", language, request.app.state.settings, {
            "kind": "newsletter", "language": language, "test": True, "unsubscribe_url": "",
            "newsletter_subject": newsletter.texts[language]["subject"],
            "newsletter_body": newsletter.texts[language]["body"]})
        previews[language] = {"subject": subject, "text": text}
    return page(request, "admin/newsletter_detail.html", {
        "newsletter": newsletter, "recipients": await sending.recipients_count(), "form": shown,
        "previews": previews,
        "errors": field_errors or {}, "languages": LANGUAGES}, status_code=status_code)


@requires(*ORGANISERS)
async def newsletter_detail(request: Request) -> Response:
    return await _newsletter_page(request, request.path_params["newsletter_id"])


@requires(*ORGANISERS)
async def newsletter_test(request: Request) -> Response:
    await read_form(request)
    newsletter_id = request.path_params["newsletter_id"]
    await sending.send_test(newsletter_id=newsletter_id, to=request.state.user)
    return back(f"/admin/newsletter/{newsletter_id}", "newsletter_test_queued")


@requires(*ORGANISERS)
async def newsletter_send(request: Request) -> Response:
    """Sending needs the confirmation box that names how many people it reaches."""
    form = await read_form(request)
    newsletter_id = request.path_params["newsletter_id"]
    if form.get("confirm") != "yes":
        return await _newsletter_page(request, newsletter_id, field_errors={"confirm": gettext(
            request.state.language, "Please tick the box to confirm sending.")}, status_code=422)
    await sending.send_newsletter(newsletter_id=newsletter_id, by=request.state.user)
    return back(f"/admin/newsletter/{newsletter_id}", "newsletter_sent")


@requires(*ADMINS)
async def subscribers_page(request: Request) -> Response:
    return page(request, "admin/subscribers.html", {"subscribers": await subscriptions.confirmed_subscribers(),
                                                    "languages": LANGUAGES})


@requires(*ADMINS)
async def subscribers_csv(request: Request) -> Response:
    user: User = request.state.user
    body = await build_subscribers_csv(by=user)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="subscribers.csv"',
                             "cache-control": "no-store"})
