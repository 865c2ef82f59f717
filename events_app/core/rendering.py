"""The one Jinja2 environment, for pages, mails and PDFs alike.

Strings in templates go through gettext (`{{ _("...") }}` or `{% trans %}`); the per-request
catalog is passed in the context, so one environment serves all languages.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup

from events_app.core import i18n, languages, legal, urls, wording
from events_app.core.settings import TEMPLATES_DIR


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
        "assistance_choices": languages.choices(language),
        "settings": settings,
        "urls": urls,
        #: the office's contact (EVENTS_LEGAL_*), shown wherever someone may get stuck
        "legal": legal.current(),
        "question_label": lambda question: wording.question_label(question, language),
        "question_label_lang": lambda question: wording.question_label_language(question, language),
        "question_choices": lambda question: wording.question_choices(question, language),
        "women_only_confirmation": wording.women_only_confirmation,
        "missing_translations": wording.missing_translations,
        **gettext_callables(language),
    }


def render_string(template: str, *, language: str, settings, **context) -> str:
    """Render a template outside a request (mail, PDF) in the given language."""
    return environment().get_template(template).render({**base_context(language, settings), **context})
