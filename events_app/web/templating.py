"""Jinja2 environment and the one `render` every HTML handler uses.

Strings in templates go through gettext (`{{ _("...") }}` or `{% trans %}`); the per-request
catalog is passed in the context, so one environment serves all languages.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from events_app import i18n
from events_app.config import TEMPLATES_DIR


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    return env


def gettext_callables(language: str) -> dict:
    """gettext/ngettext for templates: autoescaped, with %(name)s parameters (Jinja's new style)."""
    catalog = i18n.translations(language)

    @pass_context
    def gettext(context, message: str, **params):
        text = catalog.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % params if params else text

    @pass_context
    def ngettext(context, singular: str, plural: str, num: int, **params):
        params.setdefault("num", num)
        text = catalog.ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % params

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def bdi(text: str, lang: str | None = None) -> Markup:
    """User or organiser text isolated for bidi (a German name inside an Arabic sentence), escaped."""
    if lang:
        return Markup('<bdi lang="%s">%s</bdi>') % (lang, text)
    return Markup("<bdi>%s</bdi>") % text


def base_context(language: str, settings) -> dict:
    return {
        "bdi": bdi,
        "lang": language,
        "dir": i18n.text_direction(language),
        "languages": i18n.LANGUAGES,
        "text_direction": i18n.text_direction,
        "fmt": i18n.Formatter(language, settings.timezone),
        "settings": settings,
        **gettext_callables(language),
    }


def render_string(template: str, *, language: str, settings, **context) -> str:
    """Render a template outside a request (mail, PDF) in the given language."""
    return environment().get_template(template).render(**base_context(language, settings), **context)


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
