"""The one `render` every HTML handler uses, on the kernel's Jinja environment."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse

from events_app.core import i18n
from events_app.core.rendering import base_context, environment


def language_links(request: Request, page_path: str | None = None) -> dict[str, str]:
    """The same page in each language: the current path and query with only ?lang= changed.

    After a form POST the page shown belongs to another address (an event page shown with
    errors from /events/1/register): the handler passes `page_path` so the links stay valid GETs.
    """
    path = page_path or request.url.path
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] if not page_path else []
    return {code: f"{path}?{urlencode([*kept, ('lang', code)])}" for code in i18n.LANGUAGES}


def render(request: Request, template: str, context: dict | None = None, *, status_code: int = 200,
           headers: dict | None = None) -> HTMLResponse:
    language = request.state.language
    settings = request.app.state.settings
    context = context or {}
    full = {**base_context(language, settings), "request": request,
            "language_links": language_links(request, context.get("page_path")), **context}
    html = environment().get_template(template).render(full)
    return HTMLResponse(html, status_code=status_code, headers=headers)
