"""What every back-office page shares: the page frame (signed-in user, CSRF token, the "done"
notice), redirects after POST, field messages, the event of the URL, safe return targets."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from events_app.core import errors
from events_app.core.i18n import gettext
from events_app.core.models import Event
from events_app.web.templating import render


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
