"""The languages people can ask an interpreter for: a short list the office covers, plus "other" (free text).

One key per language (a code from the list, or the typed name in its own spelling), so that needs from
registrations, bookings and RSVPs count together and interpreters can be matched to them.
"""

from __future__ import annotations

from functools import lru_cache

from events_app.core import i18n
from events_app.core.errors import N_
from events_app.core.validation import clean_text

#: code -> label msgid, in the order the forms offer them.
ASSISTANCE_LANGUAGES: dict[str, str] = {
    "ar": N_("Arabic"),
    "fa": N_("Farsi"),
    "prs": N_("Dari"),
    "ps": N_("Pashto"),
    "tr": N_("Turkish"),
    "ku": N_("Kurdish"),
    "uk": N_("Ukrainian"),
    "ru": N_("Russian"),
    "ti": N_("Tigrinya"),
    "so": N_("Somali"),
    "sq": N_("Albanian"),
    "ro": N_("Romanian"),
    "bg": N_("Bulgarian"),
    "pl": N_("Polish"),
    "en": N_("English"),
    "fr": N_("French"),
}
#: Each language's own name, as people often write it.
ENDONYMS: dict[str, str] = {
    "ar": "العربية", "fa": "فارسی", "prs": "دری", "ps": "پښتو", "tr": "Türkçe", "ku": "Kurdî", "uk": "Українська",
    "ru": "Русский", "ti": "ትግርኛ", "so": "Soomaali", "sq": "Shqip", "ro": "Română", "bg": "Български",
    "pl": "Polski", "en": "English", "fr": "Français",
}
OTHER = "other"
MAX_LENGTH = 50


@lru_cache(maxsize=1)
def _known_names() -> dict[str, str]:
    """Every label in every interface language (and the code itself), case-folded -> code."""
    names: dict[str, str] = {}
    for code, label in ASSISTANCE_LANGUAGES.items():
        names[code] = code
        names[ENDONYMS[code].casefold()] = code
        names[label.casefold()] = code
        for language in i18n.LANGUAGES:
            names[i18n.gettext(language, label).casefold()] = code
    return names


def language_key(value: str | None, other: str | None = None) -> str:
    """The key of a requested language: a list code, or the typed name ("" when nothing was asked).

    `value` is a code from the list, "other" (then `other` holds the typed name) or a typed name.
    """
    value = clean_text(value or "", max_length=MAX_LENGTH)
    if value == OTHER:
        value = clean_text(other or "", max_length=MAX_LENGTH)
    if not value:
        return ""
    return _known_names().get(value.casefold(), value)


def language_label(key: str, language: str) -> str:
    """How a key reads in the interface language: the translated name, or the typed name as it is."""
    if key in ASSISTANCE_LANGUAGES:
        return i18n.gettext(language, ASSISTANCE_LANGUAGES[key])
    return key


def choices(language: str) -> list[tuple[str, str]]:
    """(code, label) pairs for a form's select, in the reader's language."""
    return [(code, i18n.gettext(language, label)) for code, label in ASSISTANCE_LANGUAGES.items()]
