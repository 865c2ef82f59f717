"""Languages: catalogs, choice of language per request, and locale-aware formatting.

Catalogs are `.po` files under events_app/translations; they are compiled to `.mo` on first
use when missing or older than the `.po`, so a fresh checkout needs no extra build step.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.lists import format_list as _format_list
from babel.numbers import format_decimal
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "messages"

#: Each language named in itself, German first (the default).
LANGUAGES: dict[str, str] = {
    "de": "Deutsch",
    "en": "English",
    "ar": "العربية",
    "tr": "Türkçe",
    "uk": "Українська",
    "fa": "فارسی",
}
DEFAULT_LANGUAGE = "de"
RTL_LANGUAGES = frozenset({"ar", "fa"})


def text_direction(language: str) -> str:
    return "rtl" if language in RTL_LANGUAGES else "ltr"


def _compile(language: str) -> None:
    po_path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo_path = po_path.with_suffix(".mo")
    if not po_path.exists():
        return
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        return
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    # several processes (server workers, tests) may compile at once: each writes its own file
    tmp = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")
    with tmp.open("wb") as mo_file:
        write_mo(mo_file, catalog)
    tmp.replace(mo_path)


@lru_cache(maxsize=None)
def translations(language: str) -> NullTranslations:
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    _compile(language)
    return Translations.load(str(TRANSLATIONS_DIR), [language], domain=DOMAIN)


def format_list(items: list[str], language: str) -> str:
    """Items joined as the language joins them: "Tisch, Strom und Zelt", "طاولة وكهرباء"."""
    items = [item for item in items if item]
    return _format_list(items, style="standard", locale=language) if items else ""


def gettext(language: str, message: str, **params) -> str:
    text = translations(language).gettext(message)
    return text % params if params else text


def ngettext(language: str, singular: str, plural: str, num: int, **params) -> str:
    """The plural form for `num` in the language; `%(num)d` and other %(name)s parameters filled in."""
    params.setdefault("num", num)
    return translations(language).ngettext(singular, plural, num) % params


def negotiate(query_lang: str | None, cookie_lang: str | None, accept_language: str | None) -> str:
    """?lang= first, then the cookie, then the browser's Accept-Language, then German."""
    for candidate in (query_lang, cookie_lang):
        if candidate and candidate in LANGUAGES:
            return candidate
    if accept_language:
        weighted = []
        for part in accept_language.split(","):
            piece, _, q = part.strip().partition(";q=")
            try:
                weight = float(q) if q else 1.0
            except ValueError:
                weight = 0.0
            weighted.append((weight, piece.strip().lower().split("-")[0]))
        for _, code in sorted(weighted, key=lambda item: -item[0]):
            if code in LANGUAGES:
                return code
    return DEFAULT_LANGUAGE


class Formatter:
    """Dates and numbers for one language and time zone (24.11.2026, 18:00 Uhr in German)."""

    def __init__(self, language: str, timezone: str = "Europe/Berlin"):
        self.language = language
        self.locale = Locale.parse(language)
        self.tz = ZoneInfo(timezone)

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz)

    def date(self, value: datetime) -> str:
        return format_date(self.local(value), format="medium" if self.language != "de" else "dd.MM.yyyy",
                           locale=self.locale)

    def day(self, value: date) -> str:
        """A calendar date without time (a statement's date, a birthday): 24.11.2026 in German."""
        if self.language == "de":
            return value.strftime("%d.%m.%Y")
        return format_date(value, format="medium", locale=self.locale)

    def time(self, value: datetime) -> str:
        if self.language == "de":
            return self.local(value).strftime("%H:%M") + " Uhr"
        return format_time(self.local(value), format="short", locale=self.locale)

    def datetime(self, value: datetime) -> str:
        if self.language == "de":
            return self.local(value).strftime("%d.%m.%Y, %H:%M") + " Uhr"
        return format_datetime(self.local(value), format="medium", locale=self.locale, tzinfo=self.tz)

    def number(self, value: int | float) -> str:
        """A count or amount in the locale's notation (1.234 in German, 1,234 in English)."""
        return format_decimal(value, locale=self.locale)

    def span(self, start: datetime, end: datetime) -> str:
        """'24.11.2026, 18:00–20:00 Uhr' for one day; both ends in full otherwise."""
        if self.local(start).date() == self.local(end).date():
            if self.language == "de":
                return f"{self.date(start)}, {self.local(start):%H:%M}–{self.local(end):%H:%M} Uhr"
            comma = "، " if text_direction(self.language) == "rtl" else ", "  # the Arabic comma in ar and fa
            return f"{self.date(start)}{comma}{self.time(start)}–{self.time(end)}"
        return f"{self.datetime(start)} – {self.datetime(end)}"
